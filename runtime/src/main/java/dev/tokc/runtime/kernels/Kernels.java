package dev.tokc.runtime.kernels;

import java.lang.foreign.MemorySegment;

/**
 * The runtime's CPU compute layer: every op the JVM executor needs, over {@link MemorySegment}s.
 *
 * <p>Two implementations exist and are compared in tests over a generated dtype x shape grid:
 * {@link ReferenceKernels} (scalar, float64 accumulation, obviously correct, slow) and {@link VectorKernels}
 * (Vector API, multi-threaded through a {@link WorkerPool}).
 *
 * <p>Conventions shared by all ops:
 * <ul>
 *   <li>Activations are f32, little-endian, densely packed row-major; a shape is written {@code [a, b, c]} and an
 *       element offset is the usual {@code ((i * b) + j) * c + l}. Segments may be larger than needed; offsets
 *       start at 0, callers pass {@link MemorySegment#asSlice slices} (zero-copy) to address sub-tensors.</li>
 *   <li>Weights of matrix ops may be f32, bf16 or f16 ({@link WeightMatrix}); norm weights and biases are f32.</li>
 *   <li>Multi-threaded implementations touch the segments from their pool's threads: segments must come from a
 *       shared, global or automatic arena (or a file mapping in one), not a confined arena.</li>
 *   <li>Outputs may alias inputs only where an op says so ("in place allowed").</li>
 *   <li>Results agree with the reference to 1e-5 relative to the largest output magnitude for f32 data; 16-bit
 *       inputs are compared on the same 16-bit-rounded data, so the same tolerance applies.</li>
 * </ul>
 */
public interface Kernels {

    // ---- conversions ---------------------------------------------------------------------------------------

    /**
     * Widens {@code count} elements of {@code type} at {@code src} to f32 at {@code dst}. bf16 is exact
     * (bits shifted left by 16); f16 follows {@link Float#float16ToFloat(short)} (NaN payloads preserved, though a
     * signalling NaN may come back quiet).
     */
    void toF32(MemorySegment src, ElementType type, MemorySegment dst, long count);

    /**
     * Narrows {@code count} f32 values at {@code src} to {@code type} at {@code dst}, rounding to nearest even.
     * f16 follows {@link Float#floatToFloat16(float)} bit for bit (overflow to infinity, gradual underflow, NaN
     * payload rule); bf16 turns every NaN into the quiet NaN {@code 0x7fc0} with the input's sign.
     */
    void fromF32(MemorySegment src, MemorySegment dst, ElementType type, long count);

    // ---- matrix products -----------------------------------------------------------------------------------

    /**
     * {@code y[m, n] = x[m, k] . W[n, k]^T (+ bias[n])}: a Hugging Face {@code Linear} over {@code m} activation
     * rows, with {@code n = w.rows()} and {@code k = w.cols()}. {@code bias} may be {@code null}. {@code y} must not
     * alias {@code x}. m = 1 is a GEMV (decode); the vector implementation reuses each weight row it loads across a
     * block of activation rows, so batched decode and prefill read the weights far fewer times than m.
     */
    void gemm(MemorySegment x, int m, WeightMatrix w, MemorySegment bias, MemorySegment y);

    /** {@code y[n] = W[n, k] . x[k] (+ bias)}: {@link #gemm} with m = 1. */
    default void gemv(MemorySegment x, WeightMatrix w, MemorySegment bias, MemorySegment y) {
        gemm(x, 1, w, bias, y);
    }

    // ---- normalisation and element-wise ops ----------------------------------------------------------------

    /**
     * RMSNorm over the last dimension: {@code y[r, i] = x[r, i] / sqrt(mean_i(x[r]^2) + eps) * weight[i]} for
     * {@code x, y : [rows, dim]}, {@code weight : [dim]}. In place allowed.
     */
    void rmsNorm(MemorySegment x, MemorySegment weight, float eps, int rows, int dim, MemorySegment y);

