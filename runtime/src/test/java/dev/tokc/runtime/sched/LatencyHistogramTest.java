package dev.tokc.runtime.sched;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LatencyHistogramTest {

    @Test
    void bucketsAreUpperBoundsInclusiveWithAnInfinityBucket() {
        LatencyHistogram h = new LatencyHistogram(new double[] {0.1, 0.2, 0.4});
        h.record(0.05);
        h.record(0.1);
        h.record(0.15);
        h.record(0.3);
        h.record(9);
        LatencyHistogram.Snapshot s = h.snapshot();
        assertArrayEquals(new long[] {2, 1, 1, 1}, s.bucketCounts());
        assertEquals(5, s.count());
        assertEquals(9.6, s.sum(), 1e-12);
        assertEquals(4, s.cumulative(2));
        assertEquals(0.4, s.quantile(0.99), 1e-12, "the +Inf bucket reports the last bound");
        assertEquals(0.1, s.quantile(0.4), 1e-12);
        assertEquals(0.15, s.quantile(0.5), 1e-12, "interpolated inside (0.1, 0.2]");
    }

    @Test
    void emptyAndInvalid() {
        LatencyHistogram.Snapshot s = new LatencyHistogram().snapshot();
        assertTrue(Double.isNaN(s.quantile(0.5)));
        assertTrue(Double.isNaN(s.mean()));
        assertEquals(LatencyHistogram.DEFAULT_BOUNDS.length + 1, s.bucketCounts().length);
        assertThrows(IllegalArgumentException.class, () -> new LatencyHistogram(new double[] {1, 1}));
    }

    @Test
    void concurrentRecordingLosesNothing() throws Exception {
        LatencyHistogram h = new LatencyHistogram();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 10_000; i++) {
                    h.recordNanos(1_500_000L * (i % 7));
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(40_000, h.snapshot().count());
        assertEquals(40_000, java.util.Arrays.stream(h.snapshot().bucketCounts()).sum());
    }
}
