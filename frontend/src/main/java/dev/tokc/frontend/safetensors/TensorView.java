package dev.tokc.frontend.safetensors;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;

/**
 * A zero-copy view of one tensor: its name, dtype, shape and the slice of the memory-mapped file holding its
 * row-major, little-endian elements.
 *
 * <p>The segment is read-only and belongs to the {@link SafetensorsFile} that produced it: after that file is
 * closed, any access throws {@link IllegalStateException} instead of reading unmapped memory. The element
 * accessors below convert one element at a time and are meant for tests, checks and small tensors; kernels read
 * {@link #data()} directly.
 */
public record TensorView(String name, DType dtype, List<Long> shape, MemorySegment data) {
    // Safetensors stores little-endian data with no alignment promise beyond the header padding: read unaligned.
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public TensorView {
        shape = List.copyOf(shape);
        long bytes = Math.multiplyExact(elementCount(shape), (long) dtype.byteSize());
        if (data.byteSize() != bytes) {
            throw new IllegalArgumentException("tensor '" + name + "': segment has " + data.byteSize()
                    + " bytes, shape " + shape + " x " + dtype + " needs " + bytes);
        }
    }

    /** Number of dimensions. */
    public int rank() {
        return shape.size();
    }

    /** Size of dimension {@code axis}. */
    public long dim(int axis) {
        return shape.get(axis);
    }

    /** The shape as a fresh array. */
    public long[] dims() {
        return shape.stream().mapToLong(Long::longValue).toArray();
    }

    /** Product of the dimensions. */
    public long elementCount() {
        return elementCount(shape);
    }

    /** Bytes of element data. */
    public long byteSize() {
        return data.byteSize();
    }

    /** Element {@code index} (flat, row-major) as a double; exact for every dtype except I64 beyond 2^53. */
    public double getDouble(long index) {
        long offset = index * dtype.byteSize();
        return switch (dtype) {
            case F64 -> data.get(F64, offset);
            case I64 -> data.get(I64, offset);
            case I32 -> data.get(I32, offset);
            default -> getFloat(index);
        };
    }

    /**
     * Element {@code index} as a float: exact for F32, F16, BF16, FP8, the 8- and 16-bit integers and BOOL (0/1);
     * F64, I32 and I64 round to the nearest float.
     */
    public float getFloat(long index) {
        long offset = index * dtype.byteSize();
        return switch (dtype) {
            case F32 -> data.get(F32, offset);
            case F16 -> FloatFormats.f16ToFloat(data.get(I16, offset));
            case BF16 -> FloatFormats.bf16ToFloat(data.get(I16, offset));
            case F64 -> (float) data.get(F64, offset);
            case F8_E4M3 -> FloatFormats.e4m3fnToFloat(data.get(ValueLayout.JAVA_BYTE, offset));
            case F8_E5M2 -> FloatFormats.e5m2ToFloat(data.get(ValueLayout.JAVA_BYTE, offset));
            default -> (float) getLong(index);
        };
    }

    /**
     * Element {@code index} of an integer or BOOL tensor as a long (U8 zero-extended, BOOL as 0 or 1).
     *
     * @throws IllegalStateException for floating-point dtypes, which have no exact integer reading
     */
    public long getLong(long index) {
        long offset = index * dtype.byteSize();
        return switch (dtype) {
            case I64 -> data.get(I64, offset);
            case I32 -> data.get(I32, offset);
            case I16 -> data.get(I16, offset);
            case I8 -> data.get(ValueLayout.JAVA_BYTE, offset);
            case U8 -> data.get(ValueLayout.JAVA_BYTE, offset) & 0xFF;
            case BOOL -> data.get(ValueLayout.JAVA_BYTE, offset) != 0 ? 1 : 0;
            default -> throw new IllegalStateException("tensor '" + name + "' has floating-point dtype " + dtype
                    + "; read it with getFloat or getDouble");
        };
    }

    /** All elements as floats (see {@link #getFloat}); copies, so only for tensors below 2^31 elements. */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(elementCount())];
        for (int i = 0; i < out.length; i++) {
            out[i] = getFloat(i);
        }
        return out;
    }

    /** All elements as doubles (see {@link #getDouble}); copies, so only for tensors below 2^31 elements. */
    public double[] toDoubleArray() {
        double[] out = new double[Math.toIntExact(elementCount())];
        for (int i = 0; i < out.length; i++) {
            out[i] = getDouble(i);
        }
        return out;
    }

    /** All elements of an integer or BOOL tensor as longs (see {@link #getLong}). */
    public long[] toLongArray() {
        long[] out = new long[Math.toIntExact(elementCount())];
        for (int i = 0; i < out.length; i++) {
            out[i] = getLong(i);
        }
        return out;
    }

    private static long elementCount(List<Long> shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }
}
