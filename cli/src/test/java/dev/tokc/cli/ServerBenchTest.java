package dev.tokc.cli;

import static dev.tokc.cli.CliErrorsTest.assertOneLineError;
import static dev.tokc.cli.CliErrorsTest.tokc;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.tokc.cli.CliErrorsTest.Result;
import dev.tokc.cli.ServerBenchFakeServer.Seen;
import java.awt.image.BufferedImage;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tokc bench --server} against {@link ServerBenchFakeServer}: counts match what the server sent, latencies
 * are computed from the right instants, the load model keeps its concurrency, and bad input fails clearly. Latency
 * checks are lower bounds set by the fake's sleeps (a token cannot arrive before it is sent), never speed claims.
 */
class ServerBenchTest {
    @TempDir
    Path tmp;

    private static final double MS = 1e6;

    /** A result whose chunks arrived at the given ms after time 0. */
    private static LoadGenResult result(double startMs, double endMs, int maxTokens, int outputTokens,
            double... tokenMs) {
        long[] ns = new long[tokenMs.length];
        for (int i = 0; i < ns.length; i++) {
            ns[i] = (long) (tokenMs[i] * MS);
        }
        return new LoadGenResult(new LoadGenRequest(4, maxTokens, new int[4], null), (long) (startMs * MS), ns,
                (long) (endMs * MS), outputTokens, true, 4, "length", null);
    }

    @Test
    void summaryFromKnownInstants() {
        List<LoadGenResult> rs = List.of(
                result(0, 16, 3, 3, 10, 12, 15),
                result(5, 30, 4, 2, 25, 30),
                LoadGenResult.failed(new LoadGenRequest(4, 4, new int[4], null), 6, 7, "boom"),
                LoadGenResult.failed(new LoadGenRequest(4, 4, new int[4], null), 8, 9, "second"));
        ServerBenchLevel l = ServerBenchLevel.summarize(2, rs, 0, (long) (40 * MS), 0.03);
        assertEquals(4, l.requests());
        assertEquals(2, l.failures());
        assertEquals("boom", l.firstError());
        assertEquals(1, l.shortRequests(), "the second request stopped at 2 of 4 tokens");
        assertEquals(0.040, l.durationS(), 1e-12);
        assertEquals(50, l.requestsPerS(), 1e-9); // 2 that worked / 0.04 s
        assertEquals(5, l.outputTokens());
        assertEquals(8, l.promptTokens());
        assertEquals(125, l.outputTokensPerS(), 1e-9);
        assertEquals(2, l.ttftMs().count()); // 10 and 20
        assertEquals(15, l.ttftMs().p50(), 1e-9);
        assertEquals(3, l.itlMs().count()); // 2, 3 and 5
        assertEquals(3, l.itlMs().p50(), 1e-9);
        assertEquals(4.96, l.itlMs().p99(), 1e-9); // h = 1.98: 3 + 0.98 * (5 - 3)
        assertEquals(20.5, l.e2eMs().p50(), 1e-9); // 16 and 25
        assertEquals(4, l.tpotMs().mean(), 1e-9); // (16-10)/2 = 3 and (25-20)/1 = 5
        assertEquals(2, l.usageReported());
        assertEquals(0.75, l.serverCores(), 1e-9); // 0.03 CPU s in 0.04 s
    }

    /** A stand-in sender that records how many requests it held at once. */
    private static final class CountingSender implements ServerBench.Sender {
        final AtomicInteger now = new AtomicInteger();
        final AtomicInteger max = new AtomicInteger();

        @Override
        public LoadGenResult send(LoadGenRequest r) throws InterruptedException {
            max.accumulateAndGet(now.incrementAndGet(), Math::max);
            Thread.sleep(3);
            now.decrementAndGet();
            long t = System.nanoTime();
            return new LoadGenResult(r, t, new long[] {t}, t, 1, true, 1, "length", null);
        }
    }

