package dev.tokc.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * The figures of one concurrency level. Latencies cover the requests that worked; throughputs divide their tokens
 * and count by the level's wall time (first request sent to last one finished), so failures lower them.
 *
 * @param concurrency clients sending back to back (closed loop), or the cap on requests in flight (open loop)
 * @param requests requests sent; {@code failures} of them failed, the first with {@code firstError}
 * @param shortRequests requests that worked but returned fewer tokens than {@code max_tokens} (EOS or a stop)
 * @param itlMs gaps between consecutive text chunks over all requests together
 * @param tpotMs per request, (end-to-end - TTFT) / (output tokens - 1), for requests with at least two tokens
 * @param usageReported requests whose token counts came from the server's {@code usage} rather than chunk counts
 * @param serverCpuS CPU seconds the server process used during the level ({@code --server-pid}), else NaN: on a
 *     shared machine, CPU seconds over wall seconds shows how many cores the server actually got
 */
record ServerBenchLevel(int concurrency, int requests, int failures, String firstError, int shortRequests,
        double durationS, double requestsPerS, long outputTokens, long promptTokens, double outputTokensPerS,
        LoadGenStats ttftMs, LoadGenStats itlMs, LoadGenStats e2eMs, LoadGenStats tpotMs, int usageReported,
        double serverCpuS) {

    static ServerBenchLevel summarize(int concurrency, List<LoadGenResult> results, long startNs, long endNs,
            double serverCpuS) {
        int failures = 0;
        String firstError = null;
        int shortOnes = 0;
        int usage = 0;
        long out = 0;
        long prompt = 0;
        List<Double> ttft = new ArrayList<>();
        List<Double> e2e = new ArrayList<>();
        List<Double> tpot = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        for (LoadGenResult r : results) {
            if (!r.ok()) {
                // a result with a count error still delivered its tokens, but they are not trusted
                if (firstError == null) {
                    firstError = r.error();
                }
                failures++;
                continue;
            }
            out += r.outputTokens();
            prompt += Math.max(0, r.promptTokens());
            usage += r.usageReported() ? 1 : 0;
            shortOnes += r.outputTokens() < r.request().maxTokens() ? 1 : 0;
            e2e.add(r.e2eMs());
            if (r.tokenNs().length > 0) {
                ttft.add(r.ttftMs());
                if (r.outputTokens() > 1) {
                    tpot.add((r.e2eMs() - r.ttftMs()) / (r.outputTokens() - 1));
                }
            }
            for (double gap : r.itlMs()) {
                itl.add(gap);
            }
        }
        double seconds = (endNs - startNs) / 1e9;
        int ok = results.size() - failures;
        return new ServerBenchLevel(concurrency, results.size(), failures, firstError, shortOnes, seconds,
                seconds > 0 ? ok / seconds : Double.NaN, out, prompt, seconds > 0 ? out / seconds : Double.NaN,
                stats(ttft), stats(itl), stats(e2e), stats(tpot), usage, serverCpuS);
    }

    /** Cores the server kept busy on average: CPU seconds per wall second; NaN when not measured. */
    double serverCores() {
        return serverCpuS / durationS;
    }

    private static LoadGenStats stats(List<Double> xs) {
        return LoadGenStats.of(xs.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
