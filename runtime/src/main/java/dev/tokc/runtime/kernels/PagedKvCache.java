package dev.tokc.runtime.kernels;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * One layer's paged KV cache: two segments (keys, values), each laid out {@code [numBlocks, blockSize, kvHeads,
 * headDim]} densely in {@code type}. A token's slot is {@code block * blockSize + offsetInBlock}; the vector of
 * (slot, head) starts at element {@code (slot * kvHeads + head) * headDim}. Which blocks a sequence owns is the
 * runtime's business: kernels receive a block table per sequence.
 */
public record PagedKvCache(MemorySegment keys, MemorySegment values, ElementType type,
                           int numBlocks, int blockSize, int kvHeads, int headDim) {
    public PagedKvCache {
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(values, "values");
        Objects.requireNonNull(type, "type");
        if (numBlocks <= 0 || blockSize <= 0 || kvHeads <= 0 || headDim <= 0) {
            throw new IllegalArgumentException("cache geometry must be positive");
        }
        long need = (long) numBlocks * blockSize * kvHeads * headDim * type.byteSize();
        if (keys.byteSize() < need || values.byteSize() < need) {
            throw new IllegalArgumentException("cache segments too small: need " + need + " bytes each");
        }
    }

    /** Allocation size of each of the two segments. */
    public static long segmentBytes(int numBlocks, int blockSize, int kvHeads, int headDim, ElementType type) {
        return (long) numBlocks * blockSize * kvHeads * headDim * type.byteSize();
    }

    /** Byte offset of the (slot, head) vector in either segment. */
    public long offset(long slot, int head) {
        return (slot * kvHeads + head) * headDim * type.byteSize();
    }
}
