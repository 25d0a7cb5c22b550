package dev.tokc.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A client of an OpenAI-compatible server for the load benchmark: {@code POST /v1/completions} with
 * {@code stream: true}, timing every chunk as it arrives. Server-side trouble (HTTP errors, a body that is not an
 * OpenAI event stream, a dropped connection) comes back as a failed {@link LoadGenResult}, never as an exception,
 * so one bad request is counted and the load goes on; only an interrupt escapes.
 *
 * <p>HTTP/1.1 on purpose: one connection per in-flight stream, as real clients of such servers use, and no
 * {@code h2c} upgrade attempt that a plain HTTP/1.1 server may mishandle.
 */
final class LoadGenClient implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** How much of an error body goes into the message. */
    private static final int ERROR_BODY_CHARS = 300;

    /** How a request's body is shaped; the benchmark probes which one the server takes. */
    record Shape(boolean tokenIds, boolean includeUsage) {
        @Override
        public String toString() {
            return (tokenIds ? "prompt as token ids" : "prompt as text")
                    + (includeUsage ? ", stream_options.include_usage" : ", no stream_options");
        }
    }

    /**
     * What every request of a run carries besides its prompt and length.
     *
     * @param ignoreEos sends {@code ignore_eos: true} (a vLLM extension tokc serve takes) so that every request
     *     generates exactly {@code max_tokens}; servers that do not know the field may refuse it
     */
    record Params(String model, double temperature, boolean ignoreEos) {}

    private final URI base;
    private final String apiKey;
    private final Duration timeout;
    private final boolean keepAlive;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    /**
     * Enforces {@code timeout} on whole requests: {@link HttpRequest#timeout} only covers the wait for the response
     * headers, and a stream that stalls after them would otherwise block its client forever.
     */
    private final ScheduledExecutorService deadlines = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "tokc-bench-deadlines");
        t.setDaemon(true);
        return t;
    });
    private final HttpClient http;

    /**
     * @param server {@code http(s)://HOST[:PORT][/PATH]}, with or without a trailing {@code /v1}
     * @param apiKey sent as {@code Authorization: Bearer KEY} when not null
     * @param keepAlive reuse connections between requests, as real clients do; false opens a fresh connection per
     *     completion (a client of its own, shut down after it), which sidesteps a server whose replies on reused
     *     connections stall on Nagle's algorithm against delayed ACKs, at the cost of a connect per request
     */
    LoadGenClient(String server, String apiKey, Duration timeout, boolean keepAlive) {
        this.base = baseUri(server);
        this.apiKey = apiKey;
        this.timeout = timeout;
        this.keepAlive = keepAlive;
        this.http = newClient();
    }

    private HttpClient newClient() {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10))
                .executor(executor).build();
    }

    /** Validates {@code --server} and normalises it to the URI that {@code v1/...} paths resolve against. */
    static URI baseUri(String server) {
        URI u;
        try {
            u = URI.create(server.strip());
        } catch (IllegalArgumentException e) {
            throw new UsageError("--server expects a URL like http://127.0.0.1:8000, got '" + server + "'");
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("http") || scheme.equals("https")) || u.getHost() == null || u.getQuery() != null) {
            throw new UsageError("--server expects a URL like http://127.0.0.1:8000, got '" + server + "'");
        }
        String path = u.getPath() == null ? "" : u.getPath();
        while (path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        if (path.endsWith("/v1")) {
            path = path.substring(0, path.length() - 3);
        }
        return URI.create(scheme + "://" + u.getRawAuthority() + path + "/");
    }

    URI endpoint(String path) {
        return base.resolve(path);
    }

    /**
     * The first model {@code GET /v1/models} lists, for requests that need a {@code model}. Errors here are the
     * user's (wrong URL, server down, not an OpenAI server), so they are {@link UserError}s.
     */
    String firstModel() throws InterruptedException {
        URI uri = endpoint("v1/models");
        HttpResponse<String> resp;
        try {
            resp = http.send(authorized(HttpRequest.newBuilder(uri).timeout(timeout).GET()).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UserError("GET " + uri + ": " + describe(e, uri));
        }
        if (resp.statusCode() != 200) {
            throw new UserError("GET " + uri + ": " + httpError(resp.statusCode(), resp.body())
                    + " (is this an OpenAI-compatible server? --model NAME skips this lookup)");
        }
        try {
            JsonNode data = JSON.readTree(resp.body()).path("data");
            if (data.isArray() && !data.isEmpty() && data.get(0).path("id").isTextual()) {
                return data.get(0).get("id").asText();
            }
        } catch (IOException e) {
            // falls through to the message below
        }
        throw new UserError("GET " + uri + " did not answer an OpenAI model list ({\"data\":[{\"id\":...}]}), got: "
                + snippet(resp.body()) + " (--model NAME skips this lookup)");
    }

    /** The JSON body of one streamed completion request. */
    static byte[] body(Params params, LoadGenRequest r, Shape shape) {
        ObjectNode o = JSON.createObjectNode();
        o.put("model", params.model());
        if (r.promptIds() != null) {
            ArrayNode ids = o.putArray("prompt");
            for (int id : r.promptIds()) {
                ids.add(id);
            }
        } else {
            o.put("prompt", r.promptText());
        }
        o.put("max_tokens", r.maxTokens());
        o.put("temperature", params.temperature());
        if (params.ignoreEos()) {
            o.put("ignore_eos", true);
        }
        o.put("stream", true);
        if (shape.includeUsage()) {
            o.putObject("stream_options").put("include_usage", true);
        }
        try {
            return JSON.writeValueAsBytes(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Sends one streamed completion and times it; failures are results, see the class comment. */
    LoadGenResult complete(Params params, LoadGenRequest r, Shape shape) throws InterruptedException {
        if (keepAlive) {
            return complete(http, params, r, shape);
        }
        HttpClient fresh = newClient();
        try {
            return complete(fresh, params, r, shape);
        } finally {
            fresh.shutdownNow();
        }
    }

    private LoadGenResult complete(HttpClient client, Params params, LoadGenRequest r, Shape shape)
            throws InterruptedException {
        URI uri = endpoint("v1/completions");
        HttpRequest req = authorized(HttpRequest.newBuilder(uri).timeout(timeout)
                .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body(params, r, shape)))).build();
        long start = System.nanoTime();
        HttpResponse<InputStream> resp;
        try {
            resp = client.send(req, HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            return LoadGenResult.failed(r, start, System.nanoTime(), describe(e, uri));
        }
        AtomicBoolean timedOut = new AtomicBoolean();
        InputStream body = resp.body();
        long left = timeout.toNanos() - (System.nanoTime() - start);
        // Closing the body from the timer ends a blocked read (as end of stream or an IOException).
        ScheduledFuture<?> deadline = deadlines.schedule(() -> {
            timedOut.set(true);
            closeQuietly(body);
        }, Math.max(0, left), TimeUnit.NANOSECONDS);
        LoadGenResult result;
        try (InputStream in = body) {
            result = readBody(resp, in, r, start, params, uri);
        } catch (IOException e) {
            result = LoadGenResult.failed(r, start, System.nanoTime(), "stream broke: " + describe(e, uri));
        } finally {
            deadline.cancel(false);
        }
        if (timedOut.get() && !result.ok()) {
            return LoadGenResult.failed(r, start, System.nanoTime(), "no data: [DONE] within the timeout of "
                    + timeout.toSeconds() + " s");
        }
        return result;
    }

    private LoadGenResult readBody(HttpResponse<InputStream> resp, InputStream in, LoadGenRequest r, long start,
            Params params, URI uri) throws IOException {
        if (resp.statusCode() != 200) {
            String text = new String(in.readNBytes(8192), StandardCharsets.UTF_8);
            return LoadGenResult.failed(r, start, System.nanoTime(), httpError(resp.statusCode(), text));
        }
        String type = resp.headers().firstValue("Content-Type").orElse("(none)");
        if (!type.toLowerCase(Locale.ROOT).startsWith("text/event-stream")) {
            String text = new String(in.readNBytes(8192), StandardCharsets.UTF_8);
            return LoadGenResult.failed(r, start, System.nanoTime(), "answered Content-Type " + type
                    + " instead of text/event-stream to stream: true: " + snippet(text));
        }
        return checked(readStream(r, start, new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))),
                params.ignoreEos());
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException e) {
            // the reader sees the stream end either way
        }
    }

    /** Reads OpenAI completion chunks until {@code data: [DONE]}; package-private for the parser tests. */
    static LoadGenResult readStream(LoadGenRequest r, long start, BufferedReader reader) throws IOException {
        LoadGenSse sse = new LoadGenSse();
        List<Long> tokenNs = new ArrayList<>();
        int usageCompletion = -1;
        int usagePrompt = -1;
        String finish = null;
        int chunks = 0;
        for (;;) {
            String line = reader.readLine();
            LoadGenSse.Event ev = line == null ? sse.finish() : sse.feed(line);
            long now = System.nanoTime();
            if (ev != null) {
                String data = ev.data().strip();
                if (data.equals("[DONE]")) {
                    return new LoadGenResult(r, start, toArray(tokenNs), now,
                            usageCompletion >= 0 ? usageCompletion : tokenNs.size(), usageCompletion >= 0,
                            usagePrompt, finish, null);
                }
                chunks++;
                JsonNode chunk;
                try {
                    chunk = JSON.readTree(data);
                } catch (IOException e) {
                    return LoadGenResult.failed(r, start, now, "event " + chunks + " is not JSON: " + snippet(data));
                }
                if (chunk.has("error")) {
                    return LoadGenResult.failed(r, start, now, "error event: " + errorMessage(chunk, data));
                }
                JsonNode choices = chunk.get("choices");
                JsonNode usage = chunk.get("usage");
                if ((choices == null || !choices.isArray()) && (usage == null || !usage.isObject())) {
                    return LoadGenResult.failed(r, start, now, "event " + chunks
                            + " is not an OpenAI completion chunk (no choices, no usage): " + snippet(data));
                }
                if (choices != null && choices.isArray()) {
                    boolean text = false;
                    for (JsonNode c : choices) {
                        // completions stream "text"; chat streams "delta.content": either counts
                        String t = c.has("text") ? c.path("text").asText("") : c.path("delta").path("content").asText("");
                        text |= !t.isEmpty();
                        if (c.hasNonNull("finish_reason")) {
                            finish = c.get("finish_reason").asText();
                        }
                    }
                    if (text) {
                        tokenNs.add(now);
                    }
                }
                if (usage != null && usage.isObject()) {
                    usageCompletion = usage.path("completion_tokens").asInt(-1);
                    usagePrompt = usage.path("prompt_tokens").asInt(-1);
                }
            }
            if (line == null) {
                return LoadGenResult.failed(r, start, now, "stream ended after " + chunks
                        + " events without data: [DONE]");
            }
        }
    }

    /**
     * Turns a result that worked into a failure when its counts contradict the request: more tokens than
     * {@code max_tokens}, more text chunks than the usage's tokens, or with {@code ignore_eos} not exactly
     * {@code max_tokens}. A benchmark that trusted such counts would report throughput the server did not deliver.
     */
    static LoadGenResult checked(LoadGenResult r, boolean ignoreEos) {
        if (!r.ok()) {
            return r;
        }
        int max = r.request().maxTokens();
        String wrong = null;
        if (r.outputTokens() > max) {
            wrong = "returned " + r.outputTokens() + " tokens for max_tokens " + max;
        } else if (r.usageReported() && r.tokenNs().length > r.outputTokens()) {
            wrong = "streamed " + r.tokenNs().length + " chunks with text but usage.completion_tokens is "
                    + r.outputTokens();
        } else if (ignoreEos && r.outputTokens() != max) {
            wrong = "returned " + r.outputTokens() + " tokens with ignore_eos for max_tokens " + max
                    + " (finish_reason " + r.finishReason() + ")";
        }
        return wrong == null ? r : new LoadGenResult(r.request(), r.startNs(), r.tokenNs(), r.endNs(),
                r.outputTokens(), r.usageReported(), r.promptTokens(), r.finishReason(), wrong);
    }

    private static long[] toArray(List<Long> xs) {
        long[] a = new long[xs.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = xs.get(i);
        }
        return a;
    }

    private HttpRequest.Builder authorized(HttpRequest.Builder b) {
        return apiKey == null ? b : b.header("Authorization", "Bearer " + apiKey);
    }

    /** {@code HTTP 400: message}, taking OpenAI's {@code {"error":{"message":...}}} when the body is one. */
    static String httpError(int status, String body) {
        try {
            JsonNode n = JSON.readTree(body);
            if (n != null && n.has("error")) {
                return "HTTP " + status + ": " + errorMessage(n, body);
            }
        } catch (IOException e) {
            // not JSON: the raw body below
        }
        return "HTTP " + status + ": " + (body.isBlank() ? "(empty body)" : snippet(body));
    }

    private static String errorMessage(JsonNode n, String raw) {
        JsonNode e = n.get("error");
        if (e.isTextual()) {
            return e.asText();
        }
        if (e.path("message").isTextual()) {
            return e.get("message").asText();
        }
        return snippet(raw);
    }

    static String describe(IOException e, URI uri) {
        if (e instanceof ConnectException) {
            return "cannot connect to " + uri.getScheme() + "://" + uri.getRawAuthority()
                    + " (connection refused: is the server running there?)";
        }
        if (e instanceof HttpTimeoutException) {
            return "no answer from " + uri + " within the timeout";
        }
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    /** The first characters of a body on one line, for messages. */
    static String snippet(String s) {
        String one = s.strip().replaceAll("\\s+", " ");
        return one.length() <= ERROR_BODY_CHARS ? one : one.substring(0, ERROR_BODY_CHARS) + "...";
    }

    @Override
    public void close() {
        http.close();
        deadlines.shutdownNow();
        executor.close();
    }
}
