package dev.tokc.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

class ApiErrorTest {
    @Test
    void openAiShape() {
        JsonNode e = ApiError.invalidParam("max_tokens", "an integer >= 1", "\"x\"").toJson().get("error");
        assertEquals("'max_tokens' must be an integer >= 1, got \"x\"", e.get("message").asText());
        assertEquals("invalid_request_error", e.get("type").asText());
        assertEquals("max_tokens", e.get("param").asText());
        assertEquals("invalid_value", e.get("code").asText());
        JsonNode n = ApiError.badRequest("bad", null).toJson().get("error");
        assertTrue(n.get("param").isNull() && n.get("code").isNull());
        assertEquals(400, ApiError.badRequest("bad", null).status());
    }
}
