package dev.tokc.runtime.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/**
 * Batch-1 GEMV read rate as a fraction of the machine's read bandwidth, measured back to back in one JVM so both
 * see the same machine load. For each thread count: the {@link MemoryBandwidth} probe, then each GEMV repeated for
 * ~2 s over weight copies that together exceed L3, reporting the fastest call (the minimum is what survives time
 * slices lost to other processes on a shared machine; the mean is printed too). Not JMH: a quick, reproducible check
 * for MBU, run with the same class path as the JMH benchmarks:
 * {@code java --add-modules jdk.incubator.vector -cp ... dev.tokc.runtime.kernels.GemvBandwidthCheck}.
 */
public final class GemvBandwidthCheck {
    private GemvBandwidthCheck() {
    }

    public static void main(String[] args) {
        int[][] shapes = {{2048, 2048}, {8192, 2048}, {2048, 8192}};
        for (int threads = 1; threads <= 2; threads++) {
            MemoryBandwidth.Result probe = MemoryBandwidth.measure(threads);
            System.out.println(probe);
            try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(threads)) {
                VectorKernels kernels = new VectorKernels(pool);
                for (ElementType type : ElementType.values()) {
                    for (int[] kn : shapes) {
                        run(arena, kernels, type, kn[0], kn[1], threads, probe.bestGbPerSecond());
                    }
                }
            }
        }
    }

    private static void run(Arena arena, VectorKernels kernels, ElementType type, int k, int n, int threads,
                            double probeGbs) {
        long bytes = (long) n * k * type.byteSize();
        int copies = (int) Math.max(1, Math.min(64, (256L << 20) / bytes));
        Random random = new Random(1);
        MemorySegment first = arena.allocate(bytes, 64);
        for (long i = 0; i < (long) n * k; i++) {
            Elements.write(first, type, i, (float) (random.nextGaussian() * 0.02));
        }
        WeightMatrix[] w = new WeightMatrix[copies];
        for (int c = 0; c < copies; c++) {
            w[c] = new WeightMatrix(c == 0 ? first : arena.allocate(bytes, 64).copyFrom(first), type, n, k);
        }
        MemorySegment x = arena.allocate(4L * k, 64);
        MemorySegment y = arena.allocate(4L * n, 64);
        for (int i = 0; i < k; i++) {
            x.setAtIndex(Elements.F32, i, (float) random.nextGaussian());
        }
        long best = Long.MAX_VALUE;
        long total = 0;
        int calls = 0;
        int measured = 0;
        long start = System.nanoTime();
        while (System.nanoTime() - start < 2_000_000_000L) {
            long t0 = System.nanoTime();
            kernels.gemv(x, w[calls % copies], null, y);
            long t = System.nanoTime() - t0;
            if (System.nanoTime() - start > 500_000_000L) { // first 0.5 s: JIT warm-up, not counted
                best = Math.min(best, t);
                total += t;
                measured++;
            }
            calls++;
        }
        double bestGbs = bytes / (double) best;
        System.out.printf("gemv %-4s k=%d n=%d threads=%d: best %.1f us = %.1f GB/s (%.0f%% of probe), mean %.1f GB/s%n",
                type, k, n, threads, best / 1e3, bestGbs, 100 * bestGbs / probeGbs,
                bytes / (total / (double) Math.max(1, measured)));
    }
}
