package dev.tokc.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code tokc bench --server URL}: loads a running OpenAI-compatible server (ours or any other) with streamed
 * completions and reports, per concurrency level, request and output-token throughput and the TTFT, inter-token and
 * end-to-end latency distributions; optionally as JSON and as a chart.
 *
 * <p>Two load models. Closed loop (default): C clients each send their next request as soon as the previous one
 * finished, so the server always has C requests in flight. Open loop ({@code --request-rate R}): requests arrive as a
 * Poisson process of rate R regardless of how fast the server answers, at most C in flight (a client pool of C).
 *
 * <p>Every level sends the same request mix: lengths and prompt contents come from {@code --seed}, so two runs
 * against two servers (say continuous and static batching) see identical requests.
 */
final class ServerBench {
    private ServerBench() {}

    private static final String DEFAULT_CONCURRENCY = "1,4,16,64";
    /** Probe and warm-up requests are short: they check the protocol and warm the JIT, not measure. */
    private static final int PROBE_PROMPT = 16;
    private static final int PROBE_GEN = 4;
    /** Words in the text-calibration probe: enough that one odd word does not skew tokens per word much. */
    private static final int CALIBRATION_WORDS = 64;

    /** Declares the server benchmark's flags (names must not clash with {@link EngineBench}'s). */
    static void addOptions(Options o) {
        o.addOption(opt("concurrency", "LIST", "server mode: concurrency levels, comma-separated (default "
                + DEFAULT_CONCURRENCY + "); with --request-rate, the cap on requests in flight"));
        o.addOption(opt("request-rate", "R", "server mode: open loop, Poisson arrivals at R requests/s "
                + "(default: closed loop, each client sends back to back)"));
        o.addOption(opt("num-requests", "N", "server mode: requests per level (default max(16, 4 x concurrency))"));
        o.addOption(opt("warmup", "N", "server mode: requests sent before measuring (default 2)"));
        o.addOption(opt("model", "NAME", "server mode: model field of the requests (default: first of GET /v1/models)"));
        o.addOption(opt("api-key", "KEY", "server mode: sent as Authorization: Bearer KEY"));
        o.addOption(opt("seed", "S", "server mode: seed of request lengths, prompts and arrivals (default 0)"));
        o.addOption(opt("temperature", "T", "server mode: sampling temperature of the requests (default 0, greedy)"));
        o.addOption(opt("length-dist", "uniform|log-uniform", "server mode: how MIN:MAX lengths are drawn (default "
                + "uniform; log-uniform: many short requests, a long tail)"));
        o.addOption(Option.builder().longOpt("ignore-eos").desc("server mode: ask for exactly --gen-len tokens per "
                + "request (ignore_eos: true, a vLLM extension that tokc serve takes)").build());
        o.addOption(Option.builder().longOpt("no-keep-alive").desc("server mode: a fresh connection per request "
                + "(default: connections are reused, as real clients do)").build());
        o.addOption(opt("prompt-format", "auto|ids|text", "server mode: send prompts as token-id arrays or as random"
                + " words (default auto: ids if the server takes them)"));
        o.addOption(opt("token-range", "LO:HI", "server mode: prompt token ids are drawn from [LO, HI) (default "
                + "100:1000, inside any vocabulary of 1000 or more and above the usual special/byte tokens)"));
        o.addOption(opt("timeout", "SECONDS", "server mode: give up on a request not finished after this long, "
                + "stream included (default 600)"));
        o.addOption(opt("server-pid", "PID", "server mode: the server's process id on this machine: its CPU time per"
                + " level is reported (how many cores it got)"));
        o.addOption(opt("json", "FILE", "server mode: also write the results as JSON"));
        o.addOption(opt("plot", "FILE.png", "server mode: draw throughput and latency against concurrency"));
        o.addOption(opt("label", "NAME", "server mode: this run's name in --json and --plot (default 'run')"));
        o.addOption(opt("compare", "FILES", "server mode: comma-separated --json files of earlier runs to draw "
                + "beside this one in --plot"));
    }

    private static Option opt(String name, String arg, String desc) {
        return Option.builder().longOpt(name).hasArg().argName(arg).desc(desc).build();
    }

