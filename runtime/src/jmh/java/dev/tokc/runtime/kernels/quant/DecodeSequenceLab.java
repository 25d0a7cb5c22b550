package dev.tokc.runtime.kernels.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import dev.tokc.runtime.kernels.ElementType;
import dev.tokc.runtime.kernels.Elements;
import dev.tokc.runtime.kernels.VectorKernels;
import dev.tokc.runtime.kernels.WeightMatrix;
import dev.tokc.runtime.kernels.WorkerPool;

/**
 * The products of one TinyLlama-1.1B decode step, as the engine runs them (per layer the fused qkv 2560x2048, o
 * 2048x2048, gate-up 11264x2048 and down 2048x5632, then the LM head 32000x2048; bf16, int8 or w4a8 g32 with an int8
 * head), every layer with its own weights so that a step streams them from memory; formats ({@code -Dfmts=bf16,int8,w4a8})
 * alternate, three steps each per round (the best kept), {@code -Diters} rounds, so that each sees the same machine. Prints
 * per format best and median step time and GB/s, and the per-round ratio of the first format to each other: the
 * ratios of the kernels alone, without attention and the rest of a step. docs/benchmarks.md, "W4A8, third pass".
 */
public final class DecodeSequenceLab {
    interface Seq { void run(); }
    public static void main(String[] args) {
        int threads = Integer.getInteger("threads", 2);
        int layers = Integer.getInteger("layers", 22);
        String[] fmts = System.getProperty("fmts", "bf16,int8,w4a8").split(",");
        int[][] shapes = {{2560, 2048}, {2048, 2048}, {11264, 2048}, {2048, 5632}};
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(threads)) {
            VectorQuantKernels kernels = new VectorQuantKernels(pool);
            VectorKernels vk = new VectorKernels(pool);
            Random random = new Random(1);
            MemorySegment x = arena.allocate(4L * 5632, 64);
            for (int i = 0; i < 5632; i++) x.setAtIndex(Elements.F32, i, (float) random.nextGaussian());
            MemorySegment y = arena.allocate(4L * 32000, 64);
            Seq[] seqs = new Seq[fmts.length];
            long[] bytes = new long[fmts.length];
            for (int f = 0; f < fmts.length; f++) {
                String fmt = fmts[f];
                if (fmt.equals("bf16")) {
                    WeightMatrix[][] ws = new WeightMatrix[layers + 1][4];
                    long b = 0;
                    for (int l = 0; l <= layers; l++) for (int s = 0; s < 4; s++) {
                        int n = l == layers ? (s == 0 ? 32000 : 0) : shapes[s][0], k = shapes[s][1];
                        if (n == 0) continue;
                        MemorySegment d = arena.allocate(2L * n * k, 64);
                        for (long i = 0; i < (long) n * k; i += 97) d.setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, i, (short) 0x3c00);
                        ws[l][s] = new WeightMatrix(d, ElementType.BF16, n, k);
                        b += 2L * n * k;
                    }
                    bytes[f] = b;
                    seqs[f] = () -> { for (WeightMatrix[] lw : ws) for (WeightMatrix w : lw) if (w != null) vk.gemm(x, 1, w, null, y); };
                } else {
                    QuantType t = fmt.equals("w4a8") ? new QuantType(QuantFormat.W4A8, 32) : QuantType.parse("int8");
                    QuantizedMatrix[][] ws = new QuantizedMatrix[layers][4];
                    long b = 0;
                    for (int s = 0; s < 4; s++) {
                        QuantizedMatrix proto = QuantBenchMain.weightCopies(arena, t, shapes[s][0], shapes[s][1], random, 1)[0];
                        for (int l = 0; l < layers; l++) {
                            long pb = proto.packedBytes();
                            MemorySegment d = arena.allocate(pb, 64).copyFrom(proto.data().asSlice(0, pb));
                            ws[l][s] = new QuantizedMatrix(d, t, shapes[s][0], shapes[s][1]);
                            b += pb;
                        }
                    }
                    QuantizedMatrix head = QuantBenchMain.weightCopies(arena, QuantType.parse("int8"), 32000, 2048, random, 1)[0];
                    bytes[f] = b + head.packedBytes();
                    seqs[f] = () -> { for (QuantizedMatrix[] lw : ws) for (QuantizedMatrix w : lw) kernels.gemm(x, 1, w, null, y); kernels.gemm(x, 1, head, null, y); };
                }
            }
            int iters = Integer.getInteger("iters", 40);
            long[][] all = new long[fmts.length][iters];
            for (int it = 0; it < iters; it++) {
                for (int f = 0; f < fmts.length; f++) {
                    for (int rep = 0; rep < 3; rep++) {
                        long t0 = System.nanoTime();
                        seqs[f].run();
                        long dt = System.nanoTime() - t0;
                        if (rep == 0 || dt < all[f][it]) all[f][it] = dt;
                    }
                }
            }
            for (int f = 0; f < fmts.length; f++) {
                long[] a = all[f].clone();
                java.util.Arrays.sort(a);
                long best = a[0], med = a[a.length / 2];
                System.out.printf("%-5s %.3f GB best %.2f ms (%.1f GB/s, %.1f tok/s) median %.2f ms (%.1f GB/s, %.1f tok/s)%n",
                        fmts[f], bytes[f] / 1e9, best / 1e6, bytes[f] / (double) best, 1e9 / best, med / 1e6, bytes[f] / (double) med, 1e9 / med);
            }
            for (int f = 1; f < fmts.length; f++) {
                double[] r = new double[iters];
                for (int it = 0; it < iters; it++) r[it] = all[0][it] / (double) all[f][it];
                java.util.Arrays.sort(r);
                System.out.printf("%s/%s per-round ratio median %.2f (min %.2f max %.2f)%n", fmts[0], fmts[f], r[iters / 2], r[0], r[iters - 1]);
            }
        }
    }
}
