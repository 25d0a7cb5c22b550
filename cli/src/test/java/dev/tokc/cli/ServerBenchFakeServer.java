package dev.tokc.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small OpenAI-compatible completions server for the load benchmark's tests, with known behaviour: it streams
 * exactly {@code max_tokens} one-token chunks, sleeping {@code firstTokenMs} before the first and {@code tokenMs}
 * before each next one; usage counts a token id as one prompt token and a word as two (so text calibration is seen).
 * It can refuse token-id prompts or {@code stream_options} (an older server), fail every k-th request, or stall.
 */
final class ServerBenchFakeServer implements AutoCloseable {
    /** One request as the server saw it; {@code status} 200 when streamed, and when it was served. */
    record Seen(int number, int status, int promptIds, int promptWords, int maxTokens, long startNs, long endNs) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    final List<Seen> seen = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger count = new AtomicInteger();
    private final HttpServer server;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    boolean acceptIds = true;
    boolean acceptStreamOptions = true;
    int failEvery;
    long firstTokenMs = 20;
    long tokenMs = 3;
    /** Requests numbered from this one on (the first is 1) stall 30 s after their first token; 0: none do. */
    int stallFrom;

    ServerBenchFakeServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 128);
        server.setExecutor(executor);
        server.createContext("/v1/models", ex -> send(ex, 200, "application/json",
                "{\"object\":\"list\",\"data\":[{\"id\":\"fake-model\",\"object\":\"model\"}]}"));
        server.createContext("/v1/completions", this::complete);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** The requests that were streamed, in arrival order. */
    List<Seen> served() {
        synchronized (seen) {
            return seen.stream().filter(s -> s.status() == 200).sorted((a, b) -> a.number() - b.number()).toList();
        }
    }

    private void complete(HttpExchange ex) throws IOException {
        int n = count.incrementAndGet();
        long start = System.nanoTime();
        JsonNode req = JSON.readTree(ex.getRequestBody());
        JsonNode prompt = req.path("prompt");
        int ids = prompt.isArray() ? prompt.size() : -1;
        int words = prompt.isTextual() ? prompt.asText().split(" ").length : -1;
        int max = req.path("max_tokens").asInt();
        boolean usage = req.path("stream_options").path("include_usage").asBoolean(false);
        String refusal = prompt.isArray() && !acceptIds ? "prompt must be a string"
                : req.has("stream_options") && !acceptStreamOptions ? "unknown field: stream_options"
                : failEvery > 0 && n % failEvery == 0 ? "fake failure #" + n : null;
        if (refusal != null) {
            int status = refusal.startsWith("fake") ? 500 : 400;
            seen.add(new Seen(n, status, ids, words, max, start, System.nanoTime()));
            send(ex, status, "application/json", "{\"error\":{\"message\":\"" + refusal + "\",\"type\":\"x\"}}");
            return;
        }
        ex.getResponseHeaders().set("Content-Type", "text/event-stream");
        ex.sendResponseHeaders(200, 0);
        try (OutputStream out = ex.getResponseBody()) {
            for (int i = 0; i < max; i++) {
                sleep(i == 0 ? firstTokenMs : stallFrom > 0 && n >= stallFrom ? 30_000 : tokenMs);
                String finish = i == max - 1 ? "\"length\"" : "null";
                event(out, "{\"id\":\"cmpl-" + n + "\",\"object\":\"text_completion\",\"model\":\"fake-model\","
                        + "\"choices\":[{\"index\":0,\"text\":\" w" + i + "\",\"finish_reason\":" + finish + "}]}");
            }
            if (usage) {
                int p = ids >= 0 ? ids : 2 * words;
                event(out, "{\"id\":\"cmpl-" + n + "\",\"choices\":[],\"usage\":{\"prompt_tokens\":" + p
                        + ",\"completion_tokens\":" + max + ",\"total_tokens\":" + (p + max) + "}}");
            }
            // recorded before [DONE] so that the test, which reads it once the client is done, always finds it
            seen.add(new Seen(n, 200, ids, words, max, start, System.nanoTime()));
            event(out, "[DONE]");
        }
    }

    private static void event(OutputStream out, String data) throws IOException {
        out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Sleeps; {@link #close()} interrupts, which ends the handler instead of waiting out a long stall. */
    private static void sleep(long ms) throws IOException {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("fake server closing", e);
        }
    }

    static void send(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    /** The most of {@code requests} that were being served at one instant. */
    static int maxOverlap(List<Seen> requests) {
        int best = 0;
        for (Seen a : requests) {
            int at = 0;
            for (Seen b : requests) {
                at += b.startNs() <= a.startNs() && a.startNs() < b.endNs() ? 1 : 0;
            }
            best = Math.max(best, at);
        }
        return best;
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        executor.close();
    }
}
