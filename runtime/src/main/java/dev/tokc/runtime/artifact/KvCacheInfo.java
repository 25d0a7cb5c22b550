package dev.tokc.runtime.artifact;

/**
 * The paged KV cache the compiled program expects, as the manifest records it: the runtime's own copy of the IR's
 * {@code KvCacheSpec} (the runtime may not depend on the IR module), so it can size the cache before loading the
 * program.
 *
 * @param layers    layers with a KV cache
 * @param kvHeads   key/value heads per layer (only KV heads are stored, never the repeated query groups)
 * @param headDim   elements per head
 * @param blockSize tokens per block
 * @param dtype     element type of the cache (e.g. {@code f32}, {@code bf16}, {@code fp8e4m3}, {@code int8})
 * @param layout    the block layout tag; {@link #BLOCK_MAJOR} is the only layout the kernels use today
 */
public record KvCacheInfo(int layers, int kvHeads, int headDim, int blockSize, String dtype, String layout) {
    /** {@code [blocks, block_size, kv_heads, head_dim]} per layer, for K and for V. */
    public static final String BLOCK_MAJOR = "blocks,block_size,kv_heads,head_dim";

    public KvCacheInfo {
        if (layers <= 0 || kvHeads <= 0 || headDim <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("kv cache needs positive layers, kv_heads, head_dim and block_size, got "
                    + layers + ", " + kvHeads + ", " + headDim + ", " + blockSize);
        }
        if (dtype == null || dtype.isBlank() || layout == null || layout.isBlank()) {
            throw new IllegalArgumentException("kv cache needs a dtype and a layout tag");
        }
    }
}
