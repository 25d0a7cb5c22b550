package dev.tokc.tests.serve;

import static dev.tokc.tests.serve.ServeFixture.JSON;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokc.ir.testing.SharedData;
import dev.tokc.runtime.server.OpenAiServer;
import dev.tokc.runtime.server.ServeException;
import dev.tokc.runtime.server.ServeOptions;
import dev.tokc.runtime.server.ServingModel;
import dev.tokc.runtime.tokenizer.ChatTemplate;
import dev.tokc.runtime.tokenizer.Tokenizers;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The server's limits, each on a server configured for it: API key (401), capacity (429 with Retry-After), a KV pool
 * too small for the load (completes through preemption, with the same greedy text as without it), static batching,
 * and memory plans that cannot work (refused at start with a clear message).
 */
class ServeLimitsTest {

    static ObjectNode completion(String prompt, int maxTokens) {
        ObjectNode b = JSON.createObjectNode();
        b.put("prompt", prompt);
        b.put("max_tokens", maxTokens);
        b.put("temperature", 0);
        b.put("ignore_eos", true);
        return b;
    }

    @Test
    void apiKeyAndCapacity() throws Exception {
        try (OpenAiServer server = ServeFixture.start(ServeOptions.builder().kvBlocks(64).apiKey("sekrit")
                .maxNumSeqs(1).maxWaitingRequests(0))) {
            ServeFixture.Client anon = new ServeFixture.Client(server);
            ServeFixture.Client wrong = new ServeFixture.Client(server).withHeader("Authorization", "Bearer nope");
            ServeFixture.Client ok = new ServeFixture.Client(server).withHeader("Authorization", "Bearer sekrit");
            assertEquals("invalid_api_key", anon.post("/v1/completions", completion("ROMEO:", 2)).assertError(401)
                    .get("code").asText());
            wrong.post("/v1/completions", completion("ROMEO:", 2)).assertError(401);
            wrong.get("/v1/models").assertError(401);
            assertEquals(200, ok.post("/v1/completions", completion("ROMEO:", 2)).status());
            assertEquals(200, anon.get("/health").status());   // probes need no key
            assertEquals(200, anon.get("/metrics").status());

            // One sequence may be in flight: hold it with a long stream, then the next request is refused.
            String body = "{\"prompt\": \"ROMEO:\", \"max_tokens\": 400, \"ignore_eos\": true, \"stream\": true}";
            try (Socket s = openStream(server, body, "sekrit")) {
                ServeFixture.Response busy = ok.post("/v1/completions", completion("ROMEO:", 2));
                busy.assertError(429);
                assertEquals("1", busy.header("Retry-After"));
            }
            ServeFixture.awaitIdle(ok);
            assertEquals(200, ok.post("/v1/completions", completion("ROMEO:", 2)).status());
            ObjectNode n2 = completion("ROMEO:", 2);
            n2.put("n", 2);   // two sequences never fit one running + zero waiting
            ok.post("/v1/completions", n2).assertError(429);
            assertTrue(ok.metric("tokc_http_responses_total{status=\"429\"}") >= 2);
        }
    }

    /** Sends a streaming request on a raw socket and returns once its first token chunk arrived. */
    static Socket openStream(OpenAiServer server, String body, String key) throws Exception {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        Socket s = new Socket("127.0.0.1", server.port());
        OutputStream out = s.getOutputStream();
        out.write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + (key == null ? "" : "Authorization: Bearer " + key + "\r\n")
                + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
        InputStream in = s.getInputStream();
        StringBuilder seen = new StringBuilder();
        while (seen.indexOf("\"text\"") < 0) {
            int c = in.read();
            assertTrue(c >= 0, "stream ended early: " + seen);
            seen.append((char) c);
        }
        return s;
    }