    /** Everything the command line asked for, checked before any request is sent. */
    record Config(String server, int[] levels, double requestRate, Integer numRequests, int warmup, String model,
            String apiKey, long seed, double temperature, boolean ignoreEos, boolean keepAlive, String promptFormat,
            int tokenLo, int tokenHi, Duration timeout, ProcessHandle serverProcess, LoadGenLength promptLen,
            LoadGenLength genLen, LoadGenLength.Dist lengthDist, Path json, Path plot, String label,
            List<Path> compare) {

        int requestsAt(int concurrency) {
            return numRequests != null ? numRequests : Math.max(16, 4 * concurrency);
        }

        boolean openLoop() {
            return requestRate > 0;
        }

        String mode() {
            return openLoop() ? "open loop, Poisson " + requestRate + " req/s" : "closed loop";
        }
    }

    static Config config(String server, CommandLine cmd) {
        LoadGenClient.baseUri(server);
        long[] lv = Args.longList("concurrency", cmd.getOptionValue("concurrency", DEFAULT_CONCURRENCY));
        int[] levels = new int[lv.length];
        for (int i = 0; i < lv.length; i++) {
            if (lv[i] < 1 || lv[i] > 100_000) {
                throw new UsageError("--concurrency levels must be between 1 and 100000, got " + lv[i]);
            }
            levels[i] = (int) lv[i];
        }
        double rate = doubleValue(cmd, "request-rate", 0);
        if (cmd.hasOption("request-rate") && !(rate > 0 && Double.isFinite(rate))) {
            throw new UsageError("--request-rate must be a positive number of requests per second, got '"
                    + cmd.getOptionValue("request-rate") + "'");
        }
        Integer n = cmd.hasOption("num-requests") ? Args.intValue(cmd, "num-requests", 0, 1, 10_000_000) : null;
        int warmup = Args.intValue(cmd, "warmup", 2, 0, 10_000);
        long seed;
        try {
            seed = Long.parseLong(cmd.getOptionValue("seed", "0").strip());
        } catch (NumberFormatException e) {
            throw new UsageError("--seed expects an integer, got '" + cmd.getOptionValue("seed") + "'");
        }
        double temperature = doubleValue(cmd, "temperature", 0);
        if (temperature < 0 || !Double.isFinite(temperature)) {
            throw new UsageError("--temperature must be >= 0, got '" + cmd.getOptionValue("temperature") + "'");
        }
        String format = cmd.getOptionValue("prompt-format", "auto");
        if (!List.of("auto", "ids", "text").contains(format)) {
            throw new UsageError("--prompt-format expects auto, ids or text, got '" + format + "'");
        }
        LoadGenLength range = LoadGenLength.parse("token-range", cmd.getOptionValue("token-range", "100:1000"));
        if (range.max() - range.min() < 1) {
            throw new UsageError("--token-range LO:HI needs LO < HI, got '" + cmd.getOptionValue("token-range") + "'");
        }
        int timeoutS = Args.intValue(cmd, "timeout", 600, 1, 86_400);
        ProcessHandle watched = null;
        if (cmd.hasOption("server-pid")) {
            String v = cmd.getOptionValue("server-pid").strip();
            try {
                watched = ProcessHandle.of(Long.parseLong(v)).orElse(null);
            } catch (NumberFormatException e) {
                throw new UsageError("--server-pid expects a process id, got '" + v + "'");
            }
            if (watched == null || watched.info().totalCpuDuration().isEmpty()) {
                throw new UsageError("--server-pid " + v + ": no process of that id whose CPU time can be read here");
            }
        }
        Path json = cmd.hasOption("json") ? Path.of(cmd.getOptionValue("json")) : null;
        Path plot = cmd.hasOption("plot") ? Path.of(cmd.getOptionValue("plot")) : null;
        if (plot != null && !plot.getFileName().toString().toLowerCase().endsWith(".png")) {
            throw new UsageError("--plot writes a PNG: give a file name ending in .png, got '" + plot + "'");
        }
        List<Path> compare = new ArrayList<>();
        if (cmd.hasOption("compare")) {
            if (plot == null) {
                throw new UsageError("--compare only adds runs to a chart: give --plot FILE.png too");
            }
            for (String f : cmd.getOptionValue("compare").split(",")) {
                if (!f.isBlank()) {
                    compare.add(Path.of(f.strip()));
                }
            }
        }
        return new Config(server, levels, rate, n, warmup, cmd.getOptionValue("model"), cmd.getOptionValue("api-key"),
                seed, temperature, cmd.hasOption("ignore-eos"), !cmd.hasOption("no-keep-alive"), format, range.min(),
                range.max(), Duration.ofSeconds(timeoutS), watched,
                LoadGenLength.parse("prompt-len", cmd.getOptionValue("prompt-len", "128")),
                LoadGenLength.parse("gen-len", cmd.getOptionValue("gen-len", "128")),
                LoadGenLength.Dist.parse(cmd.getOptionValue("length-dist", "uniform")), json, plot,
                cmd.getOptionValue("label", "run"), compare);
    }

