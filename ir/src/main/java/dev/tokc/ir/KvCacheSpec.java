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

    /** Bytes of K and V for one token across all layers: 2 x layers x kv_heads x head_dim x dtype size. */
    public long bytesPerToken() {
        return 2L * layers * kvHeads * headDim * dtype.byteSize();
    }

    /** Bytes of one block of one layer's K (or V). */
    public long bytesPerBlockPerLayer() {
        return (long) blockSize * kvHeads * headDim * dtype.byteSize();
    }
}
