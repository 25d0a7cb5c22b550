package dev.tokc.runtime.kernels.quant;

import dev.tokc.runtime.kernels.AttentionHeads;
import dev.tokc.runtime.kernels.VectorKernels;
import dev.tokc.runtime.kernels.WorkerPool;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/**
 * Paged decode attention over a {@link QuantKvCache} for {@link VectorQuantKernels}: one task per (query row, KV
 * head), so the group of query heads that share a KV head reads each cached vector once. Per tile of
 * {@value #TILE} positions the keys and values are dequantized into f32 rows ({@link #dequantize}: int8 {@code B2F}
 * lanes times the scale, fp8 by bits, int4 nibbles), and the bf16 kernel's online softmax takes it from there
 * ({@link VectorKernels.DecodeTiles}: scores with the query in registers, values for four heads at a time).
 * Before, each position was dotted with each query head and its value added into a per-head array in memory, an
 * exact two-pass softmax: 3.4-3.7x the time of the bf16 cache's kernel over the same context (AttnLab, int8 KV:
 * 155 against 42 us per layer at context 512), which undid what the smaller cache saves. Prefill chunks do not
 * come here: {@link #gather} dequantizes a sequence's K/V once for flash attention.
 */
final class VectorQuantKv {
    private VectorQuantKv() {}

    private static final int L = VectorQuantKernels.L;
    /** Positions per online-softmax update, as in {@link VectorKernels}' paged decode. */
    private static final int TILE = 64;

    static void attention(WorkerPool pool, MemorySegment q, int rows, QuantKvCache cache, int[][] tables, int[] lens,
            AttentionHeads heads, float scale, MemorySegment out) {
        int kvh = heads.kvHeads();
        int hd = heads.headDim();
        int group = heads.qHeads() / kvh;
        int bs = cache.blockSize();
        pool.parallelFor(rows * kvh, 1, (a, b) -> {
            VectorKernels.DecodeTiles d = VectorKernels.DecodeTiles.forThread(group, hd, TILE);
            for (int i = a; i < b; i++) {
                int r = i / kvh;
                int g = i % kvh;
                int[] table = tables[r];
                long first = ((long) r * heads.qHeads() + (long) g * group) * hd;
                d.begin(q, first, scale);
                for (int tt = 0; tt < lens[r]; tt += TILE) {
                    int n = Math.min(TILE, lens[r] - tt);
                    for (int j = 0; j < n; j++) {
                        int t = tt + j;
                        long off = cache.offset((long) table[t / bs] * bs + t % bs, g);
                        dequantize(cache.format(), cache.keys(), off, hd, d.keys(), j * hd);
                        dequantize(cache.format(), cache.values(), off, hd, d.values(), j * hd);
                    }
                    d.attend(n);
                }
                d.finish(out, first);
            }
        });
    }

    /** {@link QuantKernels#gatherKv}: positions in ranges over the pool, each vector decoded as in the decode loop. */
    static void gather(WorkerPool pool, QuantKvCache cache, int[] table, int ctx, MemorySegment k, MemorySegment v) {
        int hd = cache.headDim();
        int kvh = cache.kvHeads();
        int bs = cache.blockSize();
        pool.parallelFor(ctx, Math.max(1, 4096 / (kvh * hd)), (t0, t1) -> {
            float[] row = new float[hd];
            for (int t = t0; t < t1; t++) {
                long slot = (long) table[t / bs] * bs + t % bs;
                for (int h = 0; h < kvh; h++) {
                    long at = 4L * ((long) t * kvh + h) * hd;
                    dequantize(cache.format(), cache.keys(), cache.offset(slot, h), hd, row, 0);
                    MemorySegment.copy(row, 0, k, QuantKv.F32, at, hd);
                    dequantize(cache.format(), cache.values(), cache.offset(slot, h), hd, row, 0);
                    MemorySegment.copy(row, 0, v, QuantKv.F32, at, hd);
                }
            }
        });
    }

    /** Dequantizes one cached vector into {@code row[at .. at + hd)}; vector loops for whole vectors of the head dim. */
    private static void dequantize(KvQuantFormat f, MemorySegment seg, long off, int hd, float[] row, int at) {
        float scale = seg.get(QuantKv.F32, off);
        if (f == KvQuantFormat.INT8 && hd % L == 0) {
            for (int d = 0; d < hd; d += L) {
                VectorQuantKernels.int8(seg, off + 4 + d).mul(scale).intoArray(row, at + d);
            }
            return;
        }
        if (f == KvQuantFormat.FP8 && hd % L == 0) {
            // the weight kernels' decode by bits: exact for every code but the NaN codes, which the quantizer never
            // writes (QuantKv.E4M3 decodes those to NaN)
            FloatVector rebias = FloatVector.broadcast(VectorQuantKernels.FS, 0x1p120f);
            for (int d = 0; d < hd; d += L) {
                VectorQuantKernels.fp8(VectorQuantKernels.bytes(seg, off + 4 + d), rebias).mul(scale)
                        .intoArray(row, at + d);
            }
            return;
        }
        if (f == KvQuantFormat.INT4 && hd % (2 * L) == 0) {
            // byte i holds elements 2i (low nibble) and 2i + 1 (high): decoded as two vectors, then interleaved
            float lo = seg.get(QuantKv.F32, off + 4);
            for (int d = 0; d < hd; d += 2 * L) {
                IntVector v = VectorQuantKernels.bytes(seg, off + 8 + d / 2);
                FloatVector even = ((FloatVector) v.and(0xf).convert(VectorOperators.I2F, 0)).mul(scale).add(lo);
                FloatVector odd = ((FloatVector) v.lanewise(VectorOperators.ASHR, 4).and(0xf)
                        .convert(VectorOperators.I2F, 0)).mul(scale).add(lo);
                even.rearrange(ZIP_LOW, odd).intoArray(row, at + d);
                even.rearrange(ZIP_HIGH, odd).intoArray(row, at + d + L);
            }
            return;
        }
        QuantKv.dequantize(f, seg, off, hd, row, at);
    }

    /** Lanes 0, L, 1, L + 1, ... of (this, other): the first halves of two vectors interleaved. */
    private static final VectorShuffle<Float> ZIP_LOW = zip(0);
    /** As {@link #ZIP_LOW} for the second halves. */
    private static final VectorShuffle<Float> ZIP_HIGH = zip(L / 2);

    private static VectorShuffle<Float> zip(int from) {
        int[] lanes = new int[L];
        for (int i = 0; i < L / 2; i++) {
            lanes[2 * i] = from + i;
            lanes[2 * i + 1] = L + from + i; // an index past the vector: the second operand's lane
        }
        return VectorShuffle.fromValues(VectorQuantKernels.FS, lanes);
    }
}
