package dev.tokc.ir;

import java.util.Arrays;
import java.util.function.LongToDoubleFunction;

/**
 * A concrete tensor value: constants in the graph ({@code Constant}) and the values of the reference interpreter.
 *
 * <p>Floating-point dtypes are held as {@code double[]} whose values are already rounded to the dtype (an f32
 * tensor holds only values representable as float); integer and bool dtypes as {@code long[]} wrapped to the
 * dtype's width (bool is 0 or 1). Immutable by contract: the arrays returned by {@link #doubles()} and
 * {@link #longs()} are the tensor's own and must not be written. Row-major, shape as {@code long[]}.
 */
public final class Tensor {
    private final DType dtype;
    private final long[] shape;
    private final double[] doubles;
    private final long[] longs;
    private int hash;

    private Tensor(DType dtype, long[] shape, double[] doubles, long[] longs) {
        this.dtype = dtype;
        this.shape = shape;
        this.doubles = doubles;
        this.longs = longs;
        long n = count(shape);
        long len = doubles != null ? doubles.length : longs.length;
        if (n != len) {
            throw new IllegalArgumentException("tensor of shape " + Arrays.toString(shape) + " needs " + n
                    + " elements, got " + len);
        }
    }

    /** A float tensor; values are rounded to the dtype. Takes ownership of {@code data}. */
    public static Tensor ofDoubles(DType dtype, long[] shape, double[] data) {
        if (!dtype.isFloat()) {
            throw new IllegalArgumentException("ofDoubles needs a float dtype, got " + dtype);
        }
        if (dtype != DType.F64) {
            for (int i = 0; i < data.length; i++) {
                data[i] = FloatFormats.round(dtype, data[i]);
            }
        }
        return new Tensor(dtype, shape.clone(), data, null);
    }

    /** An integer or bool tensor; values are wrapped to the dtype's width. Takes ownership of {@code data}. */
    public static Tensor ofLongs(DType dtype, long[] shape, long[] data) {
        if (dtype.isFloat()) {
            throw new IllegalArgumentException("ofLongs needs an integer or bool dtype, got " + dtype);
        }
        for (int i = 0; i < data.length; i++) {
            data[i] = wrap(dtype, data[i]);
        }
        return new Tensor(dtype, shape.clone(), null, data);
    }

    /** Any dtype from a function of the flat index (float values rounded, integers truncated toward zero). */
    public static Tensor generate(DType dtype, long[] shape, LongToDoubleFunction f) {
        int n = Math.toIntExact(count(shape));
        if (dtype.isFloat()) {
            double[] d = new double[n];
            for (int i = 0; i < n; i++) {
                d[i] = f.applyAsDouble(i);
            }
            return ofDoubles(dtype, shape, d);
        }
        long[] l = new long[n];
        for (int i = 0; i < n; i++) {
            l[i] = (long) f.applyAsDouble(i);
        }
        return ofLongs(dtype, shape, l);
    }

    public static Tensor scalar(DType dtype, double value) {
        return dtype.isFloat() ? ofDoubles(dtype, new long[0], new double[] {value})
                : ofLongs(dtype, new long[0], new long[] {(long) value});
    }

    public static Tensor vector(DType dtype, long... values) {
        return ofLongs(dtype, new long[] {values.length}, values.clone());
    }

    /** Wraps an integer to the dtype's two's-complement (or unsigned) width; bool becomes 0/1. */
    public static long wrap(DType dtype, long v) {
        return switch (dtype) {
            case I64, U64 -> v;
            case I32 -> (int) v;
            case I16 -> (short) v;
            case I8 -> (byte) v;
            case I4 -> (v << 60) >> 60;
            case I2 -> (v << 62) >> 62;
            case U32 -> v & 0xFFFF_FFFFL;
            case U16 -> v & 0xFFFF;
            case U8 -> v & 0xFF;
            case U4 -> v & 0xF;
            case U2 -> v & 0x3;
            case BOOL -> v != 0 ? 1 : 0;
            default -> throw new IllegalArgumentException("not an integer dtype: " + dtype);
        };
    }

    public static long count(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i];
    }

    public int size() {
        return doubles != null ? doubles.length : longs.length;
    }

    public boolean isFloat() {
        return doubles != null;
    }

    /** Element i as a double (integers converted). */
    public double getDouble(int i) {
        return doubles != null ? doubles[i] : (double) longs[i];
    }

    /** Element i as a long (floats truncated toward zero). */
    public long getLong(int i) {
        return longs != null ? longs[i] : (long) doubles[i];
    }

    /** The backing array of a float tensor. Do not write. */
    public double[] doubles() {
        if (doubles == null) {
            throw new IllegalStateException("tensor of " + dtype + " has no double data");
        }
        return doubles;
    }

    /** The backing array of an integer/bool tensor. Do not write. */
    public long[] longs() {
        if (longs == null) {
            throw new IllegalStateException("tensor of " + dtype + " has no integer data");
        }
        return longs;
    }

    /** All elements as doubles (a copy). */
    public double[] toDoubleArray() {
        if (doubles != null) {
            return doubles.clone();
        }
        double[] d = new double[longs.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = longs[i];
        }
        return d;
    }

    /** All elements as longs (a copy). */
    public long[] toLongArray() {
        if (longs != null) {
            return longs.clone();
        }
        long[] l = new long[doubles.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = (long) doubles[i];
        }
        return l;
    }

    public Tensor reshape(long... newShape) {
        if (count(newShape) != size()) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " to " + Arrays.toString(newShape));
        }
        return new Tensor(dtype, newShape.clone(), doubles, longs);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && t.dtype == dtype && Arrays.equals(t.shape, shape)
                && Arrays.equals(t.doubles, doubles) && Arrays.equals(t.longs, longs);
    }

    @Override
    public int hashCode() {
        if (hash == 0) {
            int h = dtype.hashCode() * 31 + Arrays.hashCode(shape);
            h = h * 31 + (doubles != null ? Arrays.hashCode(doubles) : Arrays.hashCode(longs));
            hash = h == 0 ? 1 : h;
        }
        return hash;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(dtype.textName()).append(Arrays.toString(shape)).append(' ');
        int n = Math.min(size(), 16);
        sb.append('[');
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(doubles != null ? Double.toString(doubles[i]) : Long.toString(longs[i]));
        }
        if (size() > n) {
            sb.append(", ...");
        }
        return sb.append(']').toString();
    }
}
