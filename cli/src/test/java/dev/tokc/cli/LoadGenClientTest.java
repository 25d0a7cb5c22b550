package dev.tokc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The stream reader over canned bodies, the request body, and the URL and error handling. */
class LoadGenClientTest {
    private static final LoadGenRequest REQ = new LoadGenRequest(3, 4, new int[] {5, 6, 7}, null);

    private static LoadGenResult read(String body) throws Exception {
        return LoadGenClient.readStream(REQ, System.nanoTime(), new BufferedReader(new StringReader(body)));
    }

    private static String chunk(String text, String finish) {
        return "data: {\"id\":\"c\",\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\"" + text
                + "\",\"finish_reason\":" + (finish == null ? "null" : "\"" + finish + "\"") + "}]}\n\n";
    }

    @Test
    void usageInTheFinalChunkGivesTheCounts() throws Exception {
        String body = chunk("a", null) + chunk("b", null) + chunk("", null) + chunk("c", "length")
                + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}\n\n"
                + "data: [DONE]\n\n";
        LoadGenResult r = read(body);
        assertTrue(r.ok(), r.error());
        assertEquals(4, r.outputTokens());
        assertTrue(r.usageReported());
        assertEquals(3, r.promptTokens());
        assertEquals("length", r.finishReason());
        assertEquals(3, r.tokenNs().length, "chunks with text are timed, the empty one is not");
        assertEquals(2, r.itlMs().length);
        assertTrue(r.ttftMs() >= 0 && r.e2eMs() >= r.ttftMs());
    }

    @Test
    void withoutUsageTextChunksAreCounted() throws Exception {
        LoadGenResult r = read(chunk("a", null) + ": keep-alive\n\n" + chunk("b", null) + chunk("", "stop")
                + "data: [DONE]\r\n\r\n");
        assertTrue(r.ok(), r.error());
        assertEquals(2, r.outputTokens());
        assertFalse(r.usageReported());
        assertEquals(-1, r.promptTokens());
        assertEquals("stop", r.finishReason());
    }

    @Test
    void chatDeltasCountToo() throws Exception {
        LoadGenResult r = read("data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n"
                + "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n");
        assertTrue(r.ok(), r.error());
        assertEquals(1, r.outputTokens());
    }

    @Test
    void brokenStreamsFailWithTheReason() throws Exception {
        assertTrue(read(chunk("a", null)).error().contains("without data: [DONE]"));
        assertTrue(read("data: <html>\n\n").error().contains("not JSON"));
        assertTrue(read("data: {\"hello\":1}\n\n").error().contains("not an OpenAI completion chunk"));
        LoadGenResult e = read(chunk("a", null) + "data: {\"error\":{\"message\":\"KV cache exhausted\"}}\n\n");
        assertEquals("error event: KV cache exhausted", e.error());
        assertEquals(0, e.outputTokens());
    }

    @Test
    void doneWithoutTrailingBlankLineIsAccepted() throws Exception {
        LoadGenResult r = read(chunk("a", "length") + "data: [DONE]");
        assertTrue(r.ok(), r.error());
        assertEquals(1, r.outputTokens());
    }

    @Test
    void countsThatContradictTheRequestFail() throws Exception {
        // REQ asks for max_tokens 4
        String usage3 = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":3}}\n\n";
        LoadGenResult three = read(chunk("a", null) + chunk("b", null) + chunk("c", "stop") + usage3 + "data: [DONE]\n\n");
        assertTrue(LoadGenClient.checked(three, false).ok());
        assertEquals("returned 3 tokens with ignore_eos for max_tokens 4 (finish_reason stop)",
                LoadGenClient.checked(three, true).error());
        LoadGenResult five = read(chunk("a", null).repeat(5) + "data: [DONE]\n\n");
        assertEquals("returned 5 tokens for max_tokens 4", LoadGenClient.checked(five, false).error());
        String usage1 = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n";
        LoadGenResult lying = read(chunk("a", null) + chunk("b", null) + usage1 + "data: [DONE]\n\n");
        assertEquals("streamed 2 chunks with text but usage.completion_tokens is 1",
                LoadGenClient.checked(lying, false).error());
    }

    @Test
    void requestBody() throws Exception {
        ObjectMapper m = new ObjectMapper();
        JsonNode ids = m.readTree(new String(LoadGenClient.body(new LoadGenClient.Params("m", 0, false), REQ,
                new LoadGenClient.Shape(true, true)),
                StandardCharsets.UTF_8));
        assertEquals("m", ids.get("model").asText());
        assertEquals("[5,6,7]", ids.get("prompt").toString());
        assertEquals(4, ids.get("max_tokens").asInt());
        assertTrue(ids.get("stream").asBoolean());
        assertTrue(ids.get("stream_options").get("include_usage").asBoolean());
        assertNull(ids.get("ignore_eos"));
        JsonNode text = m.readTree(new String(LoadGenClient.body(new LoadGenClient.Params("m", 0.7, true),
                new LoadGenRequest(2, 9, null, "to be"), new LoadGenClient.Shape(false, false)), StandardCharsets.UTF_8));
        assertEquals("to be", text.get("prompt").asText());
        assertEquals(0.7, text.get("temperature").asDouble());
        assertNull(text.get("stream_options"));
        assertTrue(text.get("ignore_eos").asBoolean());
    }

    @Test
    void serverUrls() {
        assertEquals("http://127.0.0.1:8000/v1/completions",
                LoadGenClient.baseUri("http://127.0.0.1:8000").resolve("v1/completions").toString());
        assertEquals("http://h:1/v1/models", LoadGenClient.baseUri("http://h:1/v1/").resolve("v1/models").toString());
        assertEquals("https://h/proxy/v1/models",
                LoadGenClient.baseUri("https://h/proxy/v1").resolve("v1/models").toString());
        for (String bad : new String[] {"127.0.0.1:8000", "ftp://h/", "http://", "not a url", "http://h:1/?q=1"}) {
            UsageError e = assertThrows(UsageError.class, () -> LoadGenClient.baseUri(bad), bad);
            assertTrue(e.getMessage().startsWith("--server expects"), e.getMessage());
        }
    }

    @Test
    void httpErrorsCarryTheServersMessage() {
        assertEquals("HTTP 400: max_tokens too large",
                LoadGenClient.httpError(400, "{\"error\":{\"message\":\"max_tokens too large\",\"type\":\"x\"}}"));
        assertEquals("HTTP 404: <h1>Not Found</h1>", LoadGenClient.httpError(404, "<h1>Not\n  Found</h1>\n"));
        assertEquals("HTTP 502: (empty body)", LoadGenClient.httpError(502, ""));
    }
}
