package dev.tokc.runtime.kernels.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import dev.tokc.runtime.kernels.Elements;
import dev.tokc.runtime.kernels.ElementType;
import dev.tokc.runtime.kernels.MemoryBandwidth;
import dev.tokc.runtime.kernels.VectorKernels;
import dev.tokc.runtime.kernels.WeightMatrix;
import dev.tokc.runtime.kernels.WorkerPool;

/**
 * Batch-1 quantized GEMV read rate as a fraction of the machine's read bandwidth (the roofline), measured back to
 * back in one JVM so all figures see the same machine load, in the manner of {@code GemvBandwidthCheck}: for each
 * thread count the {@link MemoryBandwidth} probe, a bf16 GEMV baseline, then every format, each repeated for ~1.5 s
 * over weight copies that together exceed L3, reporting the fastest call (what survives time slices lost to other
 * processes) and the mean. Bytes are the packed weight bytes. Arguments: shapes as {@code KxN} (default
 * {@code 2048x2048 5632x2048}). {@code -Dtokc.bench.cached=true} uses one weight copy instead, so a small shape
 * runs from cache: the kernels' compute ceiling rather than their DRAM rate. {@code -Dtokc.bench.types=int8,nf4g32}
 * picks the formats.
 */
public final class QuantGemvCheck {
    private QuantGemvCheck() {
    }

    public static void main(String[] args) {
        String[] shapes = args.length > 0 ? args : new String[] {"2048x2048", "5632x2048"};
        long total = Boolean.getBoolean("tokc.bench.cached") ? 1 : 256L << 20;
        String[] types = System.getProperty("tokc.bench.types", "int8,fp8,int4g32,int4g64,int4g128,nf4g32,nf4g64,nf4g128")
                .split(",");
        for (int threads = 1; threads <= 2; threads++) {
            MemoryBandwidth.Result probe = MemoryBandwidth.measure(threads);
            System.out.println(probe);
            try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(threads)) {
                VectorQuantKernels quant = new VectorQuantKernels(pool);
                VectorKernels dense = new VectorKernels(pool);
                for (String shape : shapes) {
                    String[] kn = shape.split("x");
                    int k = Integer.parseInt(kn[0]);
                    int n = Integer.parseInt(kn[1]);
                    MemorySegment x = arena.allocate(4L * k, 64);
                    MemorySegment y = arena.allocate(4L * n, 64);
                    Random random = new Random(1);
                    for (int i = 0; i < k; i++) {
                        x.setAtIndex(Elements.F32, i, (float) random.nextGaussian());
                    }
                    WeightMatrix[] bf16 = bf16Copies(arena, n, k, random, total);
                    report("bf16", shape, threads, probe, (long) n * k * 2,
                            c -> dense.gemv(x, bf16[c % bf16.length], null, y));
                    for (String type : types) {
                        QuantizedMatrix[] w = QuantBenchMain.weightCopies(arena, QuantType.parse(type), n, k, random, total);
                        report(type, shape, threads, probe, w[0].packedBytes(),
                                c -> quant.gemv(x, w[c % w.length], null, y));
                    }
                }
            }
        }
    }

    private static WeightMatrix[] bf16Copies(Arena arena, int n, int k, Random random, long total) {
        long bytes = 2L * n * k;
        MemorySegment first = arena.allocate(bytes, 64);
        for (long i = 0; i < (long) n * k; i++) {
            Elements.write(first, ElementType.BF16, i, (float) (random.nextGaussian() * 0.02));
        }
        int copies = (int) Math.max(1, Math.min(64, total / bytes));
        WeightMatrix[] w = new WeightMatrix[copies];
        for (int c = 0; c < copies; c++) {
            w[c] = new WeightMatrix(c == 0 ? first : arena.allocate(bytes, 64).copyFrom(first), ElementType.BF16, n, k);
        }
        return w;
    }

    private static void report(String type, String shape, int threads, MemoryBandwidth.Result probe, long bytes,
                               java.util.function.IntConsumer call) {
        long best = Long.MAX_VALUE;
        long total = 0;
        int calls = 0;
        int measured = 0;
        long start = System.nanoTime();
        while (System.nanoTime() - start < 1_500_000_000L) {
            long t0 = System.nanoTime();
            call.accept(calls);
            long t = System.nanoTime() - t0;
            if (System.nanoTime() - start > 500_000_000L) { // first 0.5 s: JIT warm-up, not counted
                best = Math.min(best, t);
                total += t;
                measured++;
            }
            calls++;
        }
        double bestGbs = bytes / (double) best;
        System.out.printf("gemv %-8s %s threads=%d: best %.1f us = %.1f GB/s (%.0f%% of probe), mean %.1f GB/s%n",
                type, shape, threads, best / 1e3, bestGbs, 100 * bestGbs / probe.bestGbPerSecond(),
                bytes / (total / (double) Math.max(1, measured)));
    }
}
