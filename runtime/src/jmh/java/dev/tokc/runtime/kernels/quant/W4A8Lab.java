package dev.tokc.runtime.kernels.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import dev.tokc.runtime.kernels.Elements;
import dev.tokc.runtime.kernels.WorkerPool;

/**
 * Interleaved A/B of the int4 product kernel against the W4A8 integer kernel on the same weights (issue 7):
 * each round times both for 300 ms, alternating, so a drifting memory bandwidth hits both alike. Prints the error
 * of each against {@link ReferenceQuantKernels}, then best and median G weights/s.
 * {@code -Dcached=true} runs one weight copy (from cache), {@code -Dthreads=N}, {@code -Dm=ROWS}, {@code -Dgroup=G};
 * arguments are shapes {@code KxN}.
 */
public final class W4A8Lab {
    public static void main(String[] args) {
        int threads = Integer.getInteger("threads", 2);
        int m = Integer.getInteger("m", 1);
        int g = Integer.getInteger("group", 32);
        String[] shapes = args.length > 0 ? args : new String[] {"2048x5632", "5632x2048"};
        QuantType[] types = {QuantType.int4(g), new QuantType(QuantFormat.W4A8, g)};
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(threads)) {
            VectorQuantKernels kernels = new VectorQuantKernels(pool);
            ReferenceQuantKernels reference = new ReferenceQuantKernels();
            for (String shape : shapes) {
                String[] kn = shape.split("x");
                int k = Integer.parseInt(kn[0]);
                int n = Integer.parseInt(kn[1]);
                long total = Boolean.getBoolean("cached") ? 1 : 512L << 20;
                QuantizedMatrix[][] ws = new QuantizedMatrix[2][];
                for (int v = 0; v < 2; v++) {
                    ws[v] = QuantBenchMain.weightCopies(arena, types[v], n, k, new Random(1), total);
                }
                Random random = new Random(2);
                MemorySegment x = arena.allocate(4L * m * k, 64);
                for (int i = 0; i < m * k; i++) {
                    x.setAtIndex(Elements.F32, i, (float) random.nextGaussian());
                }
                MemorySegment y = arena.allocate(4L * m * n, 64);
                MemorySegment ref = arena.allocate(4L * m * n, 64);
                for (int v = 0; v < 2; v++) {
                    kernels.gemm(x, m, ws[v][0], null, y);
                    reference.gemm(x, m, ws[v][0], null, ref);
                    double err = 0, max = 0;
                    for (int j = 0; j < m * n; j++) {
                        err = Math.max(err, Math.abs(y.getAtIndex(Elements.F32, j) - ref.getAtIndex(Elements.F32, j)));
                        max = Math.max(max, Math.abs(ref.getAtIndex(Elements.F32, j)));
                    }
                    System.out.printf("%s %s m=%d: max |kernel - reference| %.2e (max |y| %.2e)%n", types[v], shape, m, err, max);
                }
                long[][] times = InterleavedTiming.run(2, 6, 300_000_000L, 2000,
                        (v, call) -> kernels.gemm(x, m, ws[v][call % ws[v].length], null, y));
                for (int v = 0; v < 2; v++) {
                    long[] t = times[v];
                    double weights = (double) n * k * m;
                    System.out.printf("%-8s %s m=%d thr=%d best %.1f us = %.1f G weights/s, median %.1f (%.1f GB/s)%n",
                            types[v], shape, m, threads, t[0] / 1e3, weights / t[0], weights / t[t.length / 2],
                            ws[v][0].packedBytes() / (double) t[t.length / 2]);
                }
            }
        }
    }
}