    private static double doubleValue(CommandLine cmd, String flag, double dflt) {
        String v = cmd.getOptionValue(flag);
        if (v == null) {
            return dflt;
        }
        try {
            return Double.parseDouble(v.strip());
        } catch (NumberFormatException e) {
            throw new UsageError("--" + flag + " expects a number, got '" + v + "'");
        }
    }

    static int run(String url, CommandLine cmd, Io io) throws Exception {
        Config c = config(url, cmd);
        // Earlier runs are read first, so a bad --compare file fails before minutes of load.
        List<ServerBenchRun> earlier = new ArrayList<>();
        for (Path p : c.compare()) {
            earlier.add(readRun(p));
        }
        ServerBenchRun result = measure(c, io);
        printTable(result, io);
        if (c.json() != null) {
            writeJson(result, c.json());
            io.err().println("wrote " + c.json());
        }
        if (c.plot() != null) {
            List<ServerBenchRun> runs = new ArrayList<>(earlier);
            runs.add(result);
            ServerBenchPlot.write(c.plot(), runs);
            io.err().println("wrote " + c.plot());
        }
        int failed = result.levels().stream().mapToInt(ServerBenchLevel::failures).sum();
        if (failed > 0) {
            // The figures stand, but a script must not mistake a partly failing server for a healthy one.
            io.err().println("tokc bench: " + failed + " requests failed (see the table); exit code 1");
            return 1;
        }
        return 0;
    }

    /** Probes the server, warms it up, and runs every level. */
    static ServerBenchRun measure(Config c, Io io) throws InterruptedException {
        try (LoadGenClient client = new LoadGenClient(c.server(), c.apiKey(), c.timeout(), c.keepAlive())) {
            String model = c.model() != null ? c.model() : client.firstModel();
            LoadGenClient.Params params = new LoadGenClient.Params(model, c.temperature(), c.ignoreEos());
            Probe probe = probe(client, params, c, io);
            io.err().println("server " + client.endpoint("v1/completions") + ", model " + model + ", " + probe.shape()
                    + (probe.shape().tokenIds() ? "" : String.format(", %.2f tokens per word", probe.tokensPerWord())));
            Random warm = new Random(c.seed() ^ 0x5DEECE66DL);
            for (int i = 0; i < c.warmup(); i++) {
                LoadGenResult r = client.complete(params, request(warm, c, probe), probe.shape());
                if (!r.ok()) {
                    throw new UserError("warm-up request " + (i + 1) + " to " + client.endpoint("v1/completions")
                            + " failed: " + r.error());
                }
            }
            String loadBefore = loadAverage();
            String started = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
            List<ServerBenchLevel> levels = new ArrayList<>();
            for (int conc : c.levels()) {
                int n = c.requestsAt(conc);
                io.err().printf("concurrency %d: %d requests (%s)...%n", conc, n, c.mode());
                List<LoadGenRequest> reqs = requests(c, probe, n);
                double cpu0 = cpuSeconds(c.serverProcess());
                long t0 = System.nanoTime();
                List<LoadGenResult> results = c.openLoop()
                        ? openLoop(reqs, conc, c.requestRate(), c.seed(),
                                r -> client.complete(params, r, probe.shape()))
                        : closedLoop(reqs, conc, r -> client.complete(params, r, probe.shape()));
                long t1 = results.stream().mapToLong(LoadGenResult::endNs).max().orElse(System.nanoTime());
                ServerBenchLevel level = ServerBenchLevel.summarize(conc, results, t0, t1,
                        cpuSeconds(c.serverProcess()) - cpu0);
                levels.add(level);
                io.err().printf("  %.1f s, %d failed%n", level.durationS(), level.failures());
            }
            String shape = probe.shape() + (c.ignoreEos() ? ", ignore_eos" : "")
                    + (c.keepAlive() ? "" : ", no keep-alive") + ", temperature " + c.temperature();
            String dist = c.lengthDist() == LoadGenLength.Dist.UNIFORM ? "" : " " + c.lengthDist().flag;
            return new ServerBenchRun(c.label(), c.server(), model, c.mode(), c.promptLen() + dist,
                    c.genLen() + dist, c.seed(), shape, started, loadBefore, loadAverage(), levels);
        }
    }

    /** The request shape the server takes, and for text prompts how many tokens a word costs there. */
    record Probe(LoadGenClient.Shape shape, double tokensPerWord) {}

