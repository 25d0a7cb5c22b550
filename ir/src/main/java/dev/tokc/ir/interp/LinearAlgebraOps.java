package dev.tokc.ir.interp;

import dev.tokc.ir.DType;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.Tensor;

/**
 * MatMul (numpy semantics) and Gemm, plus the row-times-weight product the model and target linears share. Every
 * dot product accumulates in double and is rounded once, to the result dtype; a contraction of length 0 gives 0.
 */
final class LinearAlgebraOps {
    private LinearAlgebraOps() {}

    /** numpy matmul: batch dims broadcast; a 1-D a is [1, k] and a 1-D b is [k, 1], the added dim removed after. */
    static Tensor matMul(DType dtype, Tensor a, Tensor b) {
        long[] as = a.shape();
        long[] bs = b.shape();
        if (as.length == 0 || bs.length == 0) {
            throw new IllegalArgumentException("mat_mul operands must have rank >= 1");
        }
        boolean aVec = as.length == 1;
        boolean bVec = bs.length == 1;
        long[] a2 = aVec ? new long[] {1, as[0]} : as;
        long[] b2 = bVec ? new long[] {bs[0], 1} : bs;
        long m = a2[a2.length - 2];
        long k = a2[a2.length - 1];
        long n = b2[b2.length - 1];
        if (b2[b2.length - 2] != k) {
            throw new IllegalArgumentException("contraction dims differ: " + k + " vs " + b2[b2.length - 2]);
        }
        long[] aBatch = java.util.Arrays.copyOf(a2, a2.length - 2);
        long[] bBatch = java.util.Arrays.copyOf(b2, b2.length - 2);
        long[] batch = Tensors.broadcastShape(aBatch, bBatch);
        int[] ia = Tensors.broadcastIndex(batch, aBatch);
        int[] ib = Tensors.broadcastIndex(batch, bBatch);
        int mm = (int) m;
        int kk = (int) k;
        int nn = (int) n;
        double[] out = new double[Math.multiplyExact(ia.length, mm * nn)];
        for (int bi = 0; bi < ia.length; bi++) {
            int aOff = ia[bi] * mm * kk;
            int bOff = ib[bi] * kk * nn;
            int oOff = bi * mm * nn;
            for (int i = 0; i < mm; i++) {
                for (int j = 0; j < nn; j++) {
                    double s = 0;
                    for (int p = 0; p < kk; p++) {
                        s += a.getDouble(aOff + i * kk + p) * b.getDouble(bOff + p * nn + j);
                    }
                    out[oOff + i * nn + j] = s;
                }
            }
        }
        int rank = batch.length + (aVec ? 0 : 1) + (bVec ? 0 : 1);
        long[] shape = java.util.Arrays.copyOf(batch, rank);
        int at = batch.length;
        if (!aVec) {
            shape[at++] = m;
        }
        if (!bVec) {
            shape[at] = n;
        }
        return result(dtype, shape, out);
    }

    /** alpha * op(A) @ op(B) + beta * C, C broadcast to [m, n]. */
    static Tensor gemm(PrimitiveOp.Gemm g, DType dtype, Tensor a, Tensor b, Tensor c) {
        long m = g.transA() ? a.dim(1) : a.dim(0);
        long k = g.transA() ? a.dim(0) : a.dim(1);
        long kb = g.transB() ? b.dim(1) : b.dim(0);
        long n = g.transB() ? b.dim(0) : b.dim(1);
        if (k != kb) {
            throw new IllegalArgumentException("contraction dims differ: " + k + " vs " + kb);
        }
        long[] shape = {m, n};
        int[] ic = c == null ? null : Tensors.broadcastIndex(shape, c.shape());
        double[] out = new double[Tensors.count(shape)];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    double x = g.transA() ? a.getDouble((int) (p * m + i)) : a.getDouble((int) (i * k + p));
                    double y = g.transB() ? b.getDouble((int) (j * k + p)) : b.getDouble((int) (p * n + j));
                    s += x * y;
                }
                int o = (int) (i * n + j);
                out[o] = g.alpha() * s + (c == null ? 0 : g.beta() * c.getDouble(ic[o]));
            }
        }
        return result(dtype, shape, out);
    }

    /**
     * x [..., in] times a weight given as doubles, {@code [out, in]} or with {@code transposed} {@code [in, out]}, plus
     * an optional bias: the unrounded double result [rows, out], for the linears' epilogues to finish.
     */
    static double[] linear(Tensor x, double[] w, long outFeatures, boolean transposed, Tensor bias) {
        long[] xs = x.shape();
        int in = (int) xs[xs.length - 1];
        int out = (int) outFeatures;
        if ((long) in * out != w.length) {
            throw new IllegalArgumentException("weight has " + w.length + " elements, expected " + in + " x " + out);
        }
        int rows = (int) Tensors.product(xs, 0, xs.length - 1);
        double[] y = new double[Math.multiplyExact(rows, out)];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = 0;
                for (int i = 0; i < in; i++) {
                    s += x.getDouble(r * in + i) * (transposed ? w[i * out + o] : w[o * in + i]);
                }
                y[r * out + o] = s + (bias == null ? 0 : bias.getDouble(o));
            }
        }
        return y;
    }

    /** A float or integer result from double accumulators (integer matmul truncates the exact-in-double sums). */
    static Tensor result(DType dtype, long[] shape, double[] out) {
        if (dtype.isFloat()) {
            return Tensor.ofDoubles(dtype, shape, out);
        }
        long[] l = new long[out.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = (long) out[i];
        }
        return Tensor.ofLongs(dtype, shape, l);
    }
}