    private static List<LoadGenRequest> requests(int n) {
        List<LoadGenRequest> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new LoadGenRequest(i + 1, 1, new int[i + 1], null));
        }
        return out;
    }

    @Test
    void closedAndOpenLoopsSendEveryRequestOnceWithinTheirConcurrency() throws Exception {
        for (boolean open : new boolean[] {false, true}) {
            List<LoadGenRequest> reqs = requests(20);
            CountingSender s = new CountingSender();
            List<LoadGenResult> rs = open ? ServerBench.openLoop(reqs, 3, 2000, 0, s) : ServerBench.closedLoop(reqs, 3, s);
            assertEquals(20, rs.size());
            for (int i = 0; i < 20; i++) {
                assertTrue(rs.get(i).request() == reqs.get(i), "result " + i + " belongs to its request");
            }
            assertTrue(s.max.get() <= 3, "at most 3 in flight, saw " + s.max.get());
        }
        CountingSender one = new CountingSender();
        ServerBench.closedLoop(requests(5), 1, one);
        assertEquals(1, one.max.get());
    }

    @Test
    void countsLatenciesJsonAndPlotAgainstAFakeServer() throws Exception {
        try (ServerBenchFakeServer fake = new ServerBenchFakeServer()) {
            Path json = tmp.resolve("out/run.json");
            Path png = tmp.resolve("out/run.png");
            Result r = tokc("bench", "--server", fake.url(), "--concurrency", "1,3", "--num-requests", "6",
                    "--prompt-len", "4:9", "--gen-len", "2:5", "--warmup", "1", "--seed", "7", "--json", json.toString(),
                    "--plot", png.toString(), "--label", "fake", "--ignore-eos",
                    "--server-pid", Long.toString(ProcessHandle.current().pid()));
            assertEquals(0, r.code(), r.err());
            List<Seen> served = fake.served();
            assertEquals(1 + 1 + 6 + 6, served.size(), "probe, warm-up, two levels of 6");
            ServerBenchRun run = ServerBench.readRun(json);
            assertEquals("fake", run.label());
            assertEquals("fake-model", run.model());
            assertEquals(2, run.levels().size());
            for (int li = 0; li < 2; li++) {
                ServerBenchLevel l = run.levels().get(li);
                List<Seen> level = served.subList(2 + 6 * li, 8 + 6 * li);
                assertEquals(li == 0 ? 1 : 3, l.concurrency());
                assertEquals(6, l.requests());
                assertEquals(0, l.failures());
                assertEquals(6, l.usageReported());
                assertEquals(0, l.shortRequests());
                assertEquals(level.stream().mapToInt(Seen::maxTokens).sum(), l.outputTokens());
                assertEquals(level.stream().mapToInt(Seen::promptIds).sum(), l.promptTokens());
                for (Seen s : level) {
                    assertTrue(s.promptIds() >= 4 && s.promptIds() <= 9 && s.maxTokens() >= 2 && s.maxTokens() <= 5, s.toString());
                }
                // No token can arrive before the fake sent it: the first after firstTokenMs, the i-th after
                // firstTokenMs + (i-1) tokenMs. Single gaps have no such bound (a late chunk shortens the next gap),
                // but TTFT plus the request's gaps is its last token's arrival: at least that, at most its E2E.
                assertTrue(l.ttftMs().p50() >= fake.firstTokenMs && l.ttftMs().max() >= l.ttftMs().p99(), l.ttftMs().toString());
                assertEquals(l.outputTokens() - 6, l.itlMs().count(), "one gap per token after each first");
                double lastTokens = 6 * l.ttftMs().mean() + l.itlMs().count() * l.itlMs().mean();
                assertTrue(lastTokens >= 6 * fake.firstTokenMs + (l.outputTokens() - 6) * fake.tokenMs, l.itlMs().toString());
                assertTrue(lastTokens <= 6 * l.e2eMs().mean() + 1e-6, l.e2eMs() + " " + l.itlMs());
                assertTrue(l.e2eMs().p50() >= fake.firstTokenMs + fake.tokenMs, l.e2eMs().toString());
                assertTrue(ServerBenchFakeServer.maxOverlap(level) <= l.concurrency());
            }
            assertEquals(1, ServerBenchFakeServer.maxOverlap(served.subList(2, 8)));
            // the fake runs in this JVM, whose CPU time --server-pid watched
            assertTrue(run.levels().stream().allMatch(l -> l.serverCpuS() > 0 && Double.isFinite(l.serverCpuS())));
            assertTrue(r.out().contains("server cores"), r.out());
            // the same seeded request mix at both levels
            Comparator<Seen> byShape = Comparator.comparingInt(Seen::promptIds).thenComparingInt(Seen::maxTokens);
            assertEquals(served.subList(2, 8).stream().sorted(byShape).map(s -> s.promptIds() + "/" + s.maxTokens()).toList(),
                    served.subList(8, 14).stream().sorted(byShape).map(s -> s.promptIds() + "/" + s.maxTokens()).toList());
            assertTrue(r.out().contains("TTFT ms p50/p90/p99"), r.out());
            assertTrue(r.out().lines().anyMatch(line -> line.matches("\\s+1\\s+6\\s+0\\s+0\\s.*")), r.out());
            assertTrue(r.out().lines().anyMatch(line -> line.matches("\\s+3\\s+6\\s+0\\s+0\\s.*")), r.out());

            byte[] bytes = Files.readAllBytes(png);
            assertEquals(0x89, bytes[0] & 0xff);
            assertEquals("PNG", new String(bytes, 1, 3, java.nio.charset.StandardCharsets.US_ASCII));
            BufferedImage img = ImageIO.read(png.toFile());
            assertNotNull(img, "ImageIO reads the plot back");
            assertEquals(1000, img.getWidth());
            assertEquals(800, img.getHeight());

            // --compare draws this run beside itself: a second valid PNG
            Path both = tmp.resolve("both.png");
            Result again = tokc("bench", "--server", fake.url(), "--concurrency", "2", "--num-requests", "2",
                    "--gen-len", "2", "--prompt-len", "3", "--warmup", "0", "--plot", both.toString(), "--compare",
                    json.toString(), "--label", "second");
            assertEquals(0, again.code(), again.err());
            assertNotNull(ImageIO.read(both.toFile()));
        }
    }

    @Test
    void fallsBackToTextPromptsAndChunkCountsForAnOlderServer() throws Exception {
        try (ServerBenchFakeServer fake = new ServerBenchFakeServer()) {
            fake.acceptIds = false;
            fake.acceptStreamOptions = false;
            fake.firstTokenMs = 1;
            fake.tokenMs = 1;
            Path json = tmp.resolve("text.json");
            Result r = tokc("bench", "--server", fake.url() + "/v1", "--concurrency", "2", "--num-requests", "4",
                    "--prompt-len", "10", "--gen-len", "3", "--warmup", "0", "--json", json.toString(), "--no-keep-alive");
            assertEquals(0, r.code(), r.err());
            assertTrue(r.err().contains("no usage in its stream"), r.err());
            List<Seen> served = fake.served();
            assertEquals(5, served.size(), "the probe that worked and 4 requests");
            for (Seen s : served.subList(1, 5)) {
                // the fake counts a word as two tokens; the probe had no usage, so a word is taken as one token
                assertEquals(-1, s.promptIds());
                assertEquals(10, s.promptWords());
            }
            ServerBenchLevel l = ServerBench.readRun(json).levels().get(0);
            assertEquals(12, l.outputTokens(), "4 requests x 3 chunks");
            assertEquals(0, l.usageReported());
        }
    }

    @Test
    void textPromptsAreCalibratedByReportedUsage() throws Exception {
        try (ServerBenchFakeServer fake = new ServerBenchFakeServer()) {
            fake.firstTokenMs = 1;
            fake.tokenMs = 1;
            Result r = tokc("bench", "--server", fake.url(), "--prompt-format", "text", "--concurrency", "1",
                    "--num-requests", "2", "--prompt-len", "10", "--gen-len", "2", "--warmup", "0");
            assertEquals(0, r.code(), r.err());
            assertTrue(r.err().contains("2.00 tokens per word"), r.err());
            for (Seen s : fake.served().subList(1, 3)) {
                assertEquals(5, s.promptWords(), "10 tokens at 2 tokens per word");
            }
        }
    }

    @Test
    void failedRequestsAreCountedWithTheFirstError() throws Exception {
        try (ServerBenchFakeServer fake = new ServerBenchFakeServer()) {
            fake.failEvery = 3; // the probe is #1; of the level's #2..#7, #3 and #6 fail
            fake.firstTokenMs = 1;
            fake.tokenMs = 1;
            Path json = tmp.resolve("fail.json");
            Result r = tokc("bench", "--server", fake.url(), "--concurrency", "2", "--num-requests", "6",
                    "--prompt-len", "3", "--gen-len", "2", "--warmup", "0", "--json", json.toString());
            assertEquals(1, r.code(), r.err());
            ServerBenchLevel l = ServerBench.readRun(json).levels().get(0);
            assertEquals(6, l.requests());
            assertEquals(2, l.failures());
            assertTrue(l.firstError().startsWith("HTTP 500: fake failure #"), l.firstError());
            assertEquals(8, l.outputTokens(), "4 requests that worked x 2 tokens");
            assertTrue(r.out().contains("2 of 6 requests failed, the first with: HTTP 500: fake failure #"), r.out());
        }
    }

    @Test
    void aStalledStreamTimesOut() throws Exception {
        try (ServerBenchFakeServer fake = new ServerBenchFakeServer()) {
            fake.firstTokenMs = 1;
            fake.tokenMs = 1;
            Path json = tmp.resolve("stall.json");
            fake.stallFrom = 2; // the probe (#1) streams; the level's two requests stall after their first token
            long t0 = System.nanoTime();
            Result r = tokc("bench", "--server", fake.url(), "--concurrency", "2", "--num-requests", "2",
                    "--prompt-len", "3", "--gen-len", "3", "--warmup", "0", "--timeout", "1", "--json", json.toString());
            assertEquals(1, r.code(), r.err());
            ServerBenchLevel l = ServerBench.readRun(json).levels().get(0);
            assertEquals(2, l.failures());
            assertEquals("no data: [DONE] within the timeout of 1 s", l.firstError());
            assertTrue((System.nanoTime() - t0) / 1e9 < 25, "gave up on the stalled streams, did not wait them out");
        }
    }

    @Test
    void unreachableServer() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        assertOneLineError(tokc("bench", "--server", "http://127.0.0.1:" + port, "--model", "m"), "cannot connect",
                "127.0.0.1:" + port);
        assertOneLineError(tokc("bench", "--server", "http://127.0.0.1:" + port), "GET http://127.0.0.1:" + port
                + "/v1/models", "cannot connect");
    }

    @Test
    void serverThatIsNotOpenAi() throws Exception {
        HttpServer html = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        html.createContext("/", ex -> ServerBenchFakeServer.send(ex, 200, "text/html", "<html><body>hello</body></html>"));
        html.start();
        try {
            String url = "http://127.0.0.1:" + html.getAddress().getPort();
            assertOneLineError(tokc("bench", "--server", url), "/v1/models", "OpenAI model list", "<html>");
            assertOneLineError(tokc("bench", "--server", url, "--model", "m"), "/v1/completions",
                    "text/event-stream", "text/html");
        } finally {
            html.stop(0);
        }
    }

    @Test
    void badFlagsAreUsageErrors() throws Exception {
        String[][] bad = {
            {"--concurrency", "0"}, {"--concurrency", "1,x"}, {"--gen-len", "5:3"}, {"--prompt-len", "0"},
            {"--prompt-format", "xml"}, {"--plot", "out.jpg"}, {"--request-rate", "-1"}, {"--request-rate", "fast"},
            {"--compare", "a.json"}, {"--num-requests", "0"}, {"--server-pid", "x"}, {"--length-dist", "zipf"}, {"--token-range", "5:5"}, {"--temperature", "-1"}};
        for (String[] flags : bad) {
            List<String> args = new ArrayList<>(List.of("bench", "--server", "http://127.0.0.1:9"));
            args.addAll(List.of(flags));
            Result r = tokc(args.toArray(String[]::new));
            assertEquals(2, r.code(), String.join(" ", flags) + ": " + r.err());
            assertTrue(r.err().startsWith("tokc bench: --" + flags[0].substring(2)), r.err());
        }
        Result url = tokc("bench", "--server", "localhost:8000");
        assertEquals(2, url.code(), url.err());
        assertTrue(url.err().contains("--server expects a URL"), url.err());
    }

    @Test
    void unreadableCompareFile() throws Exception {
        Path junk = Files.writeString(tmp.resolve("junk.json"), "{\"x\": 1");
        assertOneLineError(tokc("bench", "--server", "http://127.0.0.1:9", "--plot", tmp.resolve("p.png").toString(),
                "--compare", junk.toString()), "--compare", "junk.json");
    }
}
