package dev.tokc.runtime.kernels.quant;

import dev.tokc.runtime.kernels.AttentionHeads;
import dev.tokc.runtime.kernels.WorkerPool;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Paged decode attention over a {@link QuantKvCache} for {@link VectorQuantKernels}: one task per (query row, KV
 * head), so the group of query heads that share a KV head reads each cached vector once. Per position the key (then
 * the value) vector is dequantized into a float scratch row (int8: {@code B2F} lanes times the scale; fp8: a 256-entry
 * table; int4: nibbles), then dotted with / accumulated into every query head of the group with FloatVector FMAs.
 * Two passes per task: all scores, then the softmax-weighted sum of values (exact softmax, no rescaling).
 */
final class VectorQuantKv {
    private VectorQuantKv() {}

    private static final int L = VectorQuantKernels.L;

    private static final class Scratch {
        float[] q = new float[0];
        float[] scores = new float[0];
        float[] row = new float[0];
        float[] acc = new float[0];

        float[] grow(float[] a, int n) {
            return a.length >= n ? a : new float[Math.max(n, 2 * a.length)];
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    static void attention(WorkerPool pool, MemorySegment q, int rows, QuantKvCache cache, int[][] tables, int[] lens,
            AttentionHeads heads, float scale, MemorySegment out) {
        int kvh = heads.kvHeads();
        pool.parallelFor(rows * kvh, 1, (a, b) -> {
            for (int i = a; i < b; i++) {
                one(q, i / kvh, i % kvh, cache, tables, lens, heads, scale, out);
            }
        });
    }

    private static void one(MemorySegment q, int r, int g, QuantKvCache cache, int[][] tables, int[] lens,
            AttentionHeads heads, float scale, MemorySegment out) {
        int hd = heads.headDim();
        int group = heads.qHeads() / heads.kvHeads();
        int n = lens[r];
        int bs = cache.blockSize();
        int[] table = tables[r];
        Scratch s = SCRATCH.get();
        float[] qv = s.q = s.grow(s.q, group * hd);
        float[] sc = s.scores = s.grow(s.scores, group * n);
        float[] row = s.row = s.grow(s.row, hd);
        float[] acc = s.acc = s.grow(s.acc, group * hd);
        long qBase = ((long) r * heads.qHeads() + (long) g * group) * hd * 4;
        MemorySegment.copy(q, QuantKv.F32, qBase, qv, 0, group * hd);
        for (int t = 0; t < n; t++) {
            long slot = (long) table[t / bs] * bs + t % bs;
            dequantize(cache.format(), cache.keys(), cache.offset(slot, g), hd, row);
            for (int j = 0; j < group; j++) {
                sc[j * n + t] = dot(qv, j * hd, row, hd) * scale;
            }
        }
        java.util.Arrays.fill(acc, 0, group * hd, 0f);
        float[] inv = new float[group];
        for (int j = 0; j < group; j++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int t = 0; t < n; t++) {
                max = Math.max(max, sc[j * n + t]);
            }
            float sum = 0;
            for (int t = 0; t < n; t++) {
                float e = (float) Math.exp(sc[j * n + t] - max);
                sc[j * n + t] = e;
                sum += e;
            }
            inv[j] = 1 / sum;
        }
        for (int t = 0; t < n; t++) {
            long slot = (long) table[t / bs] * bs + t % bs;
            dequantize(cache.format(), cache.values(), cache.offset(slot, g), hd, row);
            for (int j = 0; j < group; j++) {
                axpy(sc[j * n + t] * inv[j], row, acc, j * hd, hd);
            }
        }
        MemorySegment.copy(acc, 0, out, QuantKv.F32, qBase, group * hd);
    }

    /** Dequantizes one cached vector into {@code row[0 .. hd)}. */
    private static void dequantize(KvQuantFormat f, MemorySegment seg, long off, int hd, float[] row) {
        if (f == KvQuantFormat.INT8 && hd % L == 0) {
            float scale = seg.get(QuantKv.F32, off);
            for (int d = 0; d < hd; d += L) {
                FloatVector v = (FloatVector) ByteVector.fromMemorySegment(VectorQuantKernels.BS, seg, off + 4 + d,
                        VectorQuantKernels.LE).convertShape(VectorOperators.B2F, VectorQuantKernels.FS, 0);
                v.mul(scale).intoArray(row, d);
            }
            return;
        }
        QuantKv.dequantize(f, seg, off, hd, row, 0);
    }

    private static float dot(float[] a, int aOff, float[] b, int n) {
        int d = 0;
        float sum = 0;
        if (n >= L) {
            FloatVector acc = FloatVector.zero(VectorQuantKernels.FS);
            for (; d + L <= n; d += L) {
                acc = FloatVector.fromArray(VectorQuantKernels.FS, a, aOff + d)
                        .fma(FloatVector.fromArray(VectorQuantKernels.FS, b, d), acc);
            }
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; d < n; d++) {
            sum += a[aOff + d] * b[d];
        }
        return sum;
    }

    /** {@code acc[off + i] += w * x[i]}. */
    private static void axpy(float w, float[] x, float[] acc, int off, int n) {
        int d = 0;
        FloatVector wv = FloatVector.broadcast(VectorQuantKernels.FS, w);
        for (; d + L <= n; d += L) {
            FloatVector.fromArray(VectorQuantKernels.FS, x, d)
                    .fma(wv, FloatVector.fromArray(VectorQuantKernels.FS, acc, off + d)).intoArray(acc, off + d);
        }
        for (; d < n; d++) {
            acc[off + d] += w * x[d];
        }
    }
}
