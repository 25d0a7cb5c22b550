package dev.tokc.ir.interp;

import static dev.tokc.ir.interp.TestGraphs.*;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.DType;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Attention against a naive, independently written formula: repeat_kv materialised, the full score matrix built,
 * masked entries set to -inf, a row softmax, then the product with V.
 */
class AttentionTest {

    /** out[b, i, h, :] for q [b, s, h, d], k/v [b, t, kvh, d], mask [b|1, h|1, s, t] or null. */
    static Tensor naive(Tensor q, Tensor k, Tensor v, Tensor mask, int heads, int kvHeads, boolean causal, double scale,
            double softcap, long window) {
        int b = (int) q.dim(0);
        int s = (int) q.dim(1);
        int d = (int) q.dim(3);
        int t = (int) k.dim(1);
        double[] out = new double[b * s * heads * d];
        for (int bi = 0; bi < b; bi++) {
            for (int h = 0; h < heads; h++) {
                int kvh = h * kvHeads / heads; // repeat_kv: each kv head repeated heads/kvHeads times
                double[][] scores = new double[s][t];
                for (int i = 0; i < s; i++) {
                    for (int j = 0; j < t; j++) {
                        double dot = 0;
                        for (int x = 0; x < d; x++) {
                            dot += q.getDouble(((bi * s + i) * heads + h) * d + x) * k.getDouble(((bi * t + j) * kvHeads + kvh) * d + x);
                        }
                        double sc = dot * scale;
                        if (softcap > 0) {
                            sc = softcap * Math.tanh(sc / softcap);
                        }
                        if (mask != null) {
                            int mb = mask.dim(0) == 1 ? 0 : bi;
                            int mh = mask.dim(1) == 1 ? 0 : h;
                            sc += mask.getDouble(((mb * (int) mask.dim(1) + mh) * s + i) * t + j);
                        }
                        long pos = i + (t - s);
                        if ((causal && j > pos) || (window > 0 && pos - j >= window)) {
                            sc = Double.NEGATIVE_INFINITY;
                        }
                        scores[i][j] = sc;
                    }
                    double max = Double.NEGATIVE_INFINITY;
                    for (double sc : scores[i]) {
                        max = Math.max(max, sc);
                    }
                    double sum = 0;
                    for (int j = 0; j < t; j++) {
                        scores[i][j] = Math.exp(scores[i][j] - max);
                        sum += scores[i][j];
                    }
                    for (int x = 0; x < d; x++) {
                        double acc = 0;
                        for (int j = 0; j < t; j++) {
                            acc += scores[i][j] / sum * v.getDouble(((bi * t + j) * kvHeads + kvh) * d + x);
                        }
                        out[((bi * s + i) * heads + h) * d + x] = acc;
                    }
                }
            }
        }
        return Tensor.ofDoubles(q.dtype(), new long[] {b, s, heads, d}, out);
    }

    static Tensor run(Node out, Tensor q, Tensor k, Tensor v, Tensor mask) {
        return mask == null ? eval(out, "q", q, "k", k, "v", v) : eval(out, "q", q, "k", k, "v", v, "mask", mask);
    }

    static void check(int b, int s, int t, int heads, int kvHeads, int d, boolean causal, double scale, double softcap,
            long window, boolean withMask) {
        Tensor q = random(DType.F64, s(b, s, heads, d), 1);
        Tensor k = random(DType.F64, s(b, t, kvHeads, d), 2);
        Tensor v = random(DType.F64, s(b, t, kvHeads, d), 3);
        Tensor mask = withMask ? random(DType.F64, s(b, 1, s, t), 4) : null;
        Node[] in = {param("q", q), param("k", k), param("v", v)};
        ModelOp.Attention op = new ModelOp.Attention(heads, kvHeads, causal, scale, softcap, window);
        Node out = withMask ? node(op, in[0], in[1], in[2], param("mask", mask)) : node(op, in);
        double eff = scale == 0 ? 1 / Math.sqrt(d) : scale;
        Tensor expected = naive(q, k, v, mask, heads, kvHeads, causal, eff, softcap, window);
        double diff = maxAbsDiff(expected, run(out, q, k, v, mask));
        assertTrue(diff < 1e-13, "max abs diff " + diff);
    }

    @Test
    void multiHeadFull() {
        check(2, 3, 3, 2, 2, 4, false, 0.5, 0, 0, false);
    }

    @Test
    void groupedQueryHeadsReadTheirKvHead() {
        check(1, 4, 4, 8, 2, 4, true, 0, 0, 0, false);
        check(2, 2, 2, 3, 1, 5, false, 0.3, 0, 0, false); // multi-query
    }

    @Test
    void causalWithKvLongerThanQueriesOffsetsPositions() {
        check(2, 3, 7, 4, 2, 4, true, 0.25, 0, 0, false);
        check(1, 1, 9, 2, 1, 8, true, 0, 0, 0, false); // decode: one query sees everything
    }

    @Test
    void additiveMaskSoftcapAndSlidingWindow() {
        check(2, 3, 5, 4, 2, 4, true, 0.5, 0, 0, true);
        check(1, 4, 6, 2, 2, 4, true, 3.0, 1.5, 0, false);
        check(1, 5, 5, 2, 1, 4, true, 0, 0, 2, false);
        check(1, 5, 5, 2, 1, 4, false, 0, 0, 3, true);
    }

    @Test
    void boolMaskKeepsWhereTrue() {
        Tensor q = random(DType.F64, s(1, 2, 1, 2), 5);
        Tensor k = random(DType.F64, s(1, 3, 1, 2), 6);
        Tensor v = random(DType.F64, s(1, 3, 1, 2), 7);
        Tensor keep = bool(s(2, 3), 1, 0, 1, 0, 1, 1);
        Tensor additive = f64(s(2, 3), 0, Double.NEGATIVE_INFINITY, 0, Double.NEGATIVE_INFINITY, 0, 0);
        ModelOp.Attention op = new ModelOp.Attention(1, 1, false, 1, 0, 0);
        Node qn = param("q", q);
        Node kn = param("k", k);
        Node vn = param("v", v);
        Tensor a = eval(node(op, qn, kn, vn, param("mask", keep)), "q", q, "k", k, "v", v, "mask", keep);
        Tensor b = eval(node(op, qn, kn, vn, param("mask", additive)), "q", q, "k", k, "v", v, "mask", additive);
        assertTensor(naive(q, k, v, additive.reshape(1, 1, 2, 3), 1, 1, false, 1, 0, 0), a, 1e-15);
        assertTensor(a, b, 0);
    }

    @Test
    void flashAttentionIsCausalAttention() {
        Tensor q = random(DType.F32, s(2, 4, 4, 8), 8);
        Tensor k = random(DType.F32, s(2, 6, 2, 8), 9);
        Tensor v = random(DType.F32, s(2, 6, 2, 8), 10);
        Node qn = param("q", q);
        Node kn = param("k", k);
        Node vn = param("v", v);
        Tensor flash = eval(node(new TargetOp.FlashAttention(4, 2, 0, 5.0, 3), qn, kn, vn), "q", q, "k", k, "v", v);
        Tensor attn = eval(node(new ModelOp.Attention(4, 2, true, 0, 5.0, 3), qn, kn, vn), "q", q, "k", k, "v", v);
        assertTensor(attn, flash, 0);
        assertTensor(naive(q, k, v, null, 4, 2, true, 1 / Math.sqrt(8), 5.0, 3), flash, 1e-6);
    }
}
