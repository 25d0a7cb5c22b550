package dev.tokc.ir.interp;

import dev.tokc.ir.DType;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * Shape and data-movement primitives with ONNX semantics: ShapeOf, Reshape, Transpose, Concat, Slice, Gather,
 * GatherND, Expand, Tile, (Un)Squeeze, Range, ConstantOfShape and Trilu. Most build an index map (for each output
 * element, the flat index of the input element it copies) and gather through it, which keeps each op a few lines of
 * index arithmetic. Indices may be negative (counted from the end); out-of-range indices are errors, never clamped,
 * except where ONNX clamps (Slice bounds).
 */
final class ShapeOps {
    private ShapeOps() {}

    static Tensor shapeOf(PrimitiveOp.ShapeOf s, Tensor x) {
        long[] shape = x.shape();
        if (s.start() < 0 || s.end() > shape.length || s.start() > s.end()) {
            throw new IllegalArgumentException("range [" + s.start() + ", " + s.end() + ") is not within rank " + shape.length);
        }
        return Tensor.vector(DType.I64, Arrays.copyOfRange(shape, (int) s.start(), (int) s.end()));
    }

    static Tensor reshape(PrimitiveOp.Reshape r, Tensor x, Tensor shapeTensor) {
        long[] target = Tensors.ints(shapeTensor, "shape").clone();
        long[] src = x.shape();
        int inferAt = -1;
        long known = 1;
        for (int i = 0; i < target.length; i++) {
            if (target[i] == 0 && !r.allowZero()) {
                if (i >= src.length) {
                    throw new IllegalArgumentException("shape entry " + i + " is 0 (copy) but the input has rank " + src.length);
                }
                target[i] = src[i];
            }
            if (target[i] == -1) {
                if (inferAt >= 0) {
                    throw new IllegalArgumentException("shape " + Arrays.toString(shapeTensor.longs()) + " has more than one -1");
                }
                inferAt = i;
            } else if (target[i] < 0) {
                throw new IllegalArgumentException("shape entry " + i + " is " + target[i]);
            } else {
                known *= target[i];
            }
        }
        long total = x.size();
        if (inferAt >= 0) {
            if (known == 0 || total % known != 0) {
                throw new IllegalArgumentException("cannot infer the -1 in " + Arrays.toString(shapeTensor.longs())
                        + " for " + total + " elements");
            }
            target[inferAt] = total / known;
        }
        if (Tensor.count(target) != total) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(src) + " to " + Arrays.toString(target));
        }
        return x.reshape(target);
    }

    static Tensor transpose(PrimitiveOp.Transpose t, Tensor x) {
        long[] shape = x.shape();
        int rank = shape.length;
        if (t.perm().size() != rank) {
            throw new IllegalArgumentException("perm " + t.perm() + " does not match rank " + rank);
        }
        long[] outShape = new long[rank];
        long[] inStrides = Tensors.strides(shape);
        long[] step = new long[rank];
        for (int i = 0; i < rank; i++) {
            int p = t.perm().get(i).intValue();
            outShape[i] = shape[p];
            step[i] = inStrides[p];
        }
        return Tensors.gather(x, outShape, stridedIndex(outShape, step, 0));
    }

    /** For each element of {@code outShape}, {@code base + sum(idx[d] * step[d])}. */
    private static int[] stridedIndex(long[] outShape, long[] step, long base) {
        int n = Tensors.count(outShape);
        int[] map = new int[n];
        long[] idx = new long[outShape.length];
        long flat = base;
        for (int k = 0; k < n; k++) {
            map[k] = Math.toIntExact(flat);
            for (int d = outShape.length - 1; d >= 0; d--) {
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

    static Tensor concat(PrimitiveOp.Concat c, List<Tensor> in) {
        long[] s0 = in.getFirst().shape();
        int ax = Tensors.axis(c.axis(), s0.length);
        long total = 0;
        for (Tensor t : in) {
            long[] s = t.shape();
            if (s.length != s0.length) {
                throw new IllegalArgumentException("inputs have ranks " + s0.length + " and " + s.length);
            }
            for (int d = 0; d < s.length; d++) {
                if (d != ax && s[d] != s0[d]) {
                    throw new IllegalArgumentException("inputs " + Arrays.toString(s0) + " and " + Arrays.toString(s)
                            + " differ outside axis " + ax);
                }
            }
            total += s[ax];
        }
        long[] outShape = s0.clone();
        outShape[ax] = total;
        int outer = (int) Tensors.product(s0, 0, ax);
        int inner = (int) Tensors.product(s0, ax + 1, s0.length);
        boolean f = in.getFirst().isFloat();
        double[] d = f ? new double[Tensors.count(outShape)] : null;
        long[] l = f ? null : new long[Tensors.count(outShape)];
        int at = 0;
        for (int o = 0; o < outer; o++) {
            for (Tensor t : in) {
                int chunk = (int) t.dim(ax) * inner;
                if (f) {
                    System.arraycopy(t.doubles(), o * chunk, d, at, chunk);
                } else {
                    System.arraycopy(t.longs(), o * chunk, l, at, chunk);
                }
                at += chunk;
            }
        }
        DType dt = in.getFirst().dtype();
        return f ? Tensor.ofDoubles(dt, outShape, d) : Tensor.ofLongs(dt, outShape, l);
    }

    /**
     * ONNX Slice: negative bounds count from the end, bounds clamp to the dim, negative steps walk backwards. With a
     * negative step a start still before the beginning after adding the dim clamps to -1 (an empty slice), as in the
     * ONNX reference implementation (numpy) and the IR's type inference, not to 0 as the spec's prose says.
     */
    static Tensor slice(Tensor x, Tensor starts, Tensor ends, Tensor axes, Tensor steps) {
        long[] st = Tensors.ints(starts, "starts");
        long[] en = Tensors.ints(ends, "ends");
        long[] ax = Tensors.ints(axes, "axes");
        long[] sp = Tensors.ints(steps, "steps");
        if (en.length != st.length || ax.length != st.length || sp.length != st.length) {
            throw new IllegalArgumentException("starts, ends, axes and steps have lengths " + st.length + ", "
                    + en.length + ", " + ax.length + ", " + sp.length);
        }
        long[] shape = x.shape();
        long[] outShape = shape.clone();
        long[] first = new long[shape.length];
        long[] stepOf = new long[shape.length];
        Arrays.fill(stepOf, 1);
        boolean[] seen = new boolean[shape.length];
        for (int i = 0; i < st.length; i++) {
            int a = Tensors.axis(ax[i], shape.length);
            if (seen[a]) {
                throw new IllegalArgumentException("axis " + ax[i] + " is sliced twice");
            }
            seen[a] = true;
            long size = shape[a];
            long step = sp[i];
            if (step == 0) {
                throw new IllegalArgumentException("slice step must not be 0");
            }
            long s = st[i] < 0 ? st[i] + size : st[i];
            long e = en[i] < 0 ? en[i] + size : en[i];
            long len;
            if (step > 0) {
                s = Math.clamp(s, 0, size);
                e = Math.clamp(e, 0, size);
                len = e > s ? (e - s + step - 1) / step : 0;
            } else {
                s = Math.clamp(s, -1, size - 1);
                e = Math.clamp(e, -1, size - 1);
                len = s > e ? (s - e - step - 1) / -step : 0;
            }
            outShape[a] = len;
            first[a] = s;
            stepOf[a] = step;
        }
        long[] strides = Tensors.strides(shape);
        long base = 0;
        long[] step = new long[shape.length];
        for (int d = 0; d < shape.length; d++) {
            if (outShape[d] > 0) {
                base += first[d] * strides[d];
            }
            step[d] = stepOf[d] * strides[d];
        }
        if (Tensor.count(outShape) == 0) {
            base = 0;
        }
        return Tensors.gather(x, outShape, stridedIndex(outShape, step, base));
    }

    static Tensor gather(PrimitiveOp.Gather g, Tensor data, Tensor indices) {
        long[] ds = data.shape();
        int ax = Tensors.axis(g.axis(), ds.length);
        long[] is = indices.shape();
        long[] outShape = new long[ds.length - 1 + is.length];
        System.arraycopy(ds, 0, outShape, 0, ax);
        System.arraycopy(is, 0, outShape, ax, is.length);
        System.arraycopy(ds, ax + 1, outShape, ax + is.length, ds.length - ax - 1);
        int outer = (int) Tensors.product(ds, 0, ax);
        int inner = (int) Tensors.product(ds, ax + 1, ds.length);
        long size = ds[ax];
        long[] idx = indices.longs();
        int[] map = new int[Tensors.count(outShape)];
        int at = 0;
        for (int o = 0; o < outer; o++) {
            for (long i : idx) {
                long k = Tensors.index(i, size, "index");
                for (int in = 0; in < inner; in++) {
                    map[at++] = (int) ((o * size + k) * inner + in);
                }
            }
        }
        return Tensors.gather(data, outShape, map);
    }

    /** ONNX GatherND: the last dim of indices addresses the leading data dims after {@code batchDims}. */
    static Tensor gatherND(PrimitiveOp.GatherND g, Tensor data, Tensor indices) {
        long[] ds = data.shape();
        long[] is = indices.shape();
        int b = (int) g.batchDims();
        if (is.length < 1 || b < 0 || b >= Math.min(ds.length, is.length)) {
            throw new IllegalArgumentException("batch_dims " + b + " too large for data " + Arrays.toString(ds)
                    + " and indices " + Arrays.toString(is));
        }
        for (int i = 0; i < b; i++) {
            if (ds[i] != is[i]) {
                throw new IllegalArgumentException("batch dim " + i + " of data " + Arrays.toString(ds)
                        + " and indices " + Arrays.toString(is) + " differ");
            }
        }
        int k = (int) is[is.length - 1];
        if (k < 1 || b + k > ds.length) {
            throw new IllegalArgumentException("indices last dim " + k + " does not fit data rank " + ds.length);
        }
        long[] outShape = new long[is.length - 1 + ds.length - b - k];
        System.arraycopy(is, 0, outShape, 0, is.length - 1);
        System.arraycopy(ds, b + k, outShape, is.length - 1, ds.length - b - k);
        long[] dStrides = Tensors.strides(ds);
        int batchCount = (int) Tensors.product(is, 0, b);
        int perBatch = (int) Tensors.product(is, b, is.length - 1);
        int slice = (int) Tensors.product(ds, b + k, ds.length);
        long batchStride = Tensors.product(ds, b, ds.length);
        long[] idx = indices.longs();
        int[] map = new int[Tensors.count(outShape)];
        int at = 0;
        for (int bi = 0; bi < batchCount; bi++) {
            for (int q = 0; q < perBatch; q++) {
                int tuple = (bi * perBatch + q) * k;
                long off = bi * batchStride;
                for (int j = 0; j < k; j++) {
                    off += Tensors.index(idx[tuple + j], ds[b + j], "index") * dStrides[b + j];
                }
                for (int s = 0; s < slice; s++) {
                    map[at++] = (int) (off + s);
                }
            }
        }
        return Tensors.gather(data, outShape, map);
    }

    static Tensor expand(Tensor x, Tensor shapeTensor) {
        long[] outShape = Tensors.broadcastShape(x.shape(), Tensors.ints(shapeTensor, "shape"));
        return Tensors.gather(x, outShape, Tensors.broadcastIndex(outShape, x.shape()));
    }

    static Tensor tile(Tensor x, Tensor repeats) {
        long[] reps = Tensors.ints(repeats, "repeats");
        long[] shape = x.shape();
        if (reps.length != shape.length) {
            throw new IllegalArgumentException("repeats has " + reps.length + " entries for rank " + shape.length);
        }
        long[] outShape = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            if (reps[i] < 0) {
                throw new IllegalArgumentException("repeat count " + reps[i] + " is negative");
            }
            outShape[i] = shape[i] * reps[i];
        }
        long[] strides = Tensors.strides(shape);
        int n = Tensors.count(outShape);
        int[] map = new int[n];
        long[] idx = new long[shape.length];
        for (int k = 0; k < n; k++) {
            long flat = 0;
            for (int d = 0; d < shape.length; d++) {
                flat += (idx[d] % shape[d]) * strides[d];
            }
            map[k] = (int) flat;
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < outShape[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return Tensors.gather(x, outShape, map);
    }

    static Tensor squeeze(PrimitiveOp.Squeeze s, Tensor x) {
        long[] shape = x.shape();
        boolean[] drop = new boolean[shape.length];
        for (long a : s.axes()) {
            int ax = Tensors.axis(a, shape.length);
            if (shape[ax] != 1) {
                throw new IllegalArgumentException("cannot squeeze axis " + a + " of " + Arrays.toString(shape)
                        + ": its size is " + shape[ax]);
            }
            drop[ax] = true;
        }
        return x.reshape(Arrays.stream(range(shape.length))
                .filter(i -> !(drop[i] || (s.axes().isEmpty() && shape[i] == 1)))
                .mapToLong(i -> shape[i]).toArray());
    }

    static Tensor unsqueeze(PrimitiveOp.Unsqueeze u, Tensor x) {
        long[] shape = x.shape();
        int rank = shape.length + u.axes().size();
        boolean[] added = new boolean[rank];
        for (long a : u.axes()) {
            int ax = Tensors.axis(a, rank);
            if (added[ax]) {
                throw new IllegalArgumentException("axis " + a + " repeated in " + u.axes());
            }
            added[ax] = true;
        }
        long[] out = new long[rank];
        for (int i = 0, j = 0; i < rank; i++) {
            out[i] = added[i] ? 1 : shape[j++];
        }
        return x.reshape(out);
    }

    private static int[] range(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }

    /** Range(start, limit, delta): max(ceil((limit - start) / delta), 0) elements start + i * delta. */
    static Tensor range(DType dtype, Tensor start, Tensor limit, Tensor delta) {
        for (Tensor t : List.of(start, limit, delta)) {
            if (t.size() != 1) {
                throw new IllegalArgumentException("start, limit and delta must be scalars, got " + Arrays.toString(t.shape()));
            }
        }
        if (dtype.isFloat()) {
            double s = start.getDouble(0);
            double d = delta.getDouble(0);
            if (d == 0) {
                throw new IllegalArgumentException("range delta must not be 0");
            }
            int n = Math.toIntExact(Math.max((long) Math.ceil((limit.getDouble(0) - s) / d), 0));
            double[] out = new double[n];
            for (int i = 0; i < n; i++) {
                out[i] = s + i * d;
            }
            return Tensor.ofDoubles(dtype, new long[] {n}, out);
        }
        long s = start.getLong(0);
        long d = delta.getLong(0);
        if (d == 0) {
            throw new IllegalArgumentException("range delta must not be 0");
        }
        int n = Math.toIntExact(Math.max(Math.ceilDiv(limit.getLong(0) - s, d), 0));
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = s + i * d;
        }
        return Tensor.ofLongs(dtype, new long[] {n}, out);
    }

    static Tensor constantOfShape(PrimitiveOp.ConstantOfShape c, Tensor shapeTensor) {
        long[] shape = Tensors.ints(shapeTensor, "shape");
        Tensor v = c.value();
        int n = Tensors.count(shape);
        if (v.isFloat()) {
            double[] d = new double[n];
            Arrays.fill(d, v.getDouble(0));
            return Tensor.ofDoubles(v.dtype(), shape, d);
        }
        long[] l = new long[n];
        Arrays.fill(l, v.getLong(0));
        return Tensor.ofLongs(v.dtype(), shape, l);
    }

    /** Keeps elements with {@code col - row >= k} (upper) or {@code col - row <= k} (lower); zeroes the rest. */
    static Tensor trilu(PrimitiveOp.Trilu t, Tensor x) {
        long[] shape = x.shape();
        if (shape.length < 2) {
            throw new IllegalArgumentException("trilu needs rank >= 2, got " + Arrays.toString(shape));
        }
        long rows = shape[shape.length - 2];
        long cols = shape[shape.length - 1];
        int n = x.size();
        double[] d = x.isFloat() ? x.doubles().clone() : null;
        long[] l = x.isFloat() ? null : x.longs().clone();
        for (int i = 0; i < n; i++) {
            long col = i % cols;
            long row = (i / cols) % rows;
            boolean keep = t.upper() ? col - row >= t.k() : col - row <= t.k();
            if (!keep) {
                if (d != null) {
                    d[i] = 0;
                } else {
                    l[i] = 0;
                }
            }
        }
        return d != null ? Tensor.ofDoubles(x.dtype(), shape, d) : Tensor.ofLongs(x.dtype(), shape, l);
    }
}
