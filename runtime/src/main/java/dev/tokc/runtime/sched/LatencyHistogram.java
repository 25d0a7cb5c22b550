package dev.tokc.runtime.sched;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * A fixed-bucket histogram of durations in seconds, shaped like a Prometheus histogram (upper bounds, counts,
 * sum) so the server can export it without this package depending on a metrics library. Thread-safe and
 * lock-free: the loop thread records, server threads read snapshots.
 */
public final class LatencyHistogram {

    /** Bounds from 1 ms to about 65 s, doubling: fine enough for TTFT and inter-token latency alike. */
    public static final double[] DEFAULT_BOUNDS = defaultBounds();

    private final double[] bounds;
    private final AtomicLongArray counts;   // counts[i]: samples in (bounds[i-1], bounds[i]]; last: above all
    private final LongAdder count = new LongAdder();
    private final DoubleAdder sum = new DoubleAdder();

    public LatencyHistogram() {
        this(DEFAULT_BOUNDS);
    }

    /** @param bounds ascending upper bounds in seconds; an implicit +Inf bucket follows them */
    public LatencyHistogram(double[] bounds) {
        for (int i = 1; i < bounds.length; i++) {
            if (!(bounds[i] > bounds[i - 1])) {
                throw new IllegalArgumentException("bounds must ascend: " + Arrays.toString(bounds));
            }
        }
        this.bounds = bounds.clone();
        this.counts = new AtomicLongArray(bounds.length + 1);
    }

    public void recordNanos(long nanos) {
        record(nanos / 1e9);
    }

    public void record(double seconds) {
        int i = Arrays.binarySearch(bounds, seconds);
        counts.incrementAndGet(i >= 0 ? i : -i - 1);
        count.increment();
        sum.add(seconds);
    }

    public Snapshot snapshot() {
        long[] c = new long[counts.length()];
        for (int i = 0; i < c.length; i++) {
            c[i] = counts.get(i);
        }
        return new Snapshot(bounds.clone(), c, Arrays.stream(c).sum(), sum.sum());
    }

    /**
     * A copy of the histogram at one moment (counts and sum are read separately, so under concurrent recording
     * they may disagree by a sample or two).
     *
     * @param bounds       upper bounds in seconds
     * @param bucketCounts per bucket, not cumulative; one more than bounds (the +Inf bucket)
     * @param count        samples
     * @param sum          seconds over all samples
     */
    public record Snapshot(double[] bounds, long[] bucketCounts, long count, double sum) {

        /** Cumulative count of samples {@code <= bounds[i]} (Prometheus's {@code le} buckets). */
        public long cumulative(int i) {
            long c = 0;
            for (int k = 0; k <= i; k++) {
                c += bucketCounts[k];
            }
            return c;
        }

        /**
         * The q-quantile, interpolated linearly inside its bucket (as Prometheus's histogram_quantile does);
         * NaN without samples, the last bound when it falls in the +Inf bucket.
         */
        public double quantile(double q) {
            if (count == 0) {
                return Double.NaN;
            }
            double rank = q * count;
            long below = 0;
            for (int i = 0; i < bucketCounts.length; i++) {
                if (below + bucketCounts[i] >= rank && bucketCounts[i] > 0) {
                    if (i == bounds.length) {
                        return bounds[bounds.length - 1];
                    }
                    double lo = i == 0 ? 0 : bounds[i - 1];
                    return lo + (bounds[i] - lo) * (rank - below) / bucketCounts[i];
                }
                below += bucketCounts[i];
            }
            return bounds[bounds.length - 1];
        }

        public double mean() {
            return count == 0 ? Double.NaN : sum / count;
        }
    }

    private static double[] defaultBounds() {
        double[] b = new double[17];
        for (int i = 0; i < b.length; i++) {
            b[i] = 0.001 * (1 << i);
        }
        return b;
    }
}
