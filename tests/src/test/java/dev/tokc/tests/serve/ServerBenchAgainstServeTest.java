package dev.tokc.tests.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokc.runtime.server.OpenAiServer;
import dev.tokc.runtime.server.ServeOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tokc bench --server} against a real {@code tokc serve}, continuous and static: the server takes the
 * benchmark's preferred request shape (token-id prompts, usage in the stream), every streamed request returns exactly
 * its {@code max_tokens} with {@code ignore_eos} (the benchmark fails any request whose counts disagree), and every KV
 * block is free afterwards. Small on purpose: the figures themselves are docs/benchmarks.md's business.
 */
class ServerBenchAgainstServeTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "static batching {0}")
    @ValueSource(booleans = {false, true})
    void benchCountsMatchTheServer(boolean staticBatching) throws Exception {
        OpenAiServer server = ServeFixture.start(ServeOptions.builder().kvBlocks(400).staticBatching(staticBatching)
                .staticBatchWait(Duration.ofMillis(20)));
        try {
            Path json = tmp.resolve("bench.json");
            ServeFixture.Run r = ServeFixture.cli("bench", "--server", server.url(), "--concurrency", "1,4",
                    "--num-requests", "8", "--prompt-len", "8:24", "--gen-len", "4:16", "--ignore-eos", "--warmup", "1",
                    "--json", json.toString());
            assertEquals(0, r.code(), r.out() + r.err());
            JsonNode run = ServeFixture.JSON.readTree(Files.readString(json));
            assertTrue(run.get("requestShape").asText().startsWith("prompt as token ids, stream_options.include_usage"),
                    run.get("requestShape").asText());
            assertEquals(2, run.get("levels").size());
            for (JsonNode level : run.get("levels")) {
                assertEquals(8, level.get("requests").asInt(), level.toString());
                assertEquals(0, level.get("failures").asInt(), level.toString());
                assertEquals(8, level.get("usageReported").asInt(), level.toString());
                long out = level.get("outputTokens").asLong();
                assertTrue(out >= 8 * 4 && out <= 8 * 16, level.toString());
                long prompt = level.get("promptTokens").asLong();
                assertTrue(prompt >= 8 * 8 && prompt <= 8 * 24, level.toString());
                // one gap per token after each request's first, when every token came in a chunk of its own
                assertTrue(level.get("itlMs").get("count").asLong() <= out - 8, level.toString());
            }
            ServeFixture.Client client = new ServeFixture.Client(server);
            String metrics = ServeFixture.awaitIdle(client);
            assertEquals(0, ServeFixture.metric(metrics, "tokc_kv_blocks_used"), metrics);
        } finally {
            server.shutdown();
        }
    }
}
