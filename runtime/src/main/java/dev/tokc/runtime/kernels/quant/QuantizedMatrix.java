package dev.tokc.runtime.kernels.quant;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A packed quantized weight matrix {@code W[rows, cols]} in the layout of {@link Quantizer}, the way a Hugging Face
 * {@code Linear} stores {@code weight[out_features, in_features]}: {@code rows} is the output dimension n,
 * {@code cols} the reduction dimension k. Row r starts at byte {@code r * type.bytesPerRow(cols)}. The segment is
 * typically a zero-copy slice of the memory-mapped weights file; it is only read.
 */
public record QuantizedMatrix(MemorySegment data, QuantType type, int rows, int cols) {
    public QuantizedMatrix {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(type, "type");
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException("weight matrix needs positive dimensions, got " + rows + "x" + cols);
        }
        long need = type.packedBytes(rows, cols);
        if (data.byteSize() < need) {
            throw new IllegalArgumentException("weight segment holds " + data.byteSize() + " bytes, "
                    + rows + "x" + cols + " " + type + " needs " + need);
        }
    }

    /** Bytes of one packed row. */
    public long rowBytes() {
        return type.bytesPerRow(cols);
    }

    /** Byte offset of row {@code r}. */
    public long rowOffset(int r) {
        return r * rowBytes();
    }

    /** Packed bytes of the whole matrix: what a GEMV reads from memory. */
    public long packedBytes() {
        return type.packedBytes(rows, cols);
    }
}
