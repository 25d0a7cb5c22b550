package dev.tokc.ir;

/**
 * The paged KV cache as the IR sees it: opaque storage of {@code layers} x (K and V) blocks laid out
 * {@code [blocks, block_size, kv_heads, head_dim]} in {@code dtype}. Block tables, allocation and eviction live in
 * the runtime only; the IR's KvWrite and PagedAttention ops carry this record instead of positional arguments.
 */
public record KvCacheSpec(int layers, int kvHeads, int headDim, int blockSize, DType dtype) {
    public KvCacheSpec {
        if (layers <= 0 || kvHeads <= 0 || headDim <= 0 || blockSize <= 0) {
            throw new IrException("kv cache spec needs positive layers, kv_heads, head_dim and block_size, got "
                    + layers + ", " + kvHeads + ", " + headDim + ", " + blockSize);
        }
    }

    /**
     * Bytes of K and V for one token across all layers: 2 x layers x kv_heads x (head_dim x dtype size); for the
     * quantized cache dtypes (fp8e4m3, i8, i4: one scale per (token, head) vector) the codes plus the scales.
     */
    public long bytesPerToken() {
        return 2L * layers * kvHeads * vectorBytes(dtype, headDim);
    }

    /** Bytes of one block of one layer's K (or V). */
    public long bytesPerBlockPerLayer() {
        return (long) blockSize * kvHeads * vectorBytes(dtype, headDim);
    }

    /** Whether {@code dtype} is a scaled quantized cache type: fp8e4m3, i8 or i4 (see {@code interp.QuantizedKv}). */
    public static boolean isQuantized(DType dtype) {
        return dtype == DType.FP8E4M3 || dtype == DType.I8 || dtype == DType.I4;
    }

    /** Bytes of one stored (token, head) vector: codes plus, when quantized, an f32 scale (i4: and an f32 offset). */
    public static long vectorBytes(DType dtype, int headDim) {
        return switch (dtype) {
            case FP8E4M3, I8 -> 4L + headDim;
            case I4 -> 8L + (headDim + 1) / 2;
            default -> (long) headDim * dtype.byteSize();
        };
    }
}
