package dev.tokc.runtime.kernels;

/**
 * Head geometry of one attention layer. With grouped-query attention ({@code kvHeads < qHeads}) the query heads
 * {@code [g * groupSize(), (g + 1) * groupSize())} all read KV head {@code g}; the kernels never copy KV heads to
 * match the query heads (no {@code repeat_kv}).
 */
public record AttentionHeads(int qHeads, int kvHeads, int headDim) {
    public AttentionHeads {
        if (qHeads <= 0 || kvHeads <= 0 || headDim <= 0) {
            throw new IllegalArgumentException("attention heads must be positive: " + qHeads + "/" + kvHeads + "/" + headDim);
        }
        if (qHeads % kvHeads != 0) {
            throw new IllegalArgumentException("qHeads " + qHeads + " is not a multiple of kvHeads " + kvHeads);
        }
    }

    /** Query heads per KV head. */
    public int groupSize() {
        return qHeads / kvHeads;
    }
}
