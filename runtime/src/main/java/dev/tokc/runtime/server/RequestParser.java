package dev.tokc.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokc.runtime.sampling.SamplingParams;
import dev.tokc.runtime.tokenizer.TokenizerException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns an OpenAI request body into a {@link ParsedRequest}, or an {@link ApiError} naming the first field that is
 * wrong: its JSON type, its range, or what it asks of the model (context length). Unknown fields are ignored (as
 * vLLM does), fields this server cannot honour ({@code logit_bias}, {@code suffix}, {@code best_of > n},
 * {@code tools}) are refused rather than silently dropped.
 *
 * <p>Supported: {@code model}, {@code prompt} (string, list of strings, token ids, list of token-id lists) or
 * {@code messages}, {@code max_tokens} / {@code max_completion_tokens}, {@code temperature}, {@code top_p},
 * {@code top_k}, {@code min_p}, {@code presence_penalty}, {@code frequency_penalty}, {@code repetition_penalty},
 * {@code seed}, {@code stop} (string or list), {@code n}, {@code logprobs} (completions: top count 0..20; chat:
 * boolean with {@code top_logprobs}), {@code echo}, {@code stream}, {@code stream_options.include_usage},
 * {@code ignore_eos} (vLLM's extension, for benchmarks).
 */
final class RequestParser {
    /** Choices one request may ask for at most ({@code n} times the number of prompts). */
    static final int MAX_CHOICES = 128;
    /** Stop strings at most (OpenAI allows 4; a few more cost nothing). */
    static final int MAX_STOP = 16;

    private final ServingModel model;

    RequestParser(ServingModel model) {
        this.model = model;
    }

    ParsedRequest completions(JsonNode body) {
        requireObject(body);
        checkModel(body);
        refuseUnsupported(body);
        if (body.has("suffix") && !body.get("suffix").isNull()) {
            throw ApiError.badRequest("'suffix' is not supported", "suffix");
        }
        List<ParsedRequest.Prompt> prompts = prompts(body.get("prompt"));
        boolean echo = bool(body, "echo", false);
        int logprobs = -1;
        JsonNode lp = body.get("logprobs");
        if (lp != null && !lp.isNull()) {
            if (!lp.isIntegralNumber() || lp.asLong() < 0 || lp.asLong() > SamplingParams.MAX_TOP_LOGPROBS) {
                throw ApiError.invalidParam("logprobs", "an integer in [0, " + SamplingParams.MAX_TOP_LOGPROBS + "] or null", lp);
            }
            logprobs = lp.asInt();
        }
        if (echo && logprobs >= 0) {
            throw ApiError.badRequest("'echo' together with 'logprobs' is not supported (prompt logprobs are not computed)", "echo");
        }
        boolean given = body.has("max_tokens") && !body.get("max_tokens").isNull();
        int maxTokens = optInt(body, "max_tokens", 16, 1, Integer.MAX_VALUE);
        return finish(body, false, prompts, maxTokens, given, echo, logprobs);
    }

    ParsedRequest chat(JsonNode body) {
        requireObject(body);
        checkModel(body);
        refuseUnsupported(body);
        for (String f : new String[] {"tools", "functions", "tool_choice", "function_call"}) {
            JsonNode v = body.get(f);
            if (v != null && !v.isNull() && !(v.isArray() && v.isEmpty()) && !(v.isTextual() && v.asText().equals("none"))) {
                throw ApiError.badRequest("'" + f + "' (tool calling) is not supported", f);
            }
        }
        JsonNode rf = body.get("response_format");
        if (rf != null && !rf.isNull() && !rf.path("type").asText("").equals("text")) {
            throw ApiError.badRequest("only response_format {\"type\": \"text\"} is supported", "response_format");
        }
        List<Map<String, Object>> messages = messages(body.get("messages"));
        String text;
        try {
            text = model.chatTemplate().render(messages, true);
        } catch (TokenizerException e) {
            throw ApiError.badRequest("the chat template cannot render these messages: " + e.getMessage(), "messages");
        }
        // Templates write their own BOS; special tokens they write (turn markers) must become their ids.
        int[] ids = model.tokenizer().encode(text, false, true);
        List<ParsedRequest.Prompt> prompts = List.of(new ParsedRequest.Prompt(ids, text));
        boolean logprobs = bool(body, "logprobs", false);
        int top = optInt(body, "top_logprobs", 0, 0, SamplingParams.MAX_TOP_LOGPROBS);
        if (top > 0 && !logprobs) {
            throw ApiError.badRequest("'top_logprobs' needs 'logprobs': true", "top_logprobs");
        }
        String key = body.has("max_completion_tokens") && !body.get("max_completion_tokens").isNull()
                ? "max_completion_tokens" : "max_tokens";
        boolean given = body.has(key) && !body.get(key).isNull();
        // Chat's default: whatever room the context leaves after the prompt.
        int maxTokens = optInt(body, key, Math.max(1, model.maxModelLen() - ids.length), 1, Integer.MAX_VALUE);
        return finish(body, true, prompts, maxTokens, given, false, logprobs ? top : -1);
    }

    /** The fields both endpoints share. */
    private ParsedRequest finish(JsonNode body, boolean chat, List<ParsedRequest.Prompt> prompts, int maxTokens,
                                 boolean maxTokensGiven, boolean echo, int logprobs) {
        String maxKey = chat && body.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        for (ParsedRequest.Prompt p : prompts) {
            if (p.ids().length == 0) {
                throw ApiError.badRequest("the prompt is empty (it encodes to no tokens)", chat ? "messages" : "prompt");
            }
            if (p.ids().length >= model.maxModelLen()) {
                throw new ApiError(400, "invalid_request_error", "This model's maximum context length is "
                        + model.maxModelLen() + " tokens. However, your prompt has " + p.ids().length
                        + " tokens, which leaves no room for a completion.", chat ? "messages" : "prompt",
                        "context_length_exceeded");
            }
            if (maxTokensGiven && (long) p.ids().length + maxTokens > model.maxModelLen()) {
                throw new ApiError(400, "invalid_request_error", "This model's maximum context length is "
                        + model.maxModelLen() + " tokens. However, you requested " + ((long) p.ids().length + maxTokens)
                        + " tokens (" + p.ids().length + " in the prompt, " + maxTokens + " in the completion). "
                        + "Please reduce the prompt or '" + maxKey + "'.", maxKey, "context_length_exceeded");
            }
        }
        if (!maxTokensGiven) {
            // A default never overruns the context: it shrinks to the room the longest prompt leaves.
            int longest = prompts.stream().mapToInt(pr -> pr.ids().length).max().orElse(0);
            maxTokens = Math.max(1, Math.min(maxTokens, model.maxModelLen() - longest));
        }
        int n = optInt(body, "n", 1, 1, MAX_CHOICES);
        if (n * prompts.size() > MAX_CHOICES) {
            throw ApiError.badRequest("a request may ask for at most " + MAX_CHOICES + " choices (prompts x n), got "
                    + n * prompts.size(), "n");
        }
        JsonNode bestOf = body.get("best_of");
        if (bestOf != null && !bestOf.isNull() && !(bestOf.isIntegralNumber() && bestOf.asLong() == n)) {
            throw ApiError.badRequest("'best_of' other than n is not supported", "best_of");
        }
        SamplingParams p = SamplingParams.DEFAULT.withMaxTokens(maxTokens)
                .withTemperature(optDouble(body, "temperature", 1.0, 0, 2))
                .withTopP(optDouble(body, "top_p", 1.0, Double.MIN_VALUE, 1))
                .withMinP(optDouble(body, "min_p", 0.0, 0, 1))
                .withPresencePenalty(optDouble(body, "presence_penalty", 0.0, -2, 2))
                .withFrequencyPenalty(optDouble(body, "frequency_penalty", 0.0, -2, 2))
                .withRepetitionPenalty(optDouble(body, "repetition_penalty", 1.0, Double.MIN_VALUE, 100))
                .withIgnoreEos(bool(body, "ignore_eos", false))
                .withStop(stops(body.get("stop")));
        int topK = optInt(body, "top_k", 0, -1, Integer.MAX_VALUE);
        p = p.withTopK(Math.max(topK, 0));   // -1 (vLLM) and 0 both mean "all"
        JsonNode seed = body.get("seed");
        if (seed != null && !seed.isNull()) {
            if (!seed.isIntegralNumber() || !seed.canConvertToLong()) {
                throw ApiError.invalidParam("seed", "an integer", seed);
            }
            p = p.withSeed(seed.asLong());
        }
        if (logprobs >= 0) {
            p = p.withLogprobs(logprobs);
        }
        boolean stream = bool(body, "stream", false);
        boolean includeUsage = false;
        JsonNode so = body.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!so.isObject()) {
                throw ApiError.invalidParam("stream_options", "an object", so);
            }
            if (!stream) {
                throw ApiError.badRequest("'stream_options' is only allowed with 'stream': true", "stream_options");
            }
            includeUsage = bool(so, "include_usage", false, "stream_options.include_usage");
        }
        return new ParsedRequest(chat, prompts, n, p, stream, includeUsage, echo, logprobs >= 0);
    }

    private void checkModel(JsonNode body) {
        JsonNode m = body.get("model");
        if (m == null || m.isNull()) {
            return;   // one model served: leaving it out is harmless
        }
        if (!m.isTextual()) {
            throw ApiError.invalidParam("model", "a string", m);
        }
        if (!m.asText().equals(model.name())) {
            throw new ApiError(404, "invalid_request_error", "The model '" + m.asText() + "' does not exist; this "
                    + "server serves '" + model.name() + "'", "model", "model_not_found");
        }
    }

    private static void refuseUnsupported(JsonNode body) {
        JsonNode bias = body.get("logit_bias");
        if (bias != null && !bias.isNull() && !(bias.isObject() && bias.isEmpty())) {
            throw ApiError.badRequest("'logit_bias' is not supported", "logit_bias");
        }
    }

    private List<ParsedRequest.Prompt> prompts(JsonNode v) {
        if (v == null || v.isNull()) {
            throw ApiError.badRequest("'prompt' is required", "prompt");
        }
        List<ParsedRequest.Prompt> out = new ArrayList<>();
        if (v.isTextual()) {
            out.add(encode(v.asText()));
        } else if (v.isArray() && !v.isEmpty() && v.get(0).isIntegralNumber()) {
            out.add(ids(v));
        } else if (v.isArray() && !v.isEmpty()) {
            for (JsonNode e : v) {
                if (e.isTextual()) {
                    out.add(encode(e.asText()));
                } else if (e.isArray()) {
                    out.add(ids(e));
                } else {
                    throw ApiError.invalidParam("prompt", "a string, a list of strings, a list of token ids or a list "
                            + "of token-id lists", "a list holding " + e.getNodeType().toString().toLowerCase());
                }
            }
        } else {
            throw ApiError.invalidParam("prompt", "a string, a list of strings, a list of token ids or a list of "
                    + "token-id lists", v.isArray() ? "an empty list" : v.getNodeType().toString().toLowerCase());
        }
        if (out.size() > MAX_CHOICES) {
            throw ApiError.badRequest("at most " + MAX_CHOICES + " prompts per request, got " + out.size(), "prompt");
        }
        return out;
    }

    private ParsedRequest.Prompt encode(String text) {
        // As `tokc run` does: the tokenizer's own special tokens (BOS) added, special tokens in the text parsed.
        return new ParsedRequest.Prompt(model.tokenizer().encode(text, true), text);
    }

    private ParsedRequest.Prompt ids(JsonNode list) {
        int[] ids = new int[list.size()];
        int vocab = model.vocabSize();
        for (int i = 0; i < ids.length; i++) {
            JsonNode e = list.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt() || e.asInt() < 0 || e.asInt() >= vocab) {
                throw ApiError.invalidParam("prompt", "token ids in [0, " + vocab + ")", e);
            }
            ids[i] = e.asInt();
        }
        return new ParsedRequest.Prompt(ids, model.tokenizer().decode(ids, false));
    }

    private static List<Map<String, Object>> messages(JsonNode v) {
        if (v == null || v.isNull()) {
            throw ApiError.badRequest("'messages' is required", "messages");
        }
        if (!v.isArray() || v.isEmpty()) {
            throw ApiError.invalidParam("messages", "a non-empty list of messages", v.isArray() ? "an empty list" : v.getNodeType().toString().toLowerCase());
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode m = v.get(i);
            String at = "messages[" + i + "]";
            if (!m.isObject()) {
                throw ApiError.invalidParam(at, "an object with 'role' and 'content'", m.getNodeType().toString().toLowerCase());
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual()) {
                throw ApiError.invalidParam(at + ".role", "a string (system, user, assistant, ...)", role);
            }
            Map<String, Object> msg = new LinkedHashMap<>();
            msg.put("role", role.asText());
            msg.put("content", content(m.get("content"), at + ".content"));
            JsonNode name = m.get("name");
            if (name != null && name.isTextual()) {
                msg.put("name", name.asText());
            }
            out.add(msg);
        }
        return out;
    }

    /** A message's content: a string, null, or a list of {@code {"type": "text", "text": ...}} parts. */
    private static String content(JsonNode c, String at) {
        if (c == null || c.isNull()) {
            return "";
        }
        if (c.isTextual()) {
            return c.asText();
        }
        if (c.isArray()) {
            StringBuilder s = new StringBuilder();
            for (JsonNode part : c) {
                if (!part.isObject() || !part.path("type").asText().equals("text") || !part.path("text").isTextual()) {
                    throw ApiError.invalidParam(at, "a string or a list of {\"type\": \"text\", \"text\": ...} parts "
                            + "(only text is supported)", part);
                }
                s.append(part.get("text").asText());
            }
            return s.toString();
        }
        throw ApiError.invalidParam(at, "a string or a list of text parts", c.getNodeType().toString().toLowerCase());
    }

    private static List<String> stops(JsonNode v) {
        if (v == null || v.isNull()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (v.isTextual()) {
            out.add(v.asText());
        } else if (v.isArray()) {
            for (JsonNode e : v) {
                if (!e.isTextual()) {
                    throw ApiError.invalidParam("stop", "a string or a list of strings", "a list holding " + e);
                }
                out.add(e.asText());
            }
        } else {
            throw ApiError.invalidParam("stop", "a string or a list of strings", v.getNodeType().toString().toLowerCase());
        }
        if (out.size() > MAX_STOP) {
            throw ApiError.badRequest("at most " + MAX_STOP + " stop strings, got " + out.size(), "stop");
        }
        if (out.stream().anyMatch(String::isEmpty)) {
            throw ApiError.invalidParam("stop", "non-empty strings", "\"\"");
        }
        return out;
    }

    private static void requireObject(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiError.badRequest("the request body must be a JSON object", null);
        }
    }

    private static boolean bool(JsonNode body, String key, boolean dflt) {
        return bool(body, key, dflt, key);
    }

    private static boolean bool(JsonNode body, String key, boolean dflt, String param) {
        JsonNode v = body.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw ApiError.invalidParam(param, "a boolean", v);
        }
        return v.asBoolean();
    }

    private static int optInt(JsonNode body, String key, int dflt, int min, int max) {
        JsonNode v = body.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
            throw ApiError.invalidParam(key, "an integer" + range(min, max), v);
        }
        return v.asInt();
    }

    private static double optDouble(JsonNode body, String key, double dflt, double min, double max) {
        JsonNode v = body.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isNumber() || !(v.asDouble() >= min && v.asDouble() <= max)) {
            throw ApiError.invalidParam(key, "a number in " + (min == Double.MIN_VALUE ? "(0" : "[" + fmt(min)) + ", " + fmt(max) + "]", v);
        }
        return v.asDouble();
    }

    private static String range(int min, int max) {
        return max == Integer.MAX_VALUE ? " >= " + min : " in [" + min + ", " + max + "]";
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }
}
