package dev.tokc.runtime.kernels.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Random;

import dev.tokc.runtime.kernels.Elements;
import dev.tokc.runtime.kernels.WorkerPool;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * A/B harness for batch-1 int8 GEMV loop shapes, the experiment behind {@code VectorQuantKernels.channelRowPairs}
 * (docs/benchmarks.md, "Decode speed, second pass"): one row at a time, adjacent pairs, distant pairs (the two halves
 * of a thread's range), adjacent fours, distant 2x2, four quarters, and distant pairs over heap activations. Rounds
 * of 0.3 s per variant are interleaved so every variant sees the same machine; prints best, 25th percentile and
 * median GB/s of packed weights, and each variant's max error against {@link VectorQuantKernels}. Arguments: shapes
 * {@code KxN} (default 5632x2048 2048x11264); {@code -Dthreads=N}, {@code -Dcached=true} (one weight copy).
 */
public final class Int8Lab {
    static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    static final int L = FS.length();
    static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class, VectorShape.forBitSize(8 * L));
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    interface Variant {
        void rows(MemorySegment x, float[] xa, QuantizedMatrix w, MemorySegment y, int j0, int j1);
    }

    public static void main(String[] args) {
        int threads = Integer.getInteger("threads", 2);
        String[] shapes = args.length > 0 ? args : new String[] {"5632x2048", "2048x11264"};
        String[] names = {"A-one", "B-two", "C-far", "D-four", "E-arr2", "F-far4", "G-quart"};
        Variant[] vs = {Int8Lab::one, Int8Lab::two, Int8Lab::far, Int8Lab::four, Int8Lab::arr2, Int8Lab::far4, Int8Lab::quart};
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(threads)) {
            for (String shape : shapes) {
                String[] kn = shape.split("x");
                int k = Integer.parseInt(kn[0]);
                int n = Integer.parseInt(kn[1]);
                Random random = new Random(1);
                MemorySegment x = arena.allocate(4L * k, 64);
                float[] xa = new float[k];
                for (int i = 0; i < k; i++) {
                    xa[i] = (float) random.nextGaussian();
                    x.setAtIndex(Elements.F32, i, xa[i]);
                }
                QuantizedMatrix[] w = QuantBenchMain.weightCopies(arena, QuantType.parse("int8"), n, k, random,
                        Boolean.getBoolean("cached") ? 1 : 512L << 20);
                MemorySegment y = arena.allocate(4L * n, 64);
                MemorySegment ref = arena.allocate(4L * n, 64);
                new VectorQuantKernels(pool).gemv(x, w[0], null, ref);
                for (int v = 0; v < vs.length; v++) { // each variant's error against the product kernel
                    Variant var = vs[v];
                    pool.parallelFor(n, 64, (a, b) -> var.rows(x, xa, w[0], y, a, b));
                    float err = 0;
                    for (int j = 0; j < n; j++) {
                        err = Math.max(err, Math.abs(y.getAtIndex(Elements.F32, j) - ref.getAtIndex(Elements.F32, j)));
                    }
                    System.out.printf("%s %s maxerr %.2e%n", names[v], shape, err);
                }
                long[][] best = InterleavedTiming.run(vs.length, 6, 300_000_000L, 400, (v, call) -> {
                    QuantizedMatrix m = w[call % w.length];
                    pool.parallelFor(n, 64, (a, b) -> vs[v].rows(x, xa, m, y, a, b));
                });
                long bytes = w[0].packedBytes();
                for (int v = 0; v < vs.length; v++) {
                    long[] t = best[v];
                    System.out.printf("%-7s %s thr=%d best %.1f GB/s  p25 %.1f  median %.1f GB/s (%d calls)%n", names[v], shape,
                            threads, bytes / (double) t[0], bytes / (double) t[t.length / 4], bytes / (double) t[t.length / 2], t.length);
                }
            }
        }
    }

    static FloatVector b2f(MemorySegment w, long at) {
        return (FloatVector) ByteVector.fromMemorySegment(BS, w, at, LE).convertShape(VectorOperators.B2F, FS, 0);
    }

    static FloatVector xv(MemorySegment x, long at) {
        return FloatVector.fromMemorySegment(FS, x, at, LE);
    }

    static void one(MemorySegment x, float[] xa, QuantizedMatrix w, MemorySegment y, int j0, int j1) {
        MemorySegment d = w.data();
        int k = w.cols();
        for (int j = j0; j < j1; j++) {
            long r = w.rowOffset(j);
            y.setAtIndex(Elements.F32, j, dot1(d, r + 4, x, k) * d.get(Elements.F32, r));
        }
    }

    static float dot1(MemorySegment w, long q0, MemorySegment x, int k) {
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), a2 = FloatVector.zero(FS), a3 = FloatVector.zero(FS);
        for (int l = 0; l < k; l += 4 * L) {
            long wo = q0 + l;
            long xo = 4L * l;
            a0 = b2f(w, wo).fma(xv(x, xo), a0);
            a1 = b2f(w, wo + L).fma(xv(x, xo + 4L * L), a1);
            a2 = b2f(w, wo + 2L * L).fma(xv(x, xo + 8L * L), a2);
            a3 = b2f(w, wo + 3L * L).fma(xv(x, xo + 12L * L), a3);
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    static void two(MemorySegment x, float[] xa, QuantizedMatrix w, MemorySegment y, int j0, int j1) {
        MemorySegment d = w.data();
        int k = w.cols();
        float[] out = new float[2];
        int j = j0;
        for (; j + 2 <= j1; j += 2) {
            long r0 = w.rowOffset(j);
            long r1 = w.rowOffset(j + 1);
            dot2(d, r0 + 4, r1 + 4, x, k, out);
            y.setAtIndex(Elements.F32, j, out[0] * d.get(Elements.F32, r0));
            y.setAtIndex(Elements.F32, j + 1, out[1] * d.get(Elements.F32, r1));
        }
        for (; j < j1; j++) {
            long r = w.rowOffset(j);
            y.setAtIndex(Elements.F32, j, dot1(d, r + 4, x, k) * d.get(Elements.F32, r));
        }
    }

    static void far(MemorySegment x, float[] xa, QuantizedMatrix w, MemorySegment y, int j0, int j1) {
        MemorySegment d = w.data();
        int k = w.cols();
        float[] out = new float[2];
        int half = (j1 - j0) / 2;
        for (int j = j0; j < j0 + half; j++) {
            long r0 = w.rowOffset(j);
            long r1 = w.rowOffset(j + half);
            dot2(d, r0 + 4, r1 + 4, x, k, out);
            y.setAtIndex(Elements.F32, j, out[0] * d.get(Elements.F32, r0));
            y.setAtIndex(Elements.F32, j + half, out[1] * d.get(Elements.F32, r1));
        }
        for (int j = j0 + 2 * half; j < j1; j++) {
            long r = w.rowOffset(j);
            y.setAtIndex(Elements.F32, j, dot1(d, r + 4, x, k) * d.get(Elements.F32, r));
        }
    }

    static void dot2(MemorySegment w, long q0, long q1, MemorySegment x, int k, float[] out) {
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), b0 = FloatVector.zero(FS), b1 = FloatVector.zero(FS);
        long d1 = q1 - q0;
        for (int l = 0; l < k; l += 2 * L) {
            long wo = q0 + l;
            long xo = 4L * l;
            FloatVector x0 = xv(x, xo);
            FloatVector x1 = xv(x, xo + 4L * L);
            a0 = b2f(w, wo).fma(x0, a0);
            b0 = b2f(w, wo + d1).fma(x0, b0);
            a1 = b2f(w, wo + L).fma(x1, a1);
            b1 = b2f(w, wo + d1 + L).fma(x1, b1);
        }
        out[0] = a0.add(a1).reduceLanes(VectorOperators.ADD);
        out[1] = b0.add(b1).reduceLanes(VectorOperators.ADD);
    }

    static void four(MemorySegment x, float[] xa, QuantizedMatrix w, MemorySegment y, int j0, int j1) {
        MemorySegment d = w.data();
        int k = w.cols();
        long rb = w.rowBytes();
        float[] out = new float[4];
        int j = j0;
        for (; j + 4 <= j1; j += 4) {
            long r0 = w.rowOffset(j);
            dot4(d, r0 + 4, rb, x, k, out);
            for (int t = 0; t < 4; t++) {
                y.setAtIndex(Elements.F32, j + t, out[t] * d.get(Elements.F32, r0 + t * rb));
            }
        }
        for (; j < j1; j++) {
            long r = w.rowOffset(j);
            y.setAtIndex(Elements.F32, j, dot1(d, r + 4, x, k) * d.get(Elements.F32, r));
        }
    }

    static void dot4(MemorySegment w, long q0, long rb, MemorySegment x, int k, float[] out) {
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), a2 = FloatVector.zero(FS), a3 = FloatVector.zero(FS);
        for (int l = 0; l < k; l += L) {
            long wo = q0 + l;
            FloatVector xx = xv(x, 4L * l);
            a0 = b2f(w, wo).fma(xx, a0);
            a1 = b2f(w, wo + rb).fma(xx, a1);
            a2 = b2f(w, wo + 2 * rb).fma(xx, a2);
            a3 = b2f(w, wo + 3 * rb).fma(xx, a3);
        }
        out[0] = a0.reduceLanes(VectorOperators.ADD);
        out[1] = a1.reduceLanes(VectorOperators.ADD);
        out[2] = a2.reduceLanes(VectorOperators.ADD);
        out[3] = a3.reduceLanes(VectorOperators.ADD);
    }

    static void arr2(MemorySegment x, float[] xa, QuantizedMatrix w, MemorySegment y, int j0, int j1) {
        MemorySegment d = w.data();
        int k = w.cols();
        float[] out = new float[2];
        int j = j0;
        for (; j + 2 <= j1; j += 2) {
            long r0 = w.rowOffset(j);
            long r1 = w.rowOffset(j + 1);
            dot2a(d, r0 + 4, r1 + 4, xa, k, out);
            y.setAtIndex(Elements.F32, j, out[0] * d.get(Elements.F32, r0));
            y.setAtIndex(Elements.F32, j + 1, out[1] * d.get(Elements.F32, r1));
        }
        for (; j < j1; j++) {
            long r = w.rowOffset(j);
            y.setAtIndex(Elements.F32, j, dot1(d, r + 4, x, k) * d.get(Elements.F32, r));
        }
    }

    static void dot2a(MemorySegment w, long q0, long q1, float[] x, int k, float[] out) {
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), b0 = FloatVector.zero(FS), b1 = FloatVector.zero(FS);
        long d1 = q1 - q0;
        for (int l = 0; l < k; l += 2 * L) {
            long wo = q0 + l;
            FloatVector x0 = FloatVector.fromArray(FS, x, l);
            FloatVector x1 = FloatVector.fromArray(FS, x, l + L);
            a0 = b2f(w, wo).fma(x0, a0);
            b0 = b2f(w, wo + d1).fma(x0, b0);
            a1 = b2f(w, wo + L).fma(x1, a1);
            b1 = b2f(w, wo + d1 + L).fma(x1, b1);
        }
        out[0] = a0.add(a1).reduceLanes(VectorOperators.ADD);
        out[1] = b0.add(b1).reduceLanes(VectorOperators.ADD);
    }

    /** Rows j, j+1 of the first half and j+half, j+half+1 of the second. */
    static void far4(MemorySegment x, float[] xa, QuantizedMatrix w, MemorySegment y, int j0, int j1) {
        MemorySegment d = w.data();
        int k = w.cols();
        long rb = w.rowBytes();
        float[] out = new float[4];
        int half = (j1 - j0) / 4 * 2;
        int j = j0;
        for (; j < j0 + half; j += 2) {
            long r0 = w.rowOffset(j);
            long r2 = w.rowOffset(j + half);
            dot22(d, r0 + 4, rb, r2 - r0, x, k, out);
            y.setAtIndex(Elements.F32, j, out[0] * d.get(Elements.F32, r0));
            y.setAtIndex(Elements.F32, j + 1, out[1] * d.get(Elements.F32, r0 + rb));
            y.setAtIndex(Elements.F32, j + half, out[2] * d.get(Elements.F32, r2));
            y.setAtIndex(Elements.F32, j + half + 1, out[3] * d.get(Elements.F32, r2 + rb));
        }
        for (j = j0 + 2 * half; j < j1; j++) {
            long r = w.rowOffset(j);
            y.setAtIndex(Elements.F32, j, dot1(d, r + 4, x, k) * d.get(Elements.F32, r));
        }
    }

    /** Rows j, j+q, j+2q, j+3q. */
    static void quart(MemorySegment x, float[] xa, QuantizedMatrix w, MemorySegment y, int j0, int j1) {
        MemorySegment d = w.data();
        int k = w.cols();
        float[] out = new float[4];
        int q = (j1 - j0) / 4;
        long dq = q * w.rowBytes();
        for (int j = j0; j < j0 + q; j++) {
            long r0 = w.rowOffset(j);
            dot4(d, r0 + 4, dq, x, k, out);
            for (int t = 0; t < 4; t++) {
                y.setAtIndex(Elements.F32, j + t * q, out[t] * d.get(Elements.F32, r0 + t * dq));
            }
        }
        for (int j = j0 + 4 * q; j < j1; j++) {
            long r = w.rowOffset(j);
            y.setAtIndex(Elements.F32, j, dot1(d, r + 4, x, k) * d.get(Elements.F32, r));
        }
    }

    static void dot22(MemorySegment w, long q0, long rb, long far, MemorySegment x, int k, float[] out) {
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), a2 = FloatVector.zero(FS), a3 = FloatVector.zero(FS);
        FloatVector c0 = FloatVector.zero(FS), c1 = FloatVector.zero(FS), c2 = FloatVector.zero(FS), c3 = FloatVector.zero(FS);
        for (int l = 0; l < k; l += 2 * L) {
            long wo = q0 + l;
            long xo = 4L * l;
            FloatVector x0 = xv(x, xo);
            FloatVector x1 = xv(x, xo + 4L * L);
            a0 = b2f(w, wo).fma(x0, a0);
            a1 = b2f(w, wo + rb).fma(x0, a1);
            a2 = b2f(w, wo + far).fma(x0, a2);
            a3 = b2f(w, wo + far + rb).fma(x0, a3);
            c0 = b2f(w, wo + L).fma(x1, c0);
            c1 = b2f(w, wo + rb + L).fma(x1, c1);
            c2 = b2f(w, wo + far + L).fma(x1, c2);
            c3 = b2f(w, wo + far + rb + L).fma(x1, c3);
        }
        out[0] = a0.add(c0).reduceLanes(VectorOperators.ADD);
        out[1] = a1.add(c1).reduceLanes(VectorOperators.ADD);
        out[2] = a2.add(c2).reduceLanes(VectorOperators.ADD);
        out[3] = a3.add(c3).reduceLanes(VectorOperators.ADD);
    }

}
