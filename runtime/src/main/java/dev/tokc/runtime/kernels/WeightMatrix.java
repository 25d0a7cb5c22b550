package dev.tokc.runtime.kernels;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A weight matrix {@code W[rows, cols]} stored row-major and densely packed, the way a Hugging Face {@code Linear}
 * stores {@code weight[out_features, in_features]}: {@code rows} is the output dimension n, {@code cols} the
 * reduction dimension k. Element (r, c) lives at byte {@code (r * cols + c) * type.byteSize()} of {@code data}.
 * The segment is typically a zero-copy slice of a memory-mapped weights file.
 */
public record WeightMatrix(MemorySegment data, ElementType type, int rows, int cols) {
    public WeightMatrix {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(type, "type");
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException("weight matrix needs positive dimensions, got " + rows + "x" + cols);
        }
        long need = (long) rows * cols * type.byteSize();
        if (data.byteSize() < need) {
            throw new IllegalArgumentException("weight segment holds " + data.byteSize() + " bytes, "
                    + rows + "x" + cols + " " + type + " needs " + need);
        }
    }

    /** Byte offset of row {@code r}. */
    public long rowOffset(int r) {
        return (long) r * cols * type.byteSize();
    }
}
