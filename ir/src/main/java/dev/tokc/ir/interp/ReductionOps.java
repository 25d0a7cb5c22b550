package dev.tokc.ir.interp;

import dev.tokc.ir.DType;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.Tensor;
import java.util.List;

/**
 * Reductions (sum, mean, max, min), Softmax, LogSoftmax and CumSum. Float reductions accumulate in double. Reducing
 * over an empty extent gives the ONNX identities: sum 0, max -inf (the dtype's minimum for integers), min +inf (the
 * maximum), mean NaN (0/0) for floats and 0 for integers.
 */
final class ReductionOps {
    private ReductionOps() {}

    static Tensor reduce(PrimitiveOp.Reduce op, Tensor x) {
        long[] shape = x.shape();
        int rank = shape.length;
        boolean[] reduced = reducedAxes(op.axes(), rank);
        long[] kept = new long[rank]; // output shape with keepdims, used for indexing
        int outRank = 0;
        for (int i = 0; i < rank; i++) {
            kept[i] = reduced[i] ? 1 : shape[i];
            outRank += reduced[i] && !op.keepDims() ? 0 : 1;
        }
        long[] outShape = new long[outRank];
        for (int i = 0, j = 0; i < rank; i++) {
            if (!reduced[i] || op.keepDims()) {
                outShape[j++] = kept[i];
            }
        }
        int outN = Tensors.count(kept);
        long count = 1;
        for (int i = 0; i < rank; i++) {
            count *= reduced[i] ? shape[i] : 1;
        }
        int[] target = outputIndex(shape, kept);
        if (x.isFloat()) {
            double init = switch (op) {
                case PrimitiveOp.ReduceMax r -> Double.NEGATIVE_INFINITY;
                case PrimitiveOp.ReduceMin r -> Double.POSITIVE_INFINITY;
                default -> 0.0;
            };
            double[] acc = new double[outN];
            java.util.Arrays.fill(acc, init);
            double[] d = x.doubles();
            for (int i = 0; i < d.length; i++) {
                int o = target[i];
                acc[o] = switch (op) {
                    case PrimitiveOp.ReduceMax r -> Math.max(acc[o], d[i]);
                    case PrimitiveOp.ReduceMin r -> Math.min(acc[o], d[i]);
                    default -> acc[o] + d[i];
                };
            }
            if (op instanceof PrimitiveOp.ReduceMean) {
                for (int o = 0; o < outN; o++) {
                    acc[o] /= count;
                }
            }
            return Tensor.ofDoubles(x.dtype(), outShape, acc);
        }
        long init = switch (op) {
            case PrimitiveOp.ReduceMax r -> minValue(x.dtype());
            case PrimitiveOp.ReduceMin r -> maxValue(x.dtype());
            default -> 0L;
        };
        long[] acc = new long[outN];
        java.util.Arrays.fill(acc, init);
        long[] l = x.longs();
        for (int i = 0; i < l.length; i++) {
            int o = target[i];
            acc[o] = switch (op) {
                case PrimitiveOp.ReduceMax r -> Math.max(acc[o], l[i]);
                case PrimitiveOp.ReduceMin r -> Math.min(acc[o], l[i]);
                default -> acc[o] + l[i];
            };
        }
        if (op instanceof PrimitiveOp.ReduceMean) {
            for (int o = 0; o < outN; o++) {
                acc[o] = count == 0 ? 0 : acc[o] / count;
            }
        }
        return Tensor.ofLongs(x.dtype(), outShape, acc);
    }

    static boolean[] reducedAxes(List<Long> axes, int rank) {
        boolean[] r = new boolean[rank];
        if (axes.isEmpty()) {
            java.util.Arrays.fill(r, true);
        }
        for (long a : axes) {
            int ax = Tensors.axis(a, rank);
            if (r[ax]) {
                throw new IllegalArgumentException("axis " + a + " repeated in " + axes);
            }
            r[ax] = true;
        }
        return r;
    }

