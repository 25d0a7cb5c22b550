package dev.tokc.cli;

import java.util.Arrays;

/**
 * Summary statistics of latency samples. Percentiles interpolate linearly between the two nearest ranks (the
 * definition numpy's {@code percentile} uses by default, and so vLLM's benchmark), so figures compare with theirs.
 */
record LoadGenStats(int count, double mean, double p50, double p90, double p99, double max) {
    static final LoadGenStats EMPTY = new LoadGenStats(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);

    static LoadGenStats of(double[] samples) {
        if (samples.length == 0) {
            return EMPTY;
        }
        double[] s = samples.clone();
        Arrays.sort(s);
        double sum = 0;
        for (double x : s) {
            sum += x;
        }
        return new LoadGenStats(s.length, sum / s.length, percentileOfSorted(s, 50), percentileOfSorted(s, 90),
                percentileOfSorted(s, 99), s[s.length - 1]);
    }

    /**
     * The p-th percentile (0..100) of ascending {@code sorted}: rank h = (n-1)·p/100, then the value between
     * {@code sorted[floor h]} and {@code sorted[floor h + 1]} at fraction h - floor h. NaN when empty.
     */
    static double percentileOfSorted(double[] sorted, double p) {
        if (p < 0 || p > 100) {
            throw new IllegalArgumentException("percentile must be in [0, 100], got " + p);
        }
        int n = sorted.length;
        if (n == 0) {
            return Double.NaN;
        }
        double h = (n - 1) * p / 100.0;
        int lo = (int) Math.floor(h);
        int hi = Math.min(lo + 1, n - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }
}
