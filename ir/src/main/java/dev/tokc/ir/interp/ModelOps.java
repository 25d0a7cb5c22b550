package dev.tokc.ir.interp;

import dev.tokc.ir.DType;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Tensor;
import java.util.Arrays;
import java.util.function.IntToDoubleFunction;

/**
 * Model-level ops: norms, rotary embedding, attention, activations, embedding lookup and Linear, each written
 * directly from the formula in its op's documentation with double accumulation and one rounding at the end.
 */
final class ModelOps {
    private ModelOps() {}

    static Tensor rmsNorm(ModelOp.RmsNorm op, Tensor x, Tensor weight) {
        long[] shape = x.shape();
        int h = (int) shape[shape.length - 1];
        if (weight.size() != h) {
            throw new IllegalArgumentException("weight has " + weight.size() + " elements, x's last dim is " + h);
        }
        int rows = h == 0 ? 0 : x.size() / h;
        double[] d = x.doubles();
        double[] out = new double[d.length];
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < h; i++) {
                ss += d[r * h + i] * d[r * h + i];
            }
            double inv = 1 / Math.sqrt(ss / h + op.eps());
            for (int i = 0; i < h; i++) {
                out[r * h + i] = d[r * h + i] * inv * (weight.getDouble(i) + op.weightOffset());
            }
        }
        return Tensor.ofDoubles(x.dtype(), shape, out);
    }

    /** Normalises over the dims from {@code axis} to the end; weight and bias broadcast to those dims. */
    static Tensor layerNorm(ModelOp.LayerNorm op, Tensor x, Tensor weight, Tensor bias) {
        long[] shape = x.shape();
        int ax = Tensors.axis(op.axis(), shape.length);
        long[] normShape = Arrays.copyOfRange(shape, ax, shape.length);
        int len = Tensors.count(normShape);
        int rows = (int) Tensors.product(shape, 0, ax);
        int[] wi = Tensors.broadcastIndex(normShape, weight.shape());
        int[] bi = bias == null ? null : Tensors.broadcastIndex(normShape, bias.shape());
        double[] d = x.doubles();
        double[] out = new double[d.length];
        for (int r = 0; r < rows; r++) {
            int base = r * len;
            double mean = 0;
            for (int i = 0; i < len; i++) {
                mean += d[base + i];
            }
            mean /= len;
            double var = 0;
            for (int i = 0; i < len; i++) {
                var += (d[base + i] - mean) * (d[base + i] - mean);
            }
            var /= len;
            double inv = 1 / Math.sqrt(var + op.eps());
            for (int i = 0; i < len; i++) {
                double y = (d[base + i] - mean) * inv * weight.getDouble(wi[i]);
                out[base + i] = bias == null ? y : y + bias.getDouble(bi[i]);
            }
        }
        return Tensor.ofDoubles(x.dtype(), shape, out);
    }

    /**
     * Rotary embedding. The angle is {@code (float) ((float) pos * (float) inv_freq[i])}, rounded to f32 as Hugging
     * Face computes it (so large positions lose the same bits they lose there); cos and sin are then taken in double.
     */
    static Tensor rope(ModelOp.Rope op, Tensor x, Tensor positions, Tensor invFreq) {
        int half = invFreq.size();
        return rotate(op, x, positions, half, (pos, cos, sin) -> {
            for (int i = 0; i < half; i++) {
                float angle = (float) pos * (float) invFreq.getDouble(i);
                cos[i] = Math.cos(angle);
                sin[i] = Math.sin(angle);
            }
        });
    }

    /** Rotary embedding with precomputed tables: cos and sin of pair i at position p are row p of the caches. */
    static Tensor rope(ModelOp.Rope op, Tensor x, Tensor positions, Tensor cosCache, Tensor sinCache) {
        int half = (int) cosCache.dim(1);
        long rows = cosCache.dim(0);
        return rotate(op, x, positions, half, (pos, cos, sin) -> {
            if (pos < 0 || pos >= rows) {
                throw new IllegalArgumentException("position " + pos + " is outside the " + rows + "-row cos/sin cache");
            }
            for (int i = 0; i < half; i++) {
                cos[i] = cosCache.getDouble((int) pos * half + i);
                sin[i] = sinCache.getDouble((int) pos * half + i);
            }
        });
    }

    /** Fills cos[0..half) and sin[0..half) for one position. */
    private interface Angles {
        void at(long pos, double[] cos, double[] sin);
    }

    private static Tensor rotate(ModelOp.Rope op, Tensor x, Tensor positions, int half, Angles angles) {
        long[] shape = x.shape();
        int b = (int) shape[0];
        int s = (int) shape[1];
        int heads = (int) shape[2];
        int hd = (int) shape[3];
        if (2 * half > hd) {
            throw new IllegalArgumentException("rotary dim " + 2 * half + " exceeds head_dim " + hd);
        }
        if (positions.dim(0) != b || positions.dim(1) != s) {
            throw new IllegalArgumentException("positions " + Arrays.toString(positions.shape()) + " do not match x "
                    + Arrays.toString(shape));
        }
        double[] d = x.doubles();
        double[] out = d.clone();
        double[] cos = new double[half];
        double[] sin = new double[half];
        for (int bi = 0; bi < b; bi++) {
            for (int si = 0; si < s; si++) {
                angles.at(positions.getLong(bi * s + si), cos, sin);
                for (int h = 0; h < heads; h++) {
                    int base = ((bi * s + si) * heads + h) * hd;
                    for (int i = 0; i < half; i++) {
                        int i1 = op.interleaved() ? base + 2 * i : base + i;
                        int i2 = op.interleaved() ? base + 2 * i + 1 : base + i + half;
                        double x1 = d[i1];
                        double x2 = d[i2];
                        out[i1] = x1 * cos[i] - x2 * sin[i];
                        out[i2] = x2 * cos[i] + x1 * sin[i];
                    }
                }
            }
        }
        return Tensor.ofDoubles(x.dtype(), shape, out);
    }

    /**
     * Attention over q [b, s, h, d], k/v [b, t, kvh, d]: query head h reads kv head h / (h / kvh); query i sits at key
     * position i + (t - s). The optional mask broadcasts to [b, h, s, t]; a bool mask means "keep where true".
     */
    static Tensor attention(int numHeads, int numKvHeads, boolean causal, double scale, double softcap, long window,
            Tensor q, Tensor k, Tensor v, Tensor mask) {
        long[] qs = q.shape();
        long[] ks = k.shape();
        long[] vs = v.shape();
        int b = (int) qs[0];
        int s = (int) qs[1];
        int hd = (int) qs[3];
        int t = (int) ks[1];
        int vd = (int) vs[3];
        if (qs[2] != numHeads || ks[2] != numKvHeads || vs[2] != numKvHeads || ks[3] != hd || vs[1] != t
                || ks[0] != b || vs[0] != b) {
            throw new IllegalArgumentException("q " + Arrays.toString(qs) + ", k " + Arrays.toString(ks) + ", v "
                    + Arrays.toString(vs) + " do not fit " + numHeads + " heads over " + numKvHeads + " kv heads");
        }
        int group = numHeads / numKvHeads;
        int[] mi = mask == null ? null : Tensors.broadcastIndex(new long[] {b, numHeads, s, t}, mask.shape());
        double[] qd = q.doubles();
        double[] out = new double[b * s * numHeads * vd];
        for (int bi = 0; bi < b; bi++) {
            for (int h = 0; h < numHeads; h++) {
                int kvh = h / group;
                int batch = bi;
                AttentionMath.KeyValues kv = new AttentionMath.KeyValues() {
                    @Override
                    public double key(int j, int d) {
                        return k.getDouble(((batch * t + j) * numKvHeads + kvh) * hd + d);
                    }

                    @Override
                    public double value(int j, int d) {
                        return v.getDouble(((batch * t + j) * numKvHeads + kvh) * vd + d);
                    }
                };
                for (int i = 0; i < s; i++) {
                    int row = ((bi * numHeads + h) * s + i) * t;
                    IntToDoubleFunction m = mask == null ? null
                            : mask.dtype() == DType.BOOL
                                    ? j -> mask.getLong(mi[row + j]) != 0 ? 0 : Double.NEGATIVE_INFINITY
                                    : j -> mask.getDouble(mi[row + j]);
                    AttentionMath.attendRow(qd, ((bi * s + i) * numHeads + h) * hd, hd, vd, t, kv, scale, softcap,
                            causal, i + (t - s), window, m, out, ((bi * s + i) * numHeads + h) * vd);
                }
            }
        }
        return Tensor.ofDoubles(q.dtype(), new long[] {b, s, numHeads, vd}, out);
    }

    static Tensor swiglu(Tensor gate, Tensor up) {
        if (!Arrays.equals(gate.shape(), up.shape())) {
            throw new IllegalArgumentException("gate " + Arrays.toString(gate.shape()) + " and up "
                    + Arrays.toString(up.shape()) + " differ");
        }
        double[] out = new double[gate.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ScalarMath.silu(gate.getDouble(i)) * up.getDouble(i);
        }
        return Tensor.ofDoubles(gate.dtype(), gate.shape(), out);
    }

    /** Softmax over the last axis, keep the top k (lower index wins ties), optionally renormalise. */
    static Tensor moeRouting(ModelOp.MoeRouting op, Tensor logits) {
        int experts = Math.toIntExact(logits.dim(logits.rank() - 1));
        double[] out = new double[logits.size()];
        for (int row = 0; row < logits.size() / Math.max(experts, 1); row++) {
            int base = row * experts;
            double max = Double.NEGATIVE_INFINITY;
            for (int e = 0; e < experts; e++) {
                max = Math.max(max, logits.getDouble(base + e));
            }
            double[] p = new double[experts];
            double sum = 0;
            for (int e = 0; e < experts; e++) {
                p[e] = Math.exp(logits.getDouble(base + e) - max);
                sum += p[e];
            }
            boolean[] kept = new boolean[experts];
            double keptSum = 0;
            for (int k = 0; k < op.topK(); k++) {
                int best = -1;
                for (int e = 0; e < experts; e++) {
                    if (!kept[e] && (best < 0 || p[e] > p[best])) {
                        best = e;
                    }
                }
                kept[best] = true;
                keptSum += p[best] / sum;
            }
            for (int e = 0; e < experts; e++) {
                double w = kept[e] ? p[e] / sum : 0;
                out[base + e] = op.normalize() ? w / keptSum : w;
            }
        }
        return Tensor.ofDoubles(logits.dtype(), logits.shape(), out);
    }

    static Tensor silu(Tensor x) {
        double[] out = new double[x.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ScalarMath.silu(x.getDouble(i));
        }
        return Tensor.ofDoubles(x.dtype(), x.shape(), out);
    }

    static Tensor gelu(ModelOp.Gelu op, Tensor x) {
        double[] out = new double[x.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = op.tanh() ? ScalarMath.geluTanh(x.getDouble(i)) : ScalarMath.gelu(x.getDouble(i));
        }
        return Tensor.ofDoubles(x.dtype(), x.shape(), out);
    }

    /** Rows of table [vocab, hidden] by id; an id outside [0, vocab) is an error (ids are never counted from the end). */
    static Tensor embedding(Tensor table, Tensor ids) {
        long vocab = table.dim(0);
        int hidden = (int) table.dim(1);
        long[] idShape = ids.shape();
        long[] outShape = Arrays.copyOf(idShape, idShape.length + 1);
        outShape[idShape.length] = hidden;
        int[] map = new int[Tensors.count(outShape)];
        for (int i = 0; i < ids.size(); i++) {
            long id = ids.getLong(i);
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("token id " + id + " is out of range for a vocabulary of " + vocab);
            }
            for (int j = 0; j < hidden; j++) {
                map[i * hidden + j] = (int) (id * hidden + j);
            }
        }
        return Tensors.gather(table, outShape, map);
    }

    static Tensor linear(ModelOp.Linear op, Tensor x, Tensor w, Tensor bias) {
        long out = checkWeight(x, w, op.transposeWeight());
        double[] y = LinearAlgebraOps.linear(x, w.doubles(), out, op.transposeWeight(), bias);
        return Tensor.ofDoubles(x.dtype(), withLast(x.shape(), out), y);
    }

    /** Checks w against x's in-features and returns the out-features. */
    static long checkWeight(Tensor x, Tensor w, boolean transposed) {
        if (w.rank() != 2) {
            throw new IllegalArgumentException("weight must be 2-D, got " + Arrays.toString(w.shape()));
        }
        long in = transposed ? w.dim(0) : w.dim(1);
        if (x.rank() < 1 || in != x.dim(x.rank() - 1)) {
            throw new IllegalArgumentException("weight " + Arrays.toString(w.shape()) + (transposed ? " [in, out]" : " [out, in]")
                    + " does not fit x " + Arrays.toString(x.shape()));
        }
        return transposed ? w.dim(1) : w.dim(0);
    }

    static long[] withLast(long[] shape, long last) {
        long[] s = shape.clone();
        s[s.length - 1] = last;
        return s;
    }
}