    /**
     * Finds a request shape the server accepts: token-id prompts are preferred (exact lengths), text is the fallback;
     * {@code stream_options.include_usage} is preferred (exact token counts), leaving it out the fallback.
     */
    static Probe probe(LoadGenClient client, LoadGenClient.Params params, Config c, Io io)
            throws InterruptedException {
        List<LoadGenClient.Shape> shapes = new ArrayList<>();
        for (boolean usage : new boolean[] {true, false}) {
            if (!c.promptFormat().equals("text")) {
                shapes.add(new LoadGenClient.Shape(true, usage));
            }
            if (!c.promptFormat().equals("ids")) {
                shapes.add(new LoadGenClient.Shape(false, usage));
            }
        }
        Random rnd = new Random(c.seed());
        String firstError = null;
        for (LoadGenClient.Shape shape : shapes) {
            LoadGenRequest r = shape.tokenIds()
                    ? new LoadGenRequest(PROBE_PROMPT, PROBE_GEN,
                            LoadGenPrompts.randomIds(rnd, PROBE_PROMPT, c.tokenLo(), c.tokenHi()), null)
                    : new LoadGenRequest(CALIBRATION_WORDS, PROBE_GEN, null,
                            LoadGenPrompts.randomWords(rnd, CALIBRATION_WORDS));
            LoadGenResult res = client.complete(params, r, shape);
            if (res.ok()) {
                double perWord = 1.0;
                if (!shape.tokenIds()) {
                    if (res.promptTokens() > 0) {
                        perWord = res.promptTokens() / (double) CALIBRATION_WORDS;
                    } else {
                        io.err().println("warning: the server reports no usage.prompt_tokens; --prompt-len counts"
                                + " words, not tokens");
                    }
                }
                if (!res.usageReported()) {
                    io.err().println("warning: the server sends no usage in its stream; output tokens are counted as"
                            + " chunks with text");
                }
                return new Probe(shape, perWord);
            }
            // a server that is not there or hangs will not do better with another shape
            if (res.error().startsWith("cannot connect") || res.error().startsWith("no answer")
                    || res.error().startsWith("no data: [DONE] within the timeout")) {
                throw new UserError("POST " + client.endpoint("v1/completions") + ": " + res.error());
            }
            if (firstError == null) {
                firstError = res.error();
            }
        }
        throw new UserError("POST " + client.endpoint("v1/completions") + " refused every request shape tried ("
                + shapes.size() + "), the first with: " + firstError);
    }

