package dev.tokc.tests.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Graceful shutdown of a real {@code tokc serve} process: SIGTERM while a stream is in flight lets it finish (or,
 * with no grace, ends it with an error event), the stream still ends with {@code data: [DONE]}, and the process
 * exits 0.
 */
class ServeShutdownTest {

    @Test
    void sigtermLetsInFlightRequestsFinishAndExitsZero() throws Exception {
        Served s = serve("--shutdown-grace", "60");
        CompletableFuture<HttpResponse<String>> stream = s.streamLong();
        awaitFirstToken(s);
        s.process.destroy();   // SIGTERM
        assertTrue(s.process.waitFor(60, TimeUnit.SECONDS), "the server did not stop");
        assertEquals(0, s.process.exitValue(), String.join("\n", s.log));
        List<String> data = ServeFixture.sseData(stream.get(10, TimeUnit.SECONDS).body());
        assertEquals("[DONE]", data.getLast());
        assertTrue(data.get(data.size() - 2).contains("\"finish_reason\":\"length\""), data.get(data.size() - 2));
    }

    @Test
    void sigtermWithoutGraceCancelsInFlightRequestsAndExitsZero() throws Exception {
        Served s = serve("--shutdown-grace", "0");
        CompletableFuture<HttpResponse<String>> stream = s.streamLong();
        awaitFirstToken(s);
        s.process.destroy();
        assertTrue(s.process.waitFor(60, TimeUnit.SECONDS), "the server did not stop");
        assertEquals(0, s.process.exitValue(), String.join("\n", s.log));
        List<String> data = ServeFixture.sseData(stream.get(10, TimeUnit.SECONDS).body());
        assertEquals("[DONE]", data.getLast());
        assertTrue(data.get(data.size() - 2).contains("server_shutting_down"), data.get(data.size() - 2));
    }

    private static void awaitFirstToken(Served s) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            String m = s.get("/metrics");
            if (ServeFixture.metric(m, "tokc_generated_tokens_total") >= 1) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no token generated within 60 s");
    }

    record Served(Process process, String url, List<String> log, HttpClient http) {
        CompletableFuture<HttpResponse<String>> streamLong() {
            String body = "{\"prompt\": \"ROMEO:\", \"max_tokens\": 120, \"ignore_eos\": true, \"stream\": true}";
            return http.sendAsync(HttpRequest.newBuilder(URI.create(url + "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        }

        String get(String path) throws Exception {
            return http.send(HttpRequest.newBuilder(URI.create(url + path)).build(), HttpResponse.BodyHandlers.ofString()).body();
        }
    }

    /** Starts {@code tokc serve} in a child JVM on a free port; returns once it says where it listens. */
    private static Served serve(String... extra) throws Exception {
        Path engine = ServeFixture.engine();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), "dev.tokc.cli.Main",
                "serve", engine.toString(), "--port", "0", "--kv-blocks", "64", "--threads", "2", "--max-num-batched-tokens", "256"));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
        LinkedBlockingQueue<String> url = new LinkedBlockingQueue<>();
        Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                Pattern at = Pattern.compile(" on (http://\\S+) ");
                for (String line; (line = r.readLine()) != null; ) {
                    log.add(line);
                    Matcher m = at.matcher(line);
                    if (m.find()) {
                        url.add(m.group(1));
                    }
                }
            } catch (java.io.IOException e) {
                // process gone
            }
        });
        String u = url.poll(120, TimeUnit.SECONDS);
        if (u == null) {
            p.destroyForcibly();
            throw new AssertionError("tokc serve did not start:\n" + String.join("\n", log));
        }
        return new Served(p, u, log, HttpClient.newHttpClient());
    }
}
