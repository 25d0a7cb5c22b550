package dev.tokc.runtime.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokc.runtime.sampling.Logprobs;
import dev.tokc.runtime.sampling.TokenLogprob;
import dev.tokc.runtime.sched.GenerationEvent;
import dev.tokc.runtime.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Builds the OpenAI JSON of responses and stream chunks, for completions ({@code text_completion}) and chat
 * ({@code chat.completion} / {@code chat.completion.chunk}). Pure functions of what generation produced: no I/O,
 * so the shapes are testable without a server.
 */
final class ChoiceWriter {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    /** OpenAI reports tokens the sampler could not pick with this instead of -Infinity (not valid JSON). */
    private static final double MIN_LOGPROB = -9999.0;

    private final boolean chat;
    private final String id;
    private final String model;
    private final long created;
    private final Tokenizer tokenizer;

    ChoiceWriter(boolean chat, String id, String model, long created, Tokenizer tokenizer) {
        this.chat = chat;
        this.id = id;
        this.model = model;
        this.created = created;
        this.tokenizer = tokenizer;
    }

    /** What one choice produced so far. */
    static final class Choice {
        final int index;
        final StringBuilder text = new StringBuilder();
        final ArrayNode logprobTokens = F.arrayNode();   // completions: parallel arrays; chat: content entries
        final ArrayNode tokenLogprobs = F.arrayNode();
        final ArrayNode topLogprobs = F.arrayNode();
        final ArrayNode textOffsets = F.arrayNode();
        String finishReason;
        int completionTokens;

        Choice(int index) {
            this.index = index;
        }
    }

    ObjectNode header(String object) {
        ObjectNode o = F.objectNode();
        o.put("id", id);
        o.put("object", object);
        o.put("created", created);
        o.put("model", model);
        return o;
    }

    /** Appends a token event to {@code c}'s logprobs (when present); returns the entries it added, for a chunk. */
    ObjectNode addLogprobs(Choice c, GenerationEvent.Token t, int textOffset) {
        if (t.logprobs().isEmpty()) {
            return null;
        }
        Logprobs lp = t.logprobs().get();
        String tok = tokenizer.decode(new int[] {t.token()}, false);
        if (chat) {
            ObjectNode e = tokenEntry(tok, lp.chosen());
            ArrayNode top = e.putArray("top_logprobs");
            for (TokenLogprob a : lp.top()) {
                top.add(tokenEntry(tokenizer.decode(new int[] {a.token()}, false), a.logprob()));
            }
            c.logprobTokens.add(e);
            ObjectNode chunk = F.objectNode();
            chunk.putArray("content").add(e.deepCopy());
            return chunk;
        }
        ObjectNode top = F.objectNode();
        for (TokenLogprob a : lp.top()) {
            top.put(tokenizer.decode(new int[] {a.token()}, false), clamp(a.logprob()));
        }
        c.logprobTokens.add(tok);
        c.tokenLogprobs.add(clamp(lp.chosen()));
        c.topLogprobs.add(top);
        c.textOffsets.add(textOffset);
        ObjectNode chunk = F.objectNode();
        chunk.putArray("tokens").add(tok);
        chunk.putArray("token_logprobs").add(clamp(lp.chosen()));
        chunk.putArray("top_logprobs").add(top.deepCopy());
        chunk.putArray("text_offset").add(textOffset);
        return chunk;
    }

    private static ObjectNode tokenEntry(String tok, double logprob) {
        ObjectNode e = F.objectNode();
        e.put("token", tok);
        e.put("logprob", clamp(logprob));
        ArrayNode bytes = e.putArray("bytes");
        for (byte b : tok.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xff);
        }
        return e;
    }

    private static double clamp(double lp) {
        return Double.isFinite(lp) ? lp : MIN_LOGPROB;
    }

    /** The whole (non-streamed) response. */
    ObjectNode response(List<Choice> choices, boolean logprobs, int promptTokens) {
        ObjectNode o = header(chat ? "chat.completion" : "text_completion");
        ArrayNode arr = o.putArray("choices");
        int completion = 0;
        for (Choice c : choices) {
            ObjectNode ch = arr.addObject();
            ch.put("index", c.index);
            if (chat) {
                ObjectNode msg = ch.putObject("message");
                msg.put("role", "assistant");
                msg.put("content", c.text.toString());
            } else {
                ch.put("text", c.text.toString());
            }
            if (logprobs) {
                ch.set("logprobs", logprobsObject(c));
            } else {
                ch.putNull("logprobs");
            }
            ch.put("finish_reason", c.finishReason);
            completion += c.completionTokens;
        }
        o.set("usage", usage(promptTokens, completion));
        return o;
    }

    private ObjectNode logprobsObject(Choice c) {
        ObjectNode lp = F.objectNode();
        if (chat) {
            lp.set("content", c.logprobTokens);
        } else {
            lp.set("tokens", c.logprobTokens);
            lp.set("token_logprobs", c.tokenLogprobs);
            lp.set("top_logprobs", c.topLogprobs);
            lp.set("text_offset", c.textOffsets);
        }
        return lp;
    }

    /** The first chat chunk of a choice: the assistant role, no content yet. */
    ObjectNode roleChunk(int index) {
        ObjectNode o = header("chat.completion.chunk");
        ObjectNode ch = o.putArray("choices").addObject();
        ch.put("index", index);
        ObjectNode delta = ch.putObject("delta");
        delta.put("role", "assistant");
        delta.put("content", "");
        ch.putNull("logprobs");
        ch.putNull("finish_reason");
        return o;
    }

    /** A chunk carrying {@code text} (and the token's logprobs) or, with {@code finishReason}, the end of a choice. */
    ObjectNode chunk(int index, String text, ObjectNode logprobs, String finishReason) {
        ObjectNode o = header(chat ? "chat.completion.chunk" : "text_completion");
        ObjectNode ch = o.putArray("choices").addObject();
        ch.put("index", index);
        if (chat) {
            ObjectNode delta = ch.putObject("delta");
            if (finishReason == null || !text.isEmpty()) {
                delta.put("content", text);
            }
        } else {
            ch.put("text", text);
        }
        if (logprobs != null) {
            ch.set("logprobs", logprobs);
        } else {
            ch.putNull("logprobs");
        }
        if (finishReason == null) {
            ch.putNull("finish_reason");
        } else {
            ch.put("finish_reason", finishReason);
        }
        return o;
    }

    /** The last chunk when {@code stream_options.include_usage}: no choices, the usage. */
    ObjectNode usageChunk(int promptTokens, int completionTokens) {
        ObjectNode o = header(chat ? "chat.completion.chunk" : "text_completion");
        o.putArray("choices");
        o.set("usage", usage(promptTokens, completionTokens));
        return o;
    }

    static ObjectNode usage(int prompt, int completion) {
        ObjectNode u = F.objectNode();
        u.put("prompt_tokens", prompt);
        u.put("completion_tokens", completion);
        u.put("total_tokens", prompt + completion);
        return u;
    }
}
