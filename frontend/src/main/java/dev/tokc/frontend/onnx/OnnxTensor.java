package dev.tokc.frontend.onnx;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * A decoded dense ONNX tensor: a name, an {@link OnnxDataType}, a shape and the elements in one Java array,
 * row-major. The array type is fixed by the dtype, so that every element keeps its exact bits:
 *
 * <table>
 *   <caption>array per dtype</caption>
 *   <tr><th>dtype</th><th>array</th><th>element</th></tr>
 *   <tr><td>FLOAT / DOUBLE</td><td>float[] / double[]</td><td>the value</td></tr>
 *   <tr><td>COMPLEX64 / COMPLEX128</td><td>float[] / double[]</td><td>two entries per element (re, im)</td></tr>
 *   <tr><td>FLOAT16, BFLOAT16</td><td>short[]</td><td>the 16-bit pattern</td></tr>
 *   <tr><td>FLOAT8*, FLOAT8E8M0, FLOAT4E2M1</td><td>byte[]</td><td>the 8-bit (or low 4-bit) pattern</td></tr>
 *   <tr><td>INT8, UINT8</td><td>byte[]</td><td>two's complement bits (read UINT8 unsigned)</td></tr>
 *   <tr><td>INT16, UINT16</td><td>short[]</td><td>likewise</td></tr>
 *   <tr><td>INT32, UINT32</td><td>int[]</td><td>likewise</td></tr>
 *   <tr><td>INT64, UINT64</td><td>long[]</td><td>likewise</td></tr>
 *   <tr><td>INT4, INT2 / UINT4, UINT2</td><td>byte[]</td><td>one element per byte, sign-extended / 0..15</td></tr>
 *   <tr><td>BOOL</td><td>boolean[]</td><td>the value</td></tr>
 *   <tr><td>STRING</td><td>byte[][]</td><td>the bytes (UTF-8 by convention)</td></tr>
 * </table>
 *
 * <p>{@link #getDouble} and {@link #getLong} read any element as a number whatever the storage (decoding the
 * narrow float formats and unsigned integers), which is what conformance comparisons want.
 *
 * <p>The typed accessors return the backing array without copying, because weight tensors are large; callers
 * must treat it as read-only. Instances are otherwise immutable.
 */
public final class OnnxTensor implements OnnxValue {
    private final String name;
    private final OnnxDataType dtype;
    private final long[] shape;
    private final int elementCount;
    private final Object data;