    /** The level's requests: the same sequence for every level and every run with this seed. */
    static List<LoadGenRequest> requests(Config c, Probe probe, int n) {
        Random rnd = new Random(c.seed());
        List<LoadGenRequest> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(request(rnd, c, probe));
        }
        return out;
    }

    private static LoadGenRequest request(Random rnd, Config c, Probe probe) {
        int p = c.promptLen().sample(rnd, c.lengthDist());
        int g = c.genLen().sample(rnd, c.lengthDist());
        return probe.shape().tokenIds()
                ? new LoadGenRequest(p, g, LoadGenPrompts.randomIds(rnd, p, c.tokenLo(), c.tokenHi()), null)
                : new LoadGenRequest(p, g, null,
                        LoadGenPrompts.randomWords(rnd, LoadGenPrompts.wordsFor(p, probe.tokensPerWord())));
    }

    /** One request sent and timed; {@link LoadGenClient#complete} in the benchmark, a stand-in in tests. */
    interface Sender {
        LoadGenResult send(LoadGenRequest r) throws InterruptedException;
    }

    /** C clients, each sending the next unsent request as soon as its previous one finished. */
    static List<LoadGenResult> closedLoop(List<LoadGenRequest> reqs, int concurrency, Sender sender)
            throws InterruptedException {
        LoadGenResult[] out = new LoadGenResult[reqs.size()];
        AtomicInteger next = new AtomicInteger();
        List<Future<?>> clients = new ArrayList<>();
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int w = 0; w < Math.min(concurrency, reqs.size()); w++) {
                clients.add(ex.submit(() -> {
                    for (int i = next.getAndIncrement(); i < out.length; i = next.getAndIncrement()) {
                        out[i] = sender.send(reqs.get(i));
                    }
                    return null;
                }));
            }
        }
        rethrow(clients);
        return Arrays.asList(out);
    }

    /**
     * Requests arrive as a Poisson process of {@code rate} per second (exponential gaps, seeded); each starts at its
     * arrival unless {@code concurrency} are already in flight, then as soon as one finishes.
     */
    static List<LoadGenResult> openLoop(List<LoadGenRequest> reqs, int concurrency, double rate, long seed,
            Sender sender) throws InterruptedException {
        LoadGenResult[] out = new LoadGenResult[reqs.size()];
        Random arrivals = new Random(seed * 31 + 17);
        Semaphore inFlight = new Semaphore(concurrency);
        List<Future<?>> sent = new ArrayList<>();
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            long t0 = System.nanoTime();
            double at = 0;
            for (int i = 0; i < out.length; i++) {
                at += -Math.log(1 - arrivals.nextDouble()) / rate;
                long wait = t0 + (long) (at * 1e9) - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(Duration.ofNanos(wait));
                }
                inFlight.acquire();
                int k = i;
                sent.add(ex.submit(() -> {
                    try {
                        out[k] = sender.send(reqs.get(k));
                    } finally {
                        inFlight.release();
                    }
                    return null;
                }));
            }
        }
        rethrow(sent);
        return Arrays.asList(out);
    }

    private static void rethrow(List<Future<?>> fs) throws InterruptedException {
        for (Future<?> f : fs) {
            try {
                f.get();
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof InterruptedException ie) {
                    throw ie;
                }
                if (cause instanceof RuntimeException re) {
                    throw re;
                }
                throw new IllegalStateException(cause);
            }
        }
    }

    /** The process's CPU time so far, in seconds; NaN when there is none to watch or it cannot be read. */
    static double cpuSeconds(ProcessHandle p) {
        if (p == null) {
            return Double.NaN;
        }
        return p.info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(Double.NaN);
    }

    /** {@code /proc/loadavg}'s 1, 5 and 15 minute averages, or "unknown" off Linux. */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).strip().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    static void printTable(ServerBenchRun run, Io io) {
        var out = io.out();
        out.printf("tokc bench --server %s  model %s  %s  prompt-len %s  gen-len %s  seed %d%n", run.server(),
                run.model(), run.mode(), run.promptLen(), run.genLen(), run.seed());
        out.printf("load average before %s, after %s; %s%n", run.loadBefore(), run.loadAfter(), run.requestShape());
        boolean cpu = run.levels().stream().anyMatch(l -> Double.isFinite(l.serverCpuS()));
        out.printf("%5s %5s %5s %5s %8s %10s | %-23s | %-23s | %-23s%s%n", "conc", "reqs", "fail", "short", "req/s",
                "out tok/s", "TTFT ms p50/p90/p99", "ITL ms p50/p90/p99", "E2E ms p50/p90/p99",
                cpu ? " | server cores" : "");
        for (ServerBenchLevel l : run.levels()) {
            out.printf("%5d %5d %5d %5d %8.2f %10.1f | %-23s | %-23s | %-23s%s%n", l.concurrency(), l.requests(),
                    l.failures(), l.shortRequests(), l.requestsPerS(), l.outputTokensPerS(), triple(l.ttftMs()),
                    triple(l.itlMs()), triple(l.e2eMs()), cpu ? String.format(" | %12.2f", l.serverCores()) : "");
        }
        for (ServerBenchLevel l : run.levels()) {
            if (l.failures() > 0) {
                out.printf("concurrency %d: %d of %d requests failed, the first with: %s%n", l.concurrency(),
                        l.failures(), l.requests(), l.firstError());
            }
        }
    }

    private static String triple(LoadGenStats s) {
        return s.count() == 0 ? "-" : ms(s.p50()) + "/" + ms(s.p90()) + "/" + ms(s.p99());
    }

    /** Three significant-ish digits: 0.734, 12.3, 456. */
    private static String ms(double x) {
        return x < 10 ? String.format("%.2f", x) : x < 100 ? String.format("%.1f", x) : String.format("%.0f", x);
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    static void writeJson(ServerBenchRun run, Path file) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            JSON.writeValue(file.toFile(), run);
        } catch (IOException e) {
            throw new UserError("cannot write --json " + file + ": " + e.getMessage());
        }
    }

    static ServerBenchRun readRun(Path file) {
        try {
            ServerBenchRun run = JSON.readValue(file.toFile(), ServerBenchRun.class);
            if (run.levels() == null || run.label() == null) {
                throw new UserError("--compare " + file + " is not a tokc bench --server --json file (no label or levels)");
            }
            return run;
        } catch (IOException e) {
            throw new UserError("--compare " + file + " is not a readable tokc bench --server --json file: "
                    + LoadGenClient.snippet(String.valueOf(e.getMessage())));
        }
    }
}
