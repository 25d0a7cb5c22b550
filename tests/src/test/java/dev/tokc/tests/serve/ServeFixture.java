package dev.tokc.tests.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokc.cli.Tokc;
import dev.tokc.ir.testing.SharedData;
import dev.tokc.runtime.server.OpenAiServer;
import dev.tokc.runtime.server.ServeOptions;
import dev.tokc.runtime.server.ServingModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Shared by the serving tests: the repository's shakespeare-llama compiled once per test JVM with {@code tokc compile},
 * servers started in process on an ephemeral port, and a small HTTP client (JDK {@link HttpClient}) that speaks
 * JSON and server-sent events.
 */
final class ServeFixture {
    static final ObjectMapper JSON = new ObjectMapper();
    private static Path engine;

    private ServeFixture() {}

    /** The compiled shakespeare engine (compiled on first use into a temp directory removed at exit). */
    static synchronized Path engine() throws IOException {
        if (engine == null) {
            Path model = SharedData.repoRoot().resolve("models/shakespeare-llama");
            Path out = Files.createTempDirectory("tokc-serve-test").resolve("shakespeare");
            Run r = cli("compile", model.toString(), "-o", out.toString());
            assertEquals(0, r.code, "tokc compile failed: " + r.err);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(out.getParent())));
            engine = out;
        }
        return engine;
    }

    /** A server on an ephemeral loopback port for the engine, with {@code options} (port forced to 0). */
    static OpenAiServer start(ServeOptions.Builder options) throws IOException {
        ServeOptions o = options.port(0).threads(2).build();
        List<String> log = new ArrayList<>();
        ServingModel model = ServingModel.open(engine(), o, log::add);
        return OpenAiServer.start(model, o, System.err::println);
    }

    record Run(int code, String out, String err) {}

    /** Runs the {@code tokc} CLI in process. */
    static Run cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Tokc.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** A JSON response. */
    record Response(int status, Map<String, List<String>> headers, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (status " + status + "): " + body, e);
            }
        }

        String header(String name) {
            List<String> v = headers.get(name.toLowerCase());
            return v == null || v.isEmpty() ? null : v.get(0);
        }

        /** Asserts an OpenAI error object with this status; returns it. */
        JsonNode assertError(int expectedStatus) {
            assertEquals(expectedStatus, status, body);
            JsonNode e = json().get("error");
            assertTrue(e != null && e.path("message").isTextual() && e.has("type") && e.has("param") && e.has("code"),
                    "not an OpenAI error object: " + body);
            return e;
        }
    }

    static final class Client {
        private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        private final String base;
        private final Map<String, String> headers = new HashMap<>();

        Client(OpenAiServer server) {
            this.base = server.url();
        }

        Client withHeader(String name, String value) {
            headers.put(name, value);
            return this;
        }

        Response get(String path) throws IOException, InterruptedException {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(120)).GET();
            headers.forEach(b::header);
            return send(b.build());
        }

        Response post(String path, String body) throws IOException, InterruptedException {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(120))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body));
            headers.forEach(b::header);
            return send(b.build());
        }

        Response post(String path, JsonNode body) throws IOException, InterruptedException {
            return post(path, JSON.writeValueAsString(body));
        }

        private Response send(HttpRequest r) throws IOException, InterruptedException {
            HttpResponse<String> res = http.send(r, HttpResponse.BodyHandlers.ofString());
            return new Response(res.statusCode(), res.headers().map(), res.body());
        }

        /** Posts with {@code stream: true} and returns the SSE events' data: the JSON chunks, then "[DONE]". */
        List<String> stream(String path, JsonNode body) throws IOException, InterruptedException {
            Response r = post(path, body);
            assertEquals(200, r.status(), r.body());
            assertTrue(r.header("content-type").startsWith("text/event-stream"), r.header("content-type"));
            return sseData(r.body());
        }

        /** The value of a metric as scraped now, e.g. {@code tokc_kv_blocks_used} or {@code x{status="429"}}; -1 when absent. */
        double metric(String name) throws IOException, InterruptedException {
            return ServeFixture.metric(get("/metrics").body(), name);
        }
    }

    /** The {@code data:} payloads of an SSE body, in order (comments and blank lines dropped). */
    static List<String> sseData(String body) {
        List<String> out = new ArrayList<>();
        for (String block : body.split("\n\n")) {
            for (String line : block.split("\n")) {
                if (line.startsWith("data: ")) {
                    out.add(line.substring(6));
                } else if (!line.isEmpty() && !line.startsWith(":")) {
                    fail("unexpected SSE line: " + line);
                }
            }
        }
        return out;
    }

    static double metric(String text, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " ([0-9.eE+\\-]+|NaN)$").matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : -1;
    }

    /** Polls /metrics until no sequence holds a KV block (or 30 s pass); returns the last scrape. */
    static String awaitIdle(Client c) throws IOException, InterruptedException {
        String text = "";
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            text = c.get("/metrics").body();
            if (metric(text, "tokc_kv_blocks_used") == 0 && metric(text, "tokc_num_requests_running") == 0
                    && metric(text, "tokc_num_requests_waiting") == 0) {
                return text;
            }
            Thread.sleep(20);
        }
        return text;
    }

    static void deleteTree(Path root) {
        try (var s = Files.walk(root)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }
}
