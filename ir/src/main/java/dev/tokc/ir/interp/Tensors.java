package dev.tokc.ir.interp;

import dev.tokc.ir.Tensor;
import java.util.Arrays;

/**
 * Index arithmetic shared by the op implementations: row-major strides, numpy broadcasting, axis normalisation and
 * index checks. Errors are {@link IllegalArgumentException}s; the interpreter adds the node to the message.
 */
final class Tensors {
    private Tensors() {}

    static long[] strides(long[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    static int count(long[] shape) {
        return Math.toIntExact(Tensor.count(shape));
    }

    /** The numpy broadcast of the given shapes; throws naming them when two dims are neither equal nor 1. */
    static long[] broadcastShape(long[]... shapes) {
        int rank = 0;
        for (long[] s : shapes) {
            rank = Math.max(rank, s.length);
        }
        long[] out = new long[rank];
        Arrays.fill(out, 1);
        for (long[] s : shapes) {
            for (int i = 0; i < s.length; i++) {
                int o = rank - s.length + i;
                if (s[i] == out[o] || s[i] == 1) {
                    continue;
                }
                if (out[o] != 1) {
                    StringBuilder sb = new StringBuilder();
                    for (long[] x : shapes) {
                        sb.append(sb.isEmpty() ? "" : " and ").append(Arrays.toString(x));
                    }
                    throw new IllegalArgumentException("shapes " + sb + " do not broadcast");
                }
                out[o] = s[i];
            }
        }
        return out;
    }

    /**
     * For each element of {@code outShape}, the flat index of the element of {@code inShape} that broadcasting reads.
     * {@code inShape} must broadcast to {@code outShape}.
     */
    static int[] broadcastIndex(long[] outShape, long[] inShape) {
        int n = count(outShape);
        int[] map = new int[n];
        int rank = outShape.length;
        long[] inStrides = strides(inShape);
        long[] step = new long[rank];
        for (int i = 0; i < inShape.length; i++) {
            int o = rank - inShape.length + i;
            if (inShape[i] != 1 && inShape[i] != outShape[o]) {
                throw new IllegalArgumentException("shape " + Arrays.toString(inShape) + " does not broadcast to "
                        + Arrays.toString(outShape));
            }
            step[o] = inShape[i] == 1 ? 0 : inStrides[i];
        }
        long[] idx = new long[rank];
        long flat = 0;
        for (int k = 0; k < n; k++) {
            map[k] = (int) flat;
            // Odometer increment, undoing the stride of each dim that wraps around.
            for (int d = rank - 1; d >= 0; d--) {
                idx[d]++;
                flat += step[d];
                if (idx[d] < outShape[d]) {
                    break;
                }
                flat -= step[d] * idx[d];
                idx[d] = 0;
            }
        }
        return map;
    }

    static int axis(long axis, int rank) {
        if (axis < -rank || axis >= rank) {
            throw new IllegalArgumentException("axis " + axis + " is out of range for rank " + rank);
        }
        return (int) (axis < 0 ? axis + rank : axis);
    }

    /** An index into a dim of {@code size}; negative counts from the end; anything outside [-size, size) is an error. */
    static long index(long i, long size, String what) {
        long k = i < 0 ? i + size : i;
        if (k < 0 || k >= size) {
            throw new IllegalArgumentException(what + " " + i + " is out of range for a dim of size " + size);
        }
        return k;
    }

    /** Product of shape[from..to). */
    static long product(long[] shape, int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) {
            p *= shape[i];
        }
        return p;
    }

    /** A tensor of {@code src}'s dtype holding {@code src}'s elements at the flat indices {@code from}, shaped {@code shape}. */
    static Tensor gather(Tensor src, long[] shape, int[] from) {
        if (src.isFloat()) {
            double[] s = src.doubles();
            double[] d = new double[from.length];
            for (int i = 0; i < from.length; i++) {
                d[i] = s[from[i]];
            }
            return Tensor.ofDoubles(src.dtype(), shape, d);
        }
        long[] s = src.longs();
        long[] l = new long[from.length];
        for (int i = 0; i < from.length; i++) {
            l[i] = s[from[i]];
        }
        return Tensor.ofLongs(src.dtype(), shape, l);
    }

    /** The values of a 1-D (or scalar) integer tensor. */
    static long[] ints(Tensor t, String what) {
        if (t.isFloat()) {
            throw new IllegalArgumentException(what + " must be an integer tensor, got " + t.dtype());
        }
        if (t.rank() > 1) {
            throw new IllegalArgumentException(what + " must be 1-D, got shape " + Arrays.toString(t.shape()));
        }
        return t.longs();
    }
}