    @Test
    void poolTooSmallForTheLoadCompletesThroughPreemption() throws Exception {
        List<String> prompts = List.of("ROMEO:", "JULIET:", "First Citizen:", "MENENIUS:", "All:", "KING RICHARD III:",
                "Second Citizen:", "CORIOLANUS:");
        List<String> alone = new ArrayList<>();
        try (OpenAiServer roomy = ServeFixture.start(ServeOptions.builder().kvBlocks(64).maxModelLen(64))) {
            ServeFixture.Client c = new ServeFixture.Client(roomy);
            for (String p : prompts) {
                alone.add(c.post("/v1/completions", completion(p, 48)).json().get("choices").get(0).get("text").asText());
            }
        }
        // 8 usable blocks of 16 tokens: room for two of these requests (up to 4 blocks each) at a time.
        try (OpenAiServer tight = ServeFixture.start(ServeOptions.builder().kvBlocks(9).maxModelLen(64).maxNumSeqs(8))) {
            ServeFixture.Client c = new ServeFixture.Client(tight);
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<ServeFixture.Response>> results = new ArrayList<>();
                for (String p : prompts) {
                    results.add(pool.submit(() -> c.post("/v1/completions", completion(p, 48))));
                }
                for (int i = 0; i < prompts.size(); i++) {
                    JsonNode j = results.get(i).get().json();
                    assertEquals(48, j.get("usage").get("completion_tokens").asInt(), j.toString());
                    assertEquals(alone.get(i), j.get("choices").get(0).get("text").asText(),
                            "preemption and recompute changed the greedy text of " + prompts.get(i));
                }
            }
            String m = ServeFixture.awaitIdle(c);
            assertTrue(ServeFixture.metric(m, "tokc_preemptions_total") > 0, "no preemption happened:\n" + m);
            assertEquals(0, ServeFixture.metric(m, "tokc_kv_blocks_used"));
        }
    }

    @Test
    void staticBatchingServesTheSameText() throws Exception {
        try (OpenAiServer server = ServeFixture.start(ServeOptions.builder().kvBlocks(64).maxNumSeqs(4)
                .staticBatching(true).staticBatchWait(Duration.ofMillis(20)))) {
            ServeFixture.Client c = new ServeFixture.Client(server);
            String alone = c.post("/v1/completions", completion("ROMEO:", 16)).json().get("choices").get(0).get("text").asText();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<ServeFixture.Response>> rs = new ArrayList<>();
                for (int i = 0; i < 6; i++) {
                    rs.add(pool.submit(() -> c.post("/v1/completions", completion("ROMEO:", 16))));
                }
                for (Future<ServeFixture.Response> r : rs) {
                    assertEquals(alone, r.get().json().get("choices").get(0).get("text").asText());
                }
            }
        }
    }

    @Test
    void requestTimeoutCancelsAndFreesBlocks() throws Exception {
        try (OpenAiServer server = ServeFixture.start(ServeOptions.builder().kvBlocks(64)
                .requestTimeout(Duration.ofMillis(1)))) {
            ServeFixture.Client c = new ServeFixture.Client(server);
            assertEquals("timeout", c.post("/v1/completions", completion("ROMEO:", 500)).assertError(504)
                    .get("code").asText());
            ObjectNode s = completion("ROMEO:", 500);
            s.put("stream", true);
            List<String> data = c.stream("/v1/completions", s);
            assertEquals("[DONE]", data.getLast());
            assertTrue(data.get(data.size() - 2).contains("\"code\":\"timeout\""), data.get(data.size() - 2));
            assertEquals(0, ServeFixture.metric(ServeFixture.awaitIdle(c), "tokc_kv_blocks_used"));
        }
    }

    @Test
    void chatTemplateFromAFile() throws Exception {
        Path config = SharedData.require("tokenizers/llama3/tokenizer_config.json");
        try (OpenAiServer server = ServeFixture.start(ServeOptions.builder().kvBlocks(64).chatTemplate(config))) {
            ObjectNode body = JSON.createObjectNode().put("max_tokens", 4).put("temperature", 0);
            body.putArray("messages").add(JSON.createObjectNode().put("role", "user").put("content", "Speak, friend."));
            JsonNode r = new ServeFixture.Client(server).post("/v1/chat/completions", body).json();
            String rendered = ChatTemplate.load(config).render(
                    List.of(Map.of("role", "user", "content", "Speak, friend.")), true);
            assertTrue(rendered.contains("<|start_header_id|>user<|end_header_id|>"), rendered);
            int expected = Tokenizers.load(ServeFixture.engine()).encode(rendered, false, true).length;
            assertEquals(expected, r.get("usage").get("prompt_tokens").asInt(), r.toString());
            assertTrue(server.model().chatTemplateSource().endsWith("tokenizer_config.json"));
        }
    }

    @Test
    void impossibleMemoryPlansAreRefusedAtStart() throws Exception {
        ServeException tooFew = assertThrows(ServeException.class, () -> ServingModel.open(ServeFixture.engine(),
                ServeOptions.builder().kvBlocks(3).build(), s -> { }));
        assertTrue(tooFew.getMessage().contains("less than one request"), tooFew.getMessage());

        ServeFixture.Run huge = ServeFixture.cli("serve", ServeFixture.engine().toString(), "--kv-cache-memory", "4096TiB");
        assertEquals(1, huge.code());
        assertTrue(huge.err().contains("available") && huge.err().lines().count() == 1, huge.err());

        ServeFixture.Run badSize = ServeFixture.cli("serve", ServeFixture.engine().toString(), "--kv-cache-memory", "lots");
        assertEquals(2, badSize.code());
        assertTrue(badSize.err().contains("not a size"), badSize.err());

        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            ServeFixture.Run busy = ServeFixture.cli("serve", ServeFixture.engine().toString(), "--kv-blocks", "64",
                    "--port", String.valueOf(taken.getLocalPort()), "--max-num-batched-tokens", "64");
            assertEquals(1, busy.code());
            assertTrue(busy.err().contains("cannot listen on 127.0.0.1:" + taken.getLocalPort()), busy.err());
            assertTrue(!busy.err().contains("\tat "), "a stack trace reached the user:\n" + busy.err());
        }

        ServeFixture.Run notEngine = ServeFixture.cli("serve", "/nonexistent-engine");
        assertEquals(1, notEngine.code());
        assertTrue(notEngine.err().contains("not an engine directory"), notEngine.err());
    }
}
