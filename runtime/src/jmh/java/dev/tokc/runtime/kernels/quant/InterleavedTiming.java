package dev.tokc.runtime.kernels.quant;

import java.util.Arrays;

/**
 * The timing loop of the A/B labs ({@link Int8Lab}, {@link W4A8Lab}): variants take turns in rounds of a fixed
 * duration, so a memory bandwidth that drifts from minute to minute hits all of them alike; the first round is a
 * warm-up and is not recorded.
 */
final class InterleavedTiming {
    private InterleavedTiming() {}

    /** One timed call of variant {@code variant}; {@code call} counts that variant's calls in the current round. */
    @FunctionalInterface
    interface Call {
        void run(int variant, int call);
    }

    /**
     * Runs {@code variants} in turn for {@code rounds} rounds of {@code roundNanos} each, recording at most
     * {@code maxPerRound} call times per variant and round after the first round. Returns each variant's times in
     * nanoseconds, sorted.
     */
    static long[][] run(int variants, int rounds, long roundNanos, int maxPerRound, Call call) {
        long[][] times = new long[variants][0];
        for (int round = 0; round < rounds; round++) {
            for (int v = 0; v < variants; v++) {
                long[] t = new long[maxPerRound];
                int recorded = 0;
                int calls = 0;
                long start = System.nanoTime();
                while (System.nanoTime() - start < roundNanos) {
                    long t0 = System.nanoTime();
                    call.run(v, calls);
                    long dt = System.nanoTime() - t0;
                    if (round > 0 && recorded < t.length) {
                        t[recorded++] = dt;
                    }
                    calls++;
                }
                long[] all = Arrays.copyOf(times[v], times[v].length + recorded);
                System.arraycopy(t, 0, all, times[v].length, recorded);
                times[v] = all;
            }
        }
        for (long[] t : times) {
            Arrays.sort(t);
        }
        return times;
    }
}
