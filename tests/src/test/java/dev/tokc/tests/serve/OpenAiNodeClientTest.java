package dev.tokc.tests.serve;

import static dev.tokc.tests.serve.ServeFixture.JSON;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.abort;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokc.ir.testing.SharedData;
import dev.tokc.runtime.server.OpenAiServer;
import dev.tokc.runtime.server.ServeOptions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The official {@code openai} npm package against {@code tokc serve}: completions and chat completions, streamed and
 * not, an error and the model list (tests/src/test/resources/serve/openai-client.mjs). The package is installed from
 * the npm registry into {@code tests/target/openai-node} on first run; the test skips, saying why, when node/npm are
 * missing or the install fails (no registry). Greedy texts must equal what the JDK client gets.
 */
class OpenAiNodeClientTest {
    /** 6.x runs on Node 18+; 7.x needs Node 22. */
    static final String PACKAGE = "openai@6.49.0";

    @Test
    void officialClientRunsCompletionsAndChat() throws Exception {
        Path dir = SharedData.repoRoot().resolve("tests/target/openai-node");
        assumeTrue(run(List.of("node", "--version"), dir.getParent(), 30).code == 0, "node is not on the PATH: skipping");
        if (!Files.isRegularFile(dir.resolve("node_modules/openai/package.json"))) {
            Files.createDirectories(dir);
            Result npm = run(List.of("npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix",
                    dir.toString(), PACKAGE), dir, 300);
            if (npm.code != 0) {
                abort("npm install " + PACKAGE + " failed (no npm or no registry?), skipping: " + npm.output.strip());
            }
        }
        try (InputStream script = getClass().getResourceAsStream("/serve/openai-client.mjs")) {
            Files.write(dir.resolve("openai-client.mjs"), script.readAllBytes());
        }
        try (OpenAiServer server = ServeFixture.start(ServeOptions.builder().kvBlocks(128).apiKey("test-key"))) {
            ServeFixture.Client jdk = new ServeFixture.Client(server).withHeader("Authorization", "Bearer test-key");
            String model = server.model().name();
            Result node = run(List.of("node", dir.resolve("openai-client.mjs").toString(), server.url(), model, "test-key"),
                    dir, 120);
            assertEquals(0, node.code, "the openai client script failed:\n" + node.output);
            Map<String, JsonNode> calls = new HashMap<>();
            for (String line : node.output.lines().filter(l -> l.startsWith("{")).toList()) {
                JsonNode j = JSON.readTree(line);
                calls.put(j.get("call").asText(), j);
            }
            assertEquals(6, calls.size(), node.output);

            ObjectNode c = JSON.createObjectNode().put("prompt", "ROMEO:").put("max_tokens", 16).put("temperature", 0);
            String completion = jdk.post("/v1/completions", c).json().get("choices").get(0).get("text").asText();
            assertEquals(completion, calls.get("completion").get("text").asText());
            assertEquals(completion, calls.get("completion-stream").get("text").asText());
            assertEquals(calls.get("completion").get("finish").asText(), calls.get("completion-stream").get("finish").asText());

            ObjectNode ch = JSON.createObjectNode().put("max_tokens", 12).put("temperature", 0);
            ch.putArray("messages").add(JSON.createObjectNode().put("role", "system").put("content", "You are a player."))
                    .add(JSON.createObjectNode().put("role", "user").put("content", "Speak, friend."));
            String chat = jdk.post("/v1/chat/completions", ch).json().get("choices").get(0).get("message").get("content").asText();
            assertEquals(chat, calls.get("chat").get("text").asText());
            assertEquals(chat, calls.get("chat-stream").get("text").asText());
            assertEquals(404, calls.get("error").get("status").asInt());
            assertTrue(calls.get("models").get("ids").toString().contains(model));
        }
    }

    record Result(int code, String output) {}

    static Result run(List<String> command, Path dir, int timeoutSeconds) throws InterruptedException {
        try {
            Path log = Files.createTempFile("tokc-node", ".log");
            try {
                Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                        .redirectOutput(log.toFile()).start();
                p.getOutputStream().close();
                if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    return new Result(-1, "timed out after " + timeoutSeconds + " s: " + String.join(" ", command)
                            + "\n" + Files.readString(log));
                }
                return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(log);
            }
        } catch (IOException e) {
            return new Result(-1, e.getMessage());
        }
    }
}