    /**
     * LayerNorm over the last dimension with biased variance: {@code y = (x - mean) / sqrt(var + eps) * weight +
     * bias}; {@code bias} may be {@code null}. In place allowed.
     */
    void layerNorm(MemorySegment x, MemorySegment weight, MemorySegment bias, float eps, int rows, int dim,
                   MemorySegment y);

    /**
     * Rotary position embedding, in place, on {@code x : [tokens, heads, headDim]}. The first
     * {@code rotaryDim = 2 * invFreq.length} dimensions of every head are rotated (partial rotary leaves the rest
     * alone); pair p (see {@link RopeLayout}) of token t turns by {@code angle = positions[t] * invFreq[p]},
     * computed in f32 as Hugging Face does, with cos/sin evaluated in float64 and rounded to f32:
     * {@code (a, b) -> (a cos - b sin, b cos + a sin)}. Queries and keys (different head counts) are two calls.
     */
    void rope(MemorySegment x, int tokens, int heads, int headDim, int[] positions, float[] invFreq,
              RopeLayout layout);

    /** {@code out[i] = silu(gate[i]) * up[i]} with {@code silu(g) = g / (1 + exp(-g))}. In place allowed. */
    void swiglu(MemorySegment gate, MemorySegment up, MemorySegment out, int count);

    /** {@code out[i] = gelu(x[i])} in the given {@link GeluForm}. In place allowed. */
    void gelu(MemorySegment x, MemorySegment out, int count, GeluForm form);

    /** Row-wise softmax of {@code x : [rows, cols]} into {@code y} (max-subtracted, so it never overflows). In place allowed. */
    void softmax(MemorySegment x, int rows, int cols, MemorySegment y);

    /** {@code out[i] = a[i] + b[i]}: the residual add. In place allowed. */
    void add(MemorySegment a, MemorySegment b, MemorySegment out, int count);

    // ---- attention -----------------------------------------------------------------------------------------

    /**
     * Causal attention for prefill, FlashAttention style (tiled, online softmax, the score matrix never exists).
     * {@code q : [queries, qHeads, headDim]}, {@code k, v : [keys, kvHeads, headDim]} (f32),
     * {@code out : [queries, qHeads, headDim]}. Query i sits at absolute position {@code keys - queries + i} and
     * attends to keys {@code 0 ..= that position}, so {@code keys > queries} continues a prefix already in k/v.
     * {@code out = softmax(scale * q k^T + causal mask) v}, GQA per {@link AttentionHeads}. Requires
     * {@code keys >= queries}.
     */
    void flashAttention(MemorySegment q, int queries, MemorySegment k, MemorySegment v, int keys,
                        AttentionHeads heads, float scale, MemorySegment out);

    /**
     * Decode attention over a paged KV cache: one query token per sequence. {@code q, out : [seqs, qHeads,
     * headDim]}; sequence s attends to its first {@code contextLens[s]} cached tokens, token t being in block
     * {@code blockTables[s][t / blockSize]} at offset {@code t % blockSize}. KV heads and head dim come from the
     * cache and must match {@code heads}; a sequence with context length 0 gets zeros. Each KV head's cache is read
     * once per sequence for its whole query group.
     */
    void pagedAttention(MemorySegment q, int seqs, PagedKvCache cache, int[][] blockTables, int[] contextLens,
                        AttentionHeads heads, float scale, MemorySegment out);

    /**
     * Writes {@code k, v : [tokens, kvHeads, headDim]} (f32) into the cache at {@code slots[t]} (slot =
     * {@code block * blockSize + offset}), converting to the cache's element type with {@link #fromF32} rounding.
     * A negative slot skips the token (padding).
     */
    void kvWrite(MemorySegment k, MemorySegment v, int tokens, int[] slots, PagedKvCache cache);

    /**
     * The matching kernels over packed quantized weights (issue 7): the scalar reference here; Vector API kernels on
     * the same worker pool where this is a vector implementation.
     */
    default dev.tokc.runtime.kernels.quant.QuantKernels quantKernels() {
        return new dev.tokc.runtime.kernels.quant.ReferenceQuantKernels();
    }
}
