package dev.tokc.runtime.kernels.quant;

import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.Objects;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A packed quantized weight matrix {@code W[rows, cols]} in the layout of {@link Quantizer}, the way a Hugging Face
 * {@code Linear} stores {@code weight[out_features, in_features]}: {@code rows} is the output dimension n,
 * {@code cols} the reduction dimension k. Row r starts at byte {@code r * type.bytesPerRow(cols)}. The segment is
 * typically a zero-copy slice of the memory-mapped weights file; it is only read, and its bytes do not change once
 * a kernel has used it (the fp8 NaN rows are computed once, {@link #fp8NanRows}).
 */
public final class QuantizedMatrix {
    private static final VectorSpecies<Byte> BYTES = ByteVector.SPECIES_PREFERRED;

    private final MemorySegment data;
    private final QuantType type;
    private final int rows;
    private final int cols;
    /** fp8: the rows holding a NaN code, found on first use. */
    private volatile BitSet nanRows;

    public QuantizedMatrix(MemorySegment data, QuantType type, int rows, int cols) {
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
        this.data = data;
        this.type = type;
        this.rows = rows;
        this.cols = cols;
    }

    public MemorySegment data() {
        return data;
    }

    public QuantType type() {
        return type;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
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

    /**
     * The rows of an fp8 matrix that hold a NaN code (S.1111.111), whose products are NaN: one pass over the
     * matrix on the first call (~30 ms per GB), so the kernels need no NaN test per vector.
     */
    public BitSet fp8NanRows() {
        if (type.format() != QuantFormat.FP8) {
            throw new IllegalStateException("NaN rows are an fp8 matter; this matrix is " + type);
        }
        BitSet b = nanRows;
        if (b == null) {
            b = new BitSet(rows);
            for (int r = 0; r < rows; r++) {
                if (holdsNanCode(rowOffset(r) + 4)) { // codes after the row's f32 scale
                    b.set(r);
                }
            }
            nanRows = b;
        }
        return b;
    }

    private boolean holdsNanCode(long at) {
        int step = BYTES.length();
        int c = 0;
        for (; c + step <= cols; c += step) {
            ByteVector v = ByteVector.fromMemorySegment(BYTES, data, at + c, java.nio.ByteOrder.LITTLE_ENDIAN);
            if (v.and((byte) 0x7f).compare(VectorOperators.EQ, (byte) 0x7f).anyTrue()) {
                return true;
            }
        }
        for (; c < cols; c++) {
            if ((data.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at + c) & 0x7f) == 0x7f) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return "QuantizedMatrix[" + rows + "x" + cols + " " + type + "]";
    }
}