    private OnnxTensor(String name, OnnxDataType dtype, long[] shape, Object data) {
        this.name = Objects.requireNonNull(name, "name");
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.shape = shape.clone();
        long count = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            count = Math.multiplyExact(count, d);
        }
        Class<?> expected = arrayClass(dtype);
        if (data.getClass() != expected) {
            throw new IllegalArgumentException(dtype + " is stored as " + expected.getSimpleName() + ", not "
                    + data.getClass().getSimpleName());
        }
        int perElement = dtype == OnnxDataType.COMPLEX64 || dtype == OnnxDataType.COMPLEX128 ? 2 : 1;
        if (java.lang.reflect.Array.getLength(data) != count * perElement) {
            throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " needs "
                    + count * perElement + " array entries, got " + java.lang.reflect.Array.getLength(data));
        }
        this.elementCount = Math.toIntExact(count);
        this.data = data;
    }

    /**
     * A tensor over {@code data}, which must be the array type the class comment gives for {@code dtype} and
     * hold exactly the elements {@code shape} calls for. The array is not copied.
     */
    public static OnnxTensor of(String name, OnnxDataType dtype, long[] shape, Object data) {
        return new OnnxTensor(name, dtype, shape, Objects.requireNonNull(data, "data"));
    }

    /** The Java array class that holds elements of {@code dtype}. */
    public static Class<?> arrayClass(OnnxDataType dtype) {
        return switch (dtype) {
            case FLOAT, COMPLEX64 -> float[].class;
            case DOUBLE, COMPLEX128 -> double[].class;
            case FLOAT16, BFLOAT16, INT16, UINT16 -> short[].class;
            case FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ, FLOAT8E8M0, FLOAT4E2M1,
                 INT8, UINT8, INT4, UINT4, INT2, UINT2 -> byte[].class;
            case INT32, UINT32 -> int[].class;
            case INT64, UINT64 -> long[].class;
            case BOOL -> boolean[].class;
            case STRING -> byte[][].class;
            case UNDEFINED -> throw new IllegalArgumentException("UNDEFINED has no element storage");
        };
    }

    /** The tensor's name in the model (may be empty). */
    @Override
    public String name() {return name;}

    public OnnxDataType dtype() {return dtype;}

    /** A copy of the shape; empty for a scalar. */
    public long[] shape() {return shape.clone();}

    public int rank() {return shape.length;}

    /** The number of elements (a complex number counts once). */
    public int elementCount() {return elementCount;}

    /** The backing array, of the type {@link #arrayClass} gives for the dtype. */
    public Object data() {return data;}

    public float[] floats() {return as(float[].class);}

    public double[] doubles() {return as(double[].class);}

    public short[] shorts() {return as(short[].class);}

    public byte[] bytes() {return as(byte[].class);}

    public int[] ints() {return as(int[].class);}

    public long[] longs() {return as(long[].class);}

    public boolean[] booleans() {return as(boolean[].class);}

    public byte[][] strings() {return as(byte[][].class);}

    /** STRING element {@code i} decoded as UTF-8. */
    public String getString(int i) {return new String(strings()[i], StandardCharsets.UTF_8);}

    private <T> T as(Class<T> type) {
        if (data.getClass() != type) {
            throw new IllegalStateException("tensor '" + name + "' is " + dtype + ", stored as "
                    + data.getClass().getSimpleName() + ", not " + type.getSimpleName());
        }
        return type.cast(data);
    }

    /**
     * Element {@code i} (row-major) as a double: floats of every width decoded (NaN and infinities kept),
     * integers with their signedness, BOOL as 0 or 1. UINT64 values above 2^63 lose precision.
     *
     * @throws IllegalStateException for STRING and complex tensors, which have no single real value
     */
    public double getDouble(int i) {
        return switch (dtype) {
            case FLOAT -> ((float[]) data)[i];
            case DOUBLE -> ((double[]) data)[i];
            case FLOAT16 -> Float.float16ToFloat(((short[]) data)[i]);
            case BFLOAT16 -> Float.intBitsToFloat((((short[]) data)[i] & 0xFFFF) << 16);
            case FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ, FLOAT8E8M0, FLOAT4E2M1 ->
                    MiniFloats.decode(dtype, ((byte[]) data)[i]);
            case UINT64 -> {
                long v = ((long[]) data)[i];
                yield v >= 0 ? v : (double) (v >>> 1) * 2.0 + (v & 1);
            }
            case STRING, COMPLEX64, COMPLEX128, UNDEFINED ->
                    throw new IllegalStateException("tensor '" + name + "' of " + dtype + " has no real values");
            default -> getLong(i);
        };
    }

    /**
     * Element {@code i} of an integer or BOOL tensor as a long: signed types sign-extended, unsigned ones
     * zero-extended (UINT64 keeps its bits, so values above 2^63 read negative).
     *
     * @throws IllegalStateException for floating-point, STRING and complex tensors
     */
    public long getLong(int i) {
        return switch (dtype) {
            case INT8, INT4, INT2 -> ((byte[]) data)[i];
            case UINT8, UINT4, UINT2 -> ((byte[]) data)[i] & 0xFFL;
            case INT16 -> ((short[]) data)[i];
            case UINT16 -> ((short[]) data)[i] & 0xFFFFL;
            case INT32 -> ((int[]) data)[i];
            case UINT32 -> ((int[]) data)[i] & 0xFFFF_FFFFL;
            case INT64, UINT64 -> ((long[]) data)[i];
            case BOOL -> ((boolean[]) data)[i] ? 1 : 0;
            default -> throw new IllegalStateException("tensor '" + name + "' of " + dtype + " is not integral");
        };
    }

    /** All elements through {@link #getDouble}. */
    public double[] toDoubleArray() {
        double[] out = new double[elementCount];
        for (int i = 0; i < out.length; i++) out[i] = getDouble(i);
        return out;
    }

    @Override
    public String toString() {
        return "OnnxTensor[" + (name.isEmpty() ? "" : "'" + name + "' ") + dtype + Arrays.toString(shape) + "]";
    }
}