    /** For each element of {@code shape}, its flat index in {@code kept} (shape with reduced dims set to 1). */
    private static int[] outputIndex(long[] shape, long[] kept) {
        int n = Tensors.count(shape);
        int[] out = new int[n];
        long[] keptStrides = Tensors.strides(kept);
        long[] idx = new long[shape.length];
        for (int i = 0; i < n; i++) {
            long o = 0;
            for (int d = 0; d < shape.length; d++) {
                o += kept[d] == 1 ? 0 : idx[d] * keptStrides[d];
            }
            out[i] = (int) o;
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return out;
    }

    static long minValue(DType d) {
        return switch (d) {
            case I64 -> Long.MIN_VALUE;
            case BOOL -> 0;
            default -> d.isUnsigned() ? 0 : -(1L << (d.bits() - 1));
        };
    }

    static long maxValue(DType d) {
        return switch (d) {
            case I64 -> Long.MAX_VALUE;
            case U64 -> -1L; // all ones, the largest unsigned value
            case BOOL -> 1;
            default -> d.isUnsigned() ? (1L << d.bits()) - 1 : (1L << (d.bits() - 1)) - 1;
        };
    }

    /** Softmax ({@code log} false) or LogSoftmax along one axis, max-subtracted for stability. */
    static Tensor softmax(Tensor x, long axis, boolean log) {
        long[] shape = x.shape();
        int ax = Tensors.axis(axis, shape.length);
        int outer = (int) Tensors.product(shape, 0, ax);
        int len = (int) shape[ax];
        int inner = (int) Tensors.product(shape, ax + 1, shape.length);
        double[] d = x.doubles();
        double[] out = new double[d.length];
        for (int o = 0; o < outer; o++) {
            for (int in = 0; in < inner; in++) {
                int base = o * len * inner + in;
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < len; i++) {
                    max = Math.max(max, d[base + i * inner]);
                }
                double sum = 0;
                for (int i = 0; i < len; i++) {
                    sum += Math.exp(d[base + i * inner] - max);
                }
                for (int i = 0; i < len; i++) {
                    double v = d[base + i * inner] - max;
                    out[base + i * inner] = log ? v - Math.log(sum) : Math.exp(v) / sum;
                }
            }
        }
        return Tensor.ofDoubles(x.dtype(), shape, out);
    }

    static Tensor cumSum(PrimitiveOp.CumSum c, Tensor x) {
        long[] shape = x.shape();
        int ax = Tensors.axis(c.axis(), shape.length);
        int outer = (int) Tensors.product(shape, 0, ax);
        int len = (int) shape[ax];
        int inner = (int) Tensors.product(shape, ax + 1, shape.length);
        double[] dOut = x.isFloat() ? new double[x.size()] : null;
        long[] lOut = x.isFloat() ? null : new long[x.size()];
        for (int o = 0; o < outer; o++) {
            for (int in = 0; in < inner; in++) {
                int base = o * len * inner + in;
                double ds = 0;
                long ls = 0;
                for (int step = 0; step < len; step++) {
                    int i = c.reverse() ? len - 1 - step : step;
                    int at = base + i * inner;
                    // exclusive: the element's own value is added after it is stored.
                    if (!c.exclusive()) {
                        ds += x.isFloat() ? x.getDouble(at) : 0;
                        ls += x.isFloat() ? 0 : x.getLong(at);
                    }
                    if (dOut != null) {
                        dOut[at] = ds;
                    } else {
                        lOut[at] = ls;
                    }
                    if (c.exclusive()) {
                        ds += x.isFloat() ? x.getDouble(at) : 0;
                        ls += x.isFloat() ? 0 : x.getLong(at);
                    }
                }
            }
        }
        return dOut != null ? Tensor.ofDoubles(x.dtype(), shape, dOut) : Tensor.ofLongs(x.dtype(), shape, lOut);
    }
}
