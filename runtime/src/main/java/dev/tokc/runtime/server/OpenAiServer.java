package dev.tokc.runtime.server;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokc.runtime.sched.GenerationEvent;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.ServerConnectionException;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The OpenAI-compatible HTTP front of a {@link ServingModel}.
 *
 * <pre>
 *   POST /v1/completions        POST /v1/chat/completions     (stream: true -> server-sent events, data: [DONE])
 *   GET  /v1/models[/ID]        GET  /health                  GET /metrics (Prometheus text)
 * </pre>
 *
 * Every refusal is an OpenAI error object ({@link ApiError}) with its status: 400 malformed JSON, wrong types,
 * values out of range, prompt or prompt + max_tokens past the context; 404 unknown model or path; 405 wrong method;
 * 413 body over {@code maxBodyBytes}; 401 missing or wrong API key (on {@code /v1/*} when a key is set); 429 with
 * {@code Retry-After} when more sequences are in flight than {@code maxNumSeqs + maxWaitingRequests}; 503 while
 * shutting down; 504 past {@code requestTimeout} (the request is cancelled); 500 when generation itself failed. No exception leaves a handler, and every handler cancels its
 * request's sequences on the way out, whatever the reason (client gone mid-stream, error), so their KV blocks are
 * free within the loop's current step.
 *
 * <p>Each request runs on its own virtual thread (Helidon), blocking on its {@link GenerationJob}'s events while
 * the {@link dev.tokc.runtime.sched.GenerationLoop} thread steps all requests together. A stream that has had no
 * event for {@link #KEEP_ALIVE_MILLIS} gets an SSE comment, so a client that left while its request waited in the
 * queue is noticed too.
 */
public final class OpenAiServer implements AutoCloseable {
    static final long KEEP_ALIVE_MILLIS = 500;
    private static final Logger HELIDON_LOG = Logger.getLogger("io.helidon");
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] KEEP_ALIVE = ": keep-alive\n\n".getBytes(StandardCharsets.US_ASCII);

    private final ServingModel model;
    private final ServeOptions options;
    private final RequestParser parser;
    private final ServerMetrics metrics;
    private final Consumer<String> log;
    private final ScheduledExecutorService sampler;
    private final AtomicInteger inflightSeqs = new AtomicInteger();
    private final AtomicInteger activeHandlers = new AtomicInteger();
    private final AtomicBoolean stopped = new AtomicBoolean();
    private volatile boolean draining;
    private WebServer web;

    private OpenAiServer(ServingModel model, ServeOptions options, Consumer<String> log) {
        this.model = model;
        this.options = options;
        this.parser = new RequestParser(model);
        this.metrics = new ServerMetrics(model.loop(), System::nanoTime);
        this.log = log;
        this.sampler = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon()
                .name("tokc-metrics-sampler").unstarted(r));
    }

    /**
     * Serves {@code model} on {@code options.host():options.port()}; takes ownership of the model (closed by
     * {@link #shutdown()}).
     *
     * @throws ServeException when the address cannot be bound
     */
    public static OpenAiServer start(ServingModel model, ServeOptions options, Consumer<String> log) {
        OpenAiServer s = new OpenAiServer(model, options, log);
        String where = options.host() + ":" + options.port();
        // Helidon reports a failed bind as a logged stack trace and a server that is not running; bind once
        // ourselves first so the user gets the reason in one line.
        if (options.port() != 0) {
            try (ServerSocket probe = new ServerSocket()) {
                probe.setReuseAddress(true);
                probe.bind(new InetSocketAddress(options.host(), options.port()));
            } catch (IOException | RuntimeException e) {
                model.close();
                throw new ServeException("cannot listen on " + where + ": " + e.getMessage());
            }
        }
        HELIDON_LOG.setLevel(Level.OFF);   // its banner and start-up failures are reported here, in one line
        try {
            s.web = WebServer.builder()
                    .host(options.host())
                    .port(options.port())
                    .shutdownHook(false)   // shutdown is ours: drain the loop first
                    // SSE sends one small write per token: with Nagle on, a reused connection holds the second
                    // event until the client's delayed ACK (~40 ms), then tokens arrive in bursts.
                    .connectionOptions(o -> o.tcpNoDelay(true))
                    .routing(r -> r.any(s::handle))
                    .build()
                    .start();
        } catch (RuntimeException e) {
            model.close();
            throw new ServeException("cannot listen on " + where + ": " + e.getMessage(), e);
        } finally {
            HELIDON_LOG.setLevel(Level.WARNING);
        }
        if (!s.web.isRunning()) {
            model.close();
            throw new ServeException("cannot listen on " + where + " (the web server did not start)");
        }
        s.sampler.scheduleAtFixedRate(s.metrics::sample, 0, 1, TimeUnit.SECONDS);
        return s;
    }

    /** The bound port (the chosen one when {@code port} was 0). */
    public int port() {
        return web.port();
    }

    /** {@code http://host:port}. */
    public String url() {
        String h = options.host().contains(":") ? "[" + options.host() + "]" : options.host();
        return "http://" + h + ":" + port();
    }

    public ServingModel model() {
        return model;
    }

    /**
     * Graceful shutdown: new requests get 503 from now on, in-flight ones have {@code shutdownGrace} to finish,
     * then are cancelled (their streams end with an error event); then the listener closes and the engine is freed.
     * Idempotent.
     */
    public void shutdown() {
        if (!stopped.compareAndSet(false, true)) {
            return;
        }
        draining = true;
        try {
            model.shutdown(options.shutdownGrace());
            // Handlers still writing their last chunks (cancelled streams) get a moment to finish.
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (activeHandlers.get() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            sampler.shutdownNow();
            if (web != null) {
                web.stop();
            }
        }
    }

    @Override
    public void close() {
        shutdown();
    }

    // ---- routing ---------------------------------------------------------------------------------------------

    private void handle(ServerRequest req, ServerResponse res) {
        activeHandlers.incrementAndGet();
        try {
            route(req, res);
        } catch (ApiError e) {
            sendError(res, e);
        } catch (Throwable t) {
            log.accept("internal error on " + req.prologue().method().text() + " " + req.path().path() + ": " + t);
            sendError(res, new ApiError(500, "server_error", "internal server error: " + t.getClass().getSimpleName()
                    + (t.getMessage() == null ? "" : ": " + t.getMessage()), null, null));
        } finally {
            activeHandlers.decrementAndGet();
        }
    }

    private void route(ServerRequest req, ServerResponse res) throws IOException, InterruptedException {
        String path = req.path().path();
        String method = req.prologue().method().text();
        if (path.length() > 1 && path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        switch (path) {
            case "/health" -> {
                requireMethod(method, "GET");
                if (draining) {
                    throw new ApiError(503, "server_error", "the server is shutting down", null, "server_shutting_down");
                }
                ObjectNode ok = JsonNodeFactory.instance.objectNode().put("status", "ok");
                sendJson(res, 200, ok);
            }
            case "/metrics" -> {
                requireMethod(method, "GET");
                byte[] body = metrics.scrape();
                metrics.countResponse(200);
                res.status(200);
                res.header(HeaderNames.CONTENT_TYPE, metrics.contentType());
                res.send(body);
            }
            case "/v1/models" -> {
                requireMethod(method, "GET");
                authorize(req);
                sendJson(res, 200, models());
            }
            case String p when p.startsWith("/v1/models/") -> {
                requireMethod(method, "GET");
                authorize(req);
                String id = java.net.URLDecoder.decode(p.substring("/v1/models/".length()), StandardCharsets.UTF_8);
                if (!id.equals(model.name())) {
                    throw new ApiError(404, "invalid_request_error", "The model '" + id + "' does not exist; this "
                            + "server serves '" + model.name() + "'", "model", "model_not_found");
                }
                sendJson(res, 200, (ObjectNode) models().get("data").get(0));
            }
            case "/v1/completions", "/v1/chat/completions" -> {
                requireMethod(method, "POST");
                authorize(req);
                if (draining) {
                    throw new ApiError(503, "server_error", "the server is shutting down", null, "server_shutting_down");
                }
                JsonNode body = readBody(req);
                boolean chat = path.equals("/v1/chat/completions");
                ParsedRequest p = chat ? parser.chat(body) : parser.completions(body);
                generate(p, res);
            }
            default -> throw new ApiError(404, "invalid_request_error", "no route " + method + " " + path
                    + " (this server has POST /v1/completions, POST /v1/chat/completions, GET /v1/models, GET /health, "
                    + "GET /metrics)", null, "not_found");
        }
    }

    private static void requireMethod(String method, String allowed) {
        if (!method.equals(allowed)) {
            throw new ApiError(405, "invalid_request_error", "method " + method + " is not allowed here; use " + allowed,
                    null, "method_not_allowed");
        }
    }

    private void authorize(ServerRequest req) {
        if (options.apiKey().isEmpty()) {
            return;
        }
        String got = req.headers().first(HeaderNames.AUTHORIZATION).orElse("");
        if (got.isEmpty()) {
            throw new ApiError(401, "invalid_request_error", "missing API key: send 'Authorization: Bearer KEY'",
                    null, "invalid_api_key");
        }
        String key = got.regionMatches(true, 0, "Bearer ", 0, 7) ? got.substring(7).trim() : "";
        // Constant-time comparison: the time taken says nothing about how much of the key matched.
        if (!MessageDigest.isEqual(key.getBytes(StandardCharsets.UTF_8),
                options.apiKey().get().getBytes(StandardCharsets.UTF_8))) {
            throw new ApiError(401, "invalid_request_error", "incorrect API key", null, "invalid_api_key");
        }
    }

    private JsonNode readBody(ServerRequest req) throws IOException {
        long max = options.maxBodyBytes();
        OptionalLong declared = req.headers().contentLength();
        if (declared.isPresent() && declared.getAsLong() > max) {
            throw tooLarge(declared.getAsLong() + " bytes");
        }
        byte[] data;
        try (InputStream in = req.content().inputStream()) {
            data = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
        }
        if (data.length > max) {
            throw tooLarge("more than " + max + " bytes");
        }
        if (data.length == 0) {
            throw ApiError.badRequest("the request body is empty; expected a JSON object", null);
        }
        try {
            return JSON.readTree(data);
        } catch (JacksonException e) {
            throw ApiError.badRequest("malformed JSON in the request body: " + e.getOriginalMessage(), null);
        }
    }

    private ApiError tooLarge(String size) {
        return new ApiError(413, "invalid_request_error", "the request body (" + size + ") exceeds the limit of "
                + options.maxBodyBytes() + " bytes", null, "request_too_large");
    }

    private ObjectNode models() {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        ObjectNode m = data.addObject();
        m.put("id", model.name());
        m.put("object", "model");
        m.put("created", model.created());
        m.put("owned_by", "tokc");
        m.put("max_model_len", model.maxModelLen());
        return root;
    }

    // ---- generation ------------------------------------------------------------------------------------------

    private void generate(ParsedRequest p, ServerResponse res) throws IOException, InterruptedException {
        int seqs = p.numChoices();
        int limit = options.maxNumSeqs() + options.maxWaitingRequests();
        if (seqs > limit) {   // could never be admitted: retrying is pointless, so not a 429
            throw ApiError.badRequest("the request asks for " + seqs + " sequences (prompts x n); this server holds "
                    + "at most " + limit + " in flight", "n");
        }
        if (inflightSeqs.addAndGet(seqs) > limit) {
            inflightSeqs.addAndGet(-seqs);
            throw new ApiError(429, "rate_limit_error", "the server is at capacity (" + limit
                    + " sequences in flight or queued); retry later", null, "rate_limit_exceeded");
        }
        try (GenerationJob job = new GenerationJob(model, p)) {
            String id = (p.chat() ? "chatcmpl-" : "cmpl-") + HexFormat.of().formatHex(randomBytes());
            ChoiceWriter w = new ChoiceWriter(p.chat(), id, model.name(), System.currentTimeMillis() / 1000,
                    model.tokenizer());
            List<ChoiceWriter.Choice> choices = new ArrayList<>();
            for (int i = 0; i < job.size(); i++) {
                choices.add(new ChoiceWriter.Choice(i));
                if (p.echo()) {
                    choices.get(i).text.append(p.prompts().get(i / p.n()).text());
                }
            }
            int promptTokens = p.prompts().stream().mapToInt(pr -> pr.ids().length).sum();
            long deadline = options.requestTimeout().isZero() ? Long.MAX_VALUE
                    : System.nanoTime() + options.requestTimeout().toNanos();
            if (p.stream()) {
                stream(p, job, w, choices, promptTokens, deadline, res);
            } else {
                ApiError failure = null;
                while (!job.done()) {
                    if (System.nanoTime() > deadline) {
                        throw timeout();
                    }
                    GenerationJob.Tagged t = job.poll(KEEP_ALIVE_MILLIS);
                    if (t != null) {
                        ApiError e = apply(w, choices.get(t.index()), t.event());
                        failure = failure == null ? e : failure;
                    }
                }
                if (failure != null) {
                    throw failure;
                }
                sendJson(res, 200, w.response(choices, p.logprobs(), promptTokens));
            }
        } finally {
            inflightSeqs.addAndGet(-seqs);
        }
    }

    /** Applies one event to its choice; returns the error it carries, if it ended the choice badly. */
    private ApiError apply(ChoiceWriter w, ChoiceWriter.Choice c, GenerationEvent e) {
        switch (e) {
            case GenerationEvent.Token t -> {
                w.addLogprobs(c, t, c.text.length());
                c.text.append(t.text());
                return null;
            }
            case GenerationEvent.Finished f -> {
                c.completionTokens = f.completionTokens();
                if (f.reason().isPresent()) {
                    c.finishReason = f.reason().get().openAiName();
                    return null;
                }
                if (f.error().isPresent()) {
                    log.accept("generation failed: " + f.error().get());
                    return new ApiError(500, "server_error", "generation failed: " + f.error().get(), null, null);
                }
                return new ApiError(503, "server_error", "the request was cancelled: the server is shutting down",
                        null, "server_shutting_down");
            }
        }
    }

    private ApiError timeout() {
        return new ApiError(504, "server_error", "the request did not finish within the server's request timeout of "
                + options.requestTimeout().toMillis() + " ms and was cancelled", null, "timeout");
    }

    private void stream(ParsedRequest p, GenerationJob job, ChoiceWriter w, List<ChoiceWriter.Choice> choices,
                        int promptTokens, long deadline, ServerResponse res) throws InterruptedException {
        metrics.countResponse(200);
        res.status(200);
        res.header(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        try (OutputStream out = res.outputStream()) {
            for (ChoiceWriter.Choice c : choices) {
                if (p.chat()) {
                    event(out, w.roleChunk(c.index));
                }
                if (p.echo()) {
                    event(out, w.chunk(c.index, c.text.toString(), null, null));
                }
            }
            out.flush();
            boolean failed = false;
            while (!job.done()) {
                if (System.nanoTime() > deadline) {
                    event(out, timeout().toJson());
                    failed = true;
                    break;   // the caller's try-with-resources cancels what is still running
                }
                GenerationJob.Tagged t = job.poll(KEEP_ALIVE_MILLIS);
                if (t == null) {
                    out.write(KEEP_ALIVE);   // fails once the client is gone: the finally below cancels the job
                    out.flush();
                    continue;
                }
                ChoiceWriter.Choice c = choices.get(t.index());
                switch (t.event()) {
                    case GenerationEvent.Token tok -> {
                        var lp = w.addLogprobs(c, tok, c.text.length());
                        c.text.append(tok.text());
                        if (!tok.text().isEmpty() || lp != null) {
                            event(out, w.chunk(c.index, tok.text(), lp, null));
                        }
                    }
                    case GenerationEvent.Finished f -> {
                        ApiError e = apply(w, c, f);
                        if (e != null) {
                            event(out, e.toJson());
                            failed = true;
                        } else {
                            event(out, w.chunk(c.index, "", null, c.finishReason));
                        }
                    }
                }
                out.flush();
            }
            if (p.includeUsage() && !failed) {
                event(out, w.usageChunk(promptTokens, choices.stream().mapToInt(c -> c.completionTokens).sum()));
            }
            out.write(DONE);
        } catch (IOException | UncheckedIOException | ServerConnectionException e) {
            // The client went away mid-stream; the caller's try-with-resources cancels the job.
        }
    }

    private static void event(OutputStream out, ObjectNode json) throws IOException {
        out.write("data: ".getBytes(StandardCharsets.US_ASCII));
        out.write(JSON.writeValueAsBytes(json));
        out.write('\n');
        out.write('\n');
    }

    private void sendJson(ServerResponse res, int status, ObjectNode body) throws IOException {
        metrics.countResponse(status);
        res.status(status);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(JSON.writeValueAsBytes(body));
    }

    private void sendError(ServerResponse res, ApiError e) {
        if (res.isSent()) {
            return;   // mid-stream: nothing more can be said
        }
        try {
            if (e.status() == 429) {
                res.header(HeaderNames.RETRY_AFTER, "1");
            }
            sendJson(res, e.status(), e.toJson());
        } catch (IOException | RuntimeException io) {
            // the client is gone
        }
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[12];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }
}
