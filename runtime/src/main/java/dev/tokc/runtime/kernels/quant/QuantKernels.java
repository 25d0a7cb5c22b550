package dev.tokc.runtime.kernels.quant;

import java.lang.foreign.MemorySegment;

/**
 * Matrix products over packed quantized weights: {@code y[m, n] = x[m, k] . dequant(W)[n, k]^T (+ bias[n])} with
 * f32 activations, for every {@link QuantFormat}. Two implementations, compared in tests over a generated format x
 * group size x shape grid: {@link ReferenceQuantKernels} (dequantize a row to float64, then dot in float64) and
 * {@link VectorQuantKernels} (Vector API, dequantization fused into the inner loop, multi-threaded).
 *
 * <p>Conventions are those of {@code dev.tokc.runtime.kernels.Kernels}: f32 activations, outputs and bias,
 * little-endian, densely packed row-major; segments touched from a pool's threads must come from a shared, global,
 * automatic or mapped arena; {@code y} must not alias {@code x}. Results agree with the reference to 1e-5
 * relative to the largest output magnitude (the quantized values are the same on both sides: the tolerance covers
 * float32 accumulation only).
 */
public interface QuantKernels {

    /**
     * {@code y[m, n] = x[m, k] . dequant(W)[n, k]^T (+ bias[n])} with {@code n = w.rows()}, {@code k = w.cols()};
     * {@code bias} may be {@code null}. m = 1 is a decode GEMV; for m &gt; 1 each weight row is read from memory once
     * per block of activation rows, not once per row.
     */
    void gemm(MemorySegment x, int m, QuantizedMatrix w, MemorySegment bias, MemorySegment y);

    /** {@code y[n] = dequant(W)[n, k] . x[k] (+ bias)}: {@link #gemm} with m = 1. */
    default void gemv(MemorySegment x, QuantizedMatrix w, MemorySegment bias, MemorySegment y) {
        gemm(x, 1, w, bias, y);
    }

    /** Throws unless the segments are large enough for the product: shared by the implementations. */
    static void checkGemm(MemorySegment x, int m, QuantizedMatrix w, MemorySegment bias, MemorySegment y) {
        if (m <= 0) {
            throw new IllegalArgumentException("gemm needs m >= 1, got " + m);
        }
        long k = w.cols();
        long n = w.rows();
        if (x.byteSize() < 4 * m * k) {
            throw new IllegalArgumentException("x holds " + x.byteSize() + " bytes, [" + m + ", " + k + "] f32 needs " + 4 * m * k);
        }
        if (y.byteSize() < 4 * m * n) {
            throw new IllegalArgumentException("y holds " + y.byteSize() + " bytes, [" + m + ", " + n + "] f32 needs " + 4 * m * n);
        }
        if (bias != null && bias.byteSize() < 4 * n) {
            throw new IllegalArgumentException("bias holds " + bias.byteSize() + " bytes, [" + n + "] f32 needs " + 4 * n);
        }
    }

    // ---- quantized KV cache (issue 7) ------------------------------------------------------------------------------

    /**
     * Writes {@code k, v : [tokens, kvHeads, headDim]} (f32) into a quantized cache at flat {@code slots}, one scale
     * per (token, head) vector ({@link QuantKv}); negative slots are padding and skipped.
     */
    default void kvWrite(MemorySegment k, MemorySegment v, int tokens, int[] slots, QuantKvCache cache) {
        QuantKv.write(cache, k, v, tokens, slots);
    }

    /**
     * The first {@code ctx} positions of one sequence (block table {@code table}) dequantized to f32 {@code k, v :
     * [ctx, kvHeads, headDim]}: what a prefill chunk's flash attention reads, dequantized once for all its query rows.
     */
    default void gatherKv(QuantKvCache cache, int[] table, int ctx, MemorySegment k, MemorySegment v) {
        int hd = cache.headDim();
        int bs = cache.blockSize();
        float[] row = new float[hd];
        for (int t = 0; t < ctx; t++) {
            long slot = (long) table[t / bs] * bs + t % bs;
            for (int h = 0; h < cache.kvHeads(); h++) {
                long at = 4L * ((long) t * cache.kvHeads() + h) * hd;
                QuantKv.dequantize(cache.format(), cache.keys(), cache.offset(slot, h), hd, row, 0);
                MemorySegment.copy(row, 0, k, QuantKv.F32, at, hd);
                QuantKv.dequantize(cache.format(), cache.values(), cache.offset(slot, h), hd, row, 0);
                MemorySegment.copy(row, 0, v, QuantKv.F32, at, hd);
            }
        }
    }

    /**
     * Decode attention over a quantized paged cache, dequantizing keys and values as it reads them: for each of the
     * {@code rows} query rows of {@code q : [rows, qHeads, headDim]}, causal attention over the first
     * {@code contextLens[r]} positions of block table {@code blockTables[r]}; result {@code out : [rows, qHeads,
     * headDim]}. Query head h reads KV head {@code h / (qHeads / kvHeads)} (GQA). Same contract as the float
     * {@code Kernels.pagedAttention}.
     */
    void pagedAttention(MemorySegment q, int rows, QuantKvCache cache, int[][] blockTables, int[] contextLens,
            dev.tokc.runtime.kernels.AttentionHeads heads, float scale, MemorySegment out);
}
