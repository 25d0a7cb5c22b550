package dev.tokc.tests.serve;

import static dev.tokc.tests.serve.ServeFixture.JSON;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokc.runtime.server.OpenAiServer;
import dev.tokc.runtime.server.ServeOptions;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code tokc serve}'s API against an in-process server on an ephemeral port, through the JDK HTTP client: output
 * equal to {@code tokc run}, streaming, chat, every parameter, every refusal with its status, metrics, 64
 * concurrent streams, and a client leaving mid-stream. Each test ends with no KV block in use.
 */
class ServeApiTest {
    static OpenAiServer server;
    static ServeFixture.Client client;
    static String model;

    @BeforeAll
    static void start() throws Exception {
        server = ServeFixture.start(ServeOptions.builder().kvBlocks(400).maxBodyBytes(16 * 1024));
        client = new ServeFixture.Client(server);
        model = server.model().name();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.shutdown();
        }
    }

    static ObjectNode completion(String prompt, int maxTokens) {
        ObjectNode b = JSON.createObjectNode();
        b.put("model", model);
        b.put("prompt", prompt);
        b.put("max_tokens", maxTokens);
        b.put("temperature", 0);
        return b;
    }

    static ObjectNode chat(String content, int maxTokens) {
        ObjectNode b = JSON.createObjectNode();
        b.put("model", model);
        b.putArray("messages").addObject().put("role", "user").put("content", content);
        b.put("max_tokens", maxTokens);
        b.put("temperature", 0);
        return b;
    }

    private static void assertNoBlocksInUse() throws Exception {
        String m = ServeFixture.awaitIdle(client);
        assertEquals(0, ServeFixture.metric(m, "tokc_kv_blocks_used"), m);
    }

    @Test
    void greedyCompletionEqualsTokcRun() throws Exception {
        for (String prompt : List.of("ROMEO:", "First Citizen:\nBefore we proceed any further, hear me speak.")) {
            ServeFixture.Run run = ServeFixture.cli("run", ServeFixture.engine().toString(), "--prompt", prompt,
                    "--max-tokens", "24", "--threads", "2");
            assertEquals(0, run.code(), run.err());
            ServeFixture.Response r = client.post("/v1/completions", completion(prompt, 24));
            assertEquals(200, r.status(), r.body());
            JsonNode j = r.json();
            assertEquals("text_completion", j.get("object").asText());
            assertEquals(model, j.get("model").asText());
            String text = j.get("choices").get(0).get("text").asText();
            assertEquals(run.out(), prompt + text + "\n", "server and tokc run disagree for " + prompt);
            int completion = j.get("usage").get("completion_tokens").asInt();
            assertTrue(completion >= 1 && completion <= 24);
            assertEquals(j.get("usage").get("prompt_tokens").asInt() + completion, j.get("usage").get("total_tokens").asInt());
        }
        assertNoBlocksInUse();
    }

    @Test
    void streamingCompletionHasOpenAiChunksAndTheSameText() throws Exception {
        ObjectNode body = completion("ROMEO:", 20);
        String expected = client.post("/v1/completions", body).json().get("choices").get(0).get("text").asText();
        body.put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        List<String> data = client.stream("/v1/completions", body);
        assertEquals("[DONE]", data.getLast());
        StringBuilder text = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        for (String d : data.subList(0, data.size() - 1)) {
            JsonNode c = JSON.readTree(d);
            assertEquals("text_completion", c.get("object").asText(), d);
            assertTrue(c.get("id").asText().startsWith("cmpl-"));
            if (c.has("usage")) {
                usage = c.get("usage");
                assertEquals(0, c.get("choices").size());
                continue;
            }
            JsonNode ch = c.get("choices").get(0);
            text.append(ch.get("text").asText());
            if (!ch.get("finish_reason").isNull()) {
                finish = ch.get("finish_reason").asText();
            }
        }
        assertEquals(expected, text.toString());
        assertTrue("length".equals(finish) || "stop".equals(finish), finish);
        assertTrue(usage != null && usage.get("completion_tokens").asInt() >= 1, "no usage chunk");
        assertNoBlocksInUse();
    }

    @Test
    void chatCompletionStreamAndNot() throws Exception {
        ObjectNode body = chat("Speak, friend.", 12);
        ServeFixture.Response r = client.post("/v1/chat/completions", body);
        assertEquals(200, r.status(), r.body());
        JsonNode j = r.json();
        assertEquals("chat.completion", j.get("object").asText());
        assertTrue(j.get("id").asText().startsWith("chatcmpl-"));
        JsonNode msg = j.get("choices").get(0).get("message");
        assertEquals("assistant", msg.get("role").asText());
        String content = msg.get("content").asText();
        assertFalse(content.isEmpty());
        assertTrue(j.get("usage").get("prompt_tokens").asInt() > 3);

        body.put("stream", true);
        List<String> data = client.stream("/v1/chat/completions", body);
        assertEquals("[DONE]", data.getLast());
        JsonNode first = JSON.readTree(data.getFirst());
        assertEquals("chat.completion.chunk", first.get("object").asText());
        assertEquals("assistant", first.get("choices").get(0).get("delta").get("role").asText());
        StringBuilder text = new StringBuilder();
        for (String d : data.subList(1, data.size() - 1)) {
            JsonNode delta = JSON.readTree(d).get("choices").get(0).get("delta");
            text.append(delta.path("content").asText(""));
        }
        assertEquals(content, text.toString());
        JsonNode last = JSON.readTree(data.get(data.size() - 2)).get("choices").get(0);
        assertEquals("length", last.get("finish_reason").asText());
        assertNoBlocksInUse();
    }

    @Test
    void parameters() throws Exception {
        String greedy = client.post("/v1/completions", completion("ROMEO:", 30)).json().get("choices").get(0).get("text").asText();

        // stop: the text ends before the first occurrence
        int at = greedy.indexOf("thou");
        assertTrue(at > 0, "the greedy text has no 'thou' to stop at: " + greedy);
        ObjectNode stop = completion("ROMEO:", 30);
        stop.putArray("stop").add("thou").add("never-appears");
        JsonNode s = client.post("/v1/completions", stop).json().get("choices").get(0);
        assertEquals(greedy.substring(0, at), s.get("text").asText());
        assertEquals("stop", s.get("finish_reason").asText());

        // n with a seed: n choices, reproducible, not all equal
        ObjectNode sampled = completion("ROMEO:", 12);
        sampled.put("temperature", 1.0).put("top_p", 0.9).put("top_k", 50).put("min_p", 0.01)
                .put("presence_penalty", 0.5).put("frequency_penalty", 0.5).put("seed", 1234).put("n", 3);
        JsonNode a = client.post("/v1/completions", sampled).json();
        JsonNode b = client.post("/v1/completions", sampled).json();
        assertEquals(3, a.get("choices").size());
        for (int i = 0; i < 3; i++) {
            assertEquals(i, a.get("choices").get(i).get("index").asInt());
            assertEquals(a.get("choices").get(i).get("text"), b.get("choices").get(i).get("text"));
        }
        assertNotEquals(a.get("choices").get(0).get("text"), a.get("choices").get(1).get("text"));

        // logprobs: one entry per generated token, with the alternatives asked for; ignore_eos keeps the length
        ObjectNode lp = completion("ROMEO:", 8);
        lp.put("logprobs", 2).put("ignore_eos", true);
        JsonNode l = client.post("/v1/completions", lp).json();
        JsonNode logprobs = l.get("choices").get(0).get("logprobs");
        assertEquals(8, l.get("usage").get("completion_tokens").asInt());
        assertEquals(8, logprobs.get("tokens").size());
        assertEquals(8, logprobs.get("token_logprobs").size());
        assertEquals(2, logprobs.get("top_logprobs").get(0).size());
        assertTrue(logprobs.get("token_logprobs").get(0).asDouble() <= 0);
        assertEquals(String.join("", toStrings(logprobs.get("tokens"))), l.get("choices").get(0).get("text").asText());

        // chat logprobs
        ObjectNode cl = chat("Hi", 4);
        cl.put("logprobs", true).put("top_logprobs", 3);
        JsonNode content = client.post("/v1/chat/completions", cl).json().get("choices").get(0).get("logprobs").get("content");
        assertTrue(content.size() >= 1);
        assertEquals(3, content.get(0).get("top_logprobs").size());

        // echo: the prompt leads the text
        ObjectNode echo = completion("ROMEO:", 5);
        echo.put("echo", true);
        assertEquals("ROMEO:" + greedy.substring(0, client.post("/v1/completions", completion("ROMEO:", 5)).json()
                .get("choices").get(0).get("text").asText().length()), client.post("/v1/completions", echo).json()
                .get("choices").get(0).get("text").asText());

        // a list of prompts, and token ids as the prompt
        ObjectNode many = completion("x", 3);
        many.putArray("prompt").add("ROMEO:").add("JULIET:");
        assertEquals(2, client.post("/v1/completions", many).json().get("choices").size());
        ObjectNode ids = completion("x", 3);
        ids.putArray("prompt").add(0).add(100).add(200);
        assertEquals(3, client.post("/v1/completions", ids).json().get("usage").get("prompt_tokens").asInt());
        assertNoBlocksInUse();
    }

    private static List<String> toStrings(JsonNode arr) {
        List<String> out = new ArrayList<>();
        arr.forEach(n -> out.add(n.asText()));
        return out;
    }

    @Test
    void badRequestsGetOpenAiErrors() throws Exception {
        record Case(String path, String body, int status, String param) {}
        String longPrompt = "[" + "5,".repeat(599) + "5]";
        List<Case> cases = List.of(
                new Case("/v1/completions", "{\"prompt\": \"ROMEO:\",", 400, null),              // malformed JSON
                new Case("/v1/completions", "{\"prompt\": \"a\"} trailing", 400, null),
                new Case("/v1/completions", "", 400, null),
                new Case("/v1/completions", "[1, 2]", 400, null),
                new Case("/v1/completions", "{}", 400, "prompt"),
                new Case("/v1/completions", "{\"prompt\": 5}", 400, "prompt"),
                new Case("/v1/completions", "{\"prompt\": []}", 400, "prompt"),
                new Case("/v1/completions", "{\"prompt\": [1, 99999]}", 400, "prompt"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": \"x\"}", 400, "max_tokens"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 0}", 400, "max_tokens"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"temperature\": \"hot\"}", 400, "temperature"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"temperature\": 3}", 400, "temperature"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"top_p\": 0}", 400, "top_p"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"top_k\": 1.5}", 400, "top_k"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"presence_penalty\": 5}", 400, "presence_penalty"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"seed\": \"s\"}", 400, "seed"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"n\": 0}", 400, "n"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"stop\": 3}", 400, "stop"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"stop\": [\"\"]}", 400, "stop"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"stream\": \"yes\"}", 400, "stream"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"logprobs\": true}", 400, "logprobs"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"logprobs\": 21}", 400, "logprobs"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"stream_options\": {\"include_usage\": true}}", 400, "stream_options"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"logit_bias\": {\"5\": 1}}", 400, "logit_bias"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"model\": 7}", 400, "model"),
                new Case("/v1/completions", "{\"prompt\": \"a\", \"model\": \"gpt-4\"}", 404, "model"),
                new Case("/v1/completions", "{\"prompt\": " + longPrompt + "}", 400, "prompt"),
                new Case("/v1/completions", "{\"prompt\": \"ROMEO:\", \"max_tokens\": 600}", 400, "max_tokens"),
                new Case("/v1/chat/completions", "{\"messages\": \"hi\"}", 400, "messages"),
                new Case("/v1/chat/completions", "{\"messages\": []}", 400, "messages"),
                new Case("/v1/chat/completions", "{\"messages\": [{\"content\": \"hi\"}]}", 400, "messages[0].role"),
                new Case("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", 400, "messages[0].content"),
                new Case("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"top_logprobs\": 2}", 400, "top_logprobs"),
                new Case("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_completion_tokens\": 9999}", 400, "max_completion_tokens"),
                new Case("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"tools\": [{\"type\": \"function\"}]}", 400, "tools"),
                new Case("/v1/nothing", "{}", 404, null));
        for (Case c : cases) {
            ServeFixture.Response r = client.post(c.path, c.body);
            JsonNode e = r.assertError(c.status);
            if (c.param != null) {
                assertEquals(c.param, e.get("param").asText(), c.body + " -> " + r.body());
            }
        }
        assertEquals("context_length_exceeded", client.post("/v1/completions", "{\"prompt\": \"ROMEO:\", \"max_tokens\": 600}")
                .json().get("error").get("code").asText());
        client.post("/v1/completions", "{\"prompt\": \"" + "a".repeat(20_000) + "\"}").assertError(413);
        client.get("/v1/completions").assertError(405);
        // nothing a client sent broke anything
        assertEquals(200, client.get("/health").status());
        assertEquals(200, client.post("/v1/completions", completion("ROMEO:", 2)).status());
        assertNoBlocksInUse();
    }

    /**
     * Random bodies (every field given a random JSON value of a random type, then random byte damage) never get a
     * 5xx, always get an OpenAI error when refused, and leave no KV block behind.
     */
    @Test
    void randomBodiesNeverBreakTheServer() throws Exception {
        Random random = new Random(7);
        String[] fields = {"model", "prompt", "messages", "max_tokens", "temperature", "top_p", "top_k", "min_p",
                "presence_penalty", "frequency_penalty", "seed", "stop", "n", "logprobs", "top_logprobs", "echo",
                "stream", "stream_options", "ignore_eos", "logit_bias", "best_of", "max_completion_tokens"};
        for (int i = 0; i < 150; i++) {
            ObjectNode body = completion("ROMEO:", 4);
            body.putArray("messages").addObject().put("role", "user").put("content", "hi");
            for (int f = 0; f < 3; f++) {
                body.set(fields[random.nextInt(fields.length)], randomValue(random, 2));
            }
            String text = JSON.writeValueAsString(body);
            if (random.nextInt(4) == 0) {   // byte damage: cut, or overwrite a character
                text = random.nextBoolean() ? text.substring(0, random.nextInt(text.length()))
                        : text.substring(0, random.nextInt(text.length())) + (char) (32 + random.nextInt(95))
                        + text.substring(Math.min(text.length(), random.nextInt(text.length()) + 1));
            }
            String path = random.nextBoolean() ? "/v1/completions" : "/v1/chat/completions";
            ServeFixture.Response r = client.post(path, text);
            assertTrue(r.status() == 200 || r.status() == 400 || r.status() == 404,
                    "status " + r.status() + " for " + path + " " + text + " -> " + r.body());
            if (r.status() != 200) {
                r.assertError(r.status());
            }
        }
        assertEquals(200, client.get("/health").status());
        assertNoBlocksInUse();
    }

    private static JsonNode randomValue(Random random, int depth) {
        var f = JSON.getNodeFactory();
        return switch (random.nextInt(depth > 0 ? 11 : 9)) {
            case 0 -> f.textNode(random.nextBoolean() ? "" : "ROMEO" + random.nextInt(100));
            case 1 -> f.numberNode(random.nextInt(40) - 5);
            case 2 -> f.numberNode(random.nextDouble() * 4 - 1);
            case 3 -> f.numberNode(random.nextBoolean() ? Long.MAX_VALUE : Long.MIN_VALUE);
            case 4 -> f.numberNode(new java.math.BigInteger("123456789012345678901234567890"));
            case 5 -> f.booleanNode(random.nextBoolean());
            case 6 -> f.nullNode();
            case 7 -> f.numberNode(1e300);
            case 8 -> f.textNode("\u0000\uFFFF<s></s>");
            case 9 -> {
                var a = f.arrayNode();
                for (int k = random.nextInt(4); k > 0; k--) {
                    a.add(randomValue(random, depth - 1));
                }
                yield a;
            }
            default -> {
                var o = f.objectNode();
                o.set(random.nextBoolean() ? "include_usage" : "role", randomValue(random, depth - 1));
                o.set(random.nextBoolean() ? "content" : "5", randomValue(random, depth - 1));
                yield o;
            }
        };
    }

    @Test
    void modelsHealthAndMetrics() throws Exception {
        JsonNode models = client.get("/v1/models").json();
        assertEquals("list", models.get("object").asText());
        assertEquals(model, models.get("data").get(0).get("id").asText());
        assertEquals(model, client.get("/v1/models/" + model).json().get("id").asText());
        client.get("/v1/models/gpt-4").assertError(404);
        assertEquals("{\"status\":\"ok\"}", client.get("/health").body());
        client.post("/v1/completions", completion("ROMEO:", 4));
        String m = client.get("/metrics").body();
        for (String name : List.of("tokc_prefill_tokens_per_second", "tokc_decode_tokens_per_second",
                "tokc_queue_depth", "tokc_num_requests_running", "tokc_num_requests_waiting", "tokc_kv_blocks_used",
                "tokc_kv_blocks_free", "tokc_preemptions_total", "tokc_prefix_cache_hit_rate")) {
            assertTrue(ServeFixture.metric(m, name) >= 0, name + " missing from /metrics:\n" + m);
        }
        assertTrue(ServeFixture.metric(m, "tokc_time_to_first_token_seconds_count") >= 1, m);
        assertTrue(ServeFixture.metric(m, "tokc_inter_token_latency_seconds_count") >= 1, m);
        assertEquals(399, ServeFixture.metric(m, "tokc_kv_blocks_total"));
        // the same prompt again is served from the prefix cache (its full blocks)
        String prefix = "First Citizen:\nBefore we proceed any further, hear me speak. All: Speak, speak.";
        client.post("/v1/completions", completion(prefix, 2));
        client.post("/v1/completions", completion(prefix, 2));
        assertTrue(client.metric("tokc_prefix_cache_hit_tokens_total") >= 16, client.get("/metrics").body());
    }

    @Test
    void sixtyFourConcurrentStreamsWithRandomLengths() throws Exception {
        Random random = new Random(42);
        String corpus = "First Citizen: Before we proceed any further, hear me speak. All: Speak, speak. "
                + "First Citizen: You are all resolved rather to die than to famish? All: Resolved. resolved.";
        record Job(ObjectNode body, int maxTokens) {}
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            int start = random.nextInt(corpus.length() - 20);
            String prompt = corpus.substring(start, start + 1 + random.nextInt(Math.min(80, corpus.length() - start - 1)));
            int max = 1 + random.nextInt(40);
            ObjectNode b = completion(prompt, max);
            b.put("stream", true).put("ignore_eos", true).put("logprobs", 0).put("temperature", 0.8).put("seed", i);
            b.putObject("stream_options").put("include_usage", true);
            jobs.add(new Job(b, max));
        }
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<List<String>>> results = new ArrayList<>();
            for (Job j : jobs) {
                results.add(pool.submit(() -> new ServeFixture.Client(server).stream("/v1/completions", j.body)));
            }
            for (int i = 0; i < jobs.size(); i++) {
                List<String> data = results.get(i).get();
                assertEquals("[DONE]", data.getLast());
                int tokens = 0;
                int usage = -1;
                for (String d : data.subList(0, data.size() - 1)) {
                    JsonNode c = JSON.readTree(d);
                    if (c.has("usage")) {
                        usage = c.get("usage").get("completion_tokens").asInt();
                    } else if (!c.get("choices").get(0).get("logprobs").isNull()) {
                        tokens++;   // one chunk with logprobs per generated token
                    }
                }
                assertEquals(jobs.get(i).maxTokens, tokens, "tokens streamed for request " + i);
                assertEquals(jobs.get(i).maxTokens, usage, "usage of request " + i);
            }
        }
        assertNoBlocksInUse();
    }

    @Test
    void clientLeavingMidStreamFreesItsBlocks() throws Exception {
        double cancelledBefore = client.metric("tokc_requests_cancelled_total");
        String body = "{\"prompt\": \"ROMEO:\", \"max_tokens\": 400, \"ignore_eos\": true, \"stream\": true}";
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                    + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(bytes);
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder seen = new StringBuilder();
            while (seen.indexOf("\"text\"") < 0) {   // wait for the first token chunk
                int c = in.read();
                assertTrue(c >= 0, "stream ended early: " + seen);
                seen.append((char) c);
            }
            assertTrue(client.metric("tokc_kv_blocks_used") > 0, "the stream holds blocks while it runs");
        }
        assertNoBlocksInUse();
        assertTrue(client.metric("tokc_requests_cancelled_total") >= cancelledBefore + 1);
    }
}
