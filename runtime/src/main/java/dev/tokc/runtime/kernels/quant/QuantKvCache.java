package dev.tokc.runtime.kernels.quant;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * One layer's paged KV cache in a {@link KvQuantFormat}: two segments (keys, values), each {@code [numBlocks,
 * blockSize, kvHeads]} stored vectors of {@code format.vectorBytes(headDim)} bytes. A token's slot is
 * {@code block * blockSize + offsetInBlock}, as for the float {@code PagedKvCache}.
 */
public record QuantKvCache(MemorySegment keys, MemorySegment values, KvQuantFormat format,
                           int numBlocks, int blockSize, int kvHeads, int headDim) {
    public QuantKvCache {
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(values, "values");
        Objects.requireNonNull(format, "format");
        if (numBlocks <= 0 || blockSize <= 0 || kvHeads <= 0 || headDim <= 0) {
            throw new IllegalArgumentException("cache geometry must be positive");
        }
        long need = segmentBytes(numBlocks, blockSize, kvHeads, headDim, format);
        if (keys.byteSize() < need || values.byteSize() < need) {
            throw new IllegalArgumentException("cache segments too small: need " + need + " bytes each");
        }
    }

    /** Allocation size of each of the two segments. */
    public static long segmentBytes(int numBlocks, int blockSize, int kvHeads, int headDim, KvQuantFormat format) {
        return (long) numBlocks * blockSize * kvHeads * format.vectorBytes(headDim);
    }

    /** Byte offset of the (slot, head) vector in either segment. */
    public long offset(long slot, int head) {
        return (slot * kvHeads + head) * format.vectorBytes(headDim);
    }
}
