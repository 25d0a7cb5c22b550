package dev.tokc.ir.interp;

import java.util.function.IntToDoubleFunction;

/**
 * The one attention formula every attention op of the interpreter reduces to, for a single query row of one head:
 * <pre>
 *   s_j = q . k_j * scale;  s_j = softcap * tanh(s_j / softcap) if softcap > 0;  s_j += mask_j
 *   visible(j) = (!causal || j <= pos) && (window <= 0 || pos - j < window)
 *   out = sum_j softmax(s)_j v_j    over the visible j
 * </pre>
 * in double precision, max-subtracted. {@code pos} is the query's position on the key axis. A row with no visible
 * key (or whose scores are all -inf) gives zeros rather than NaN: kernels that skip fully masked tiles produce 0, and
 * the reference fixes that as the contract. A {@code scale} of 0 means the conventional {@code 1 / sqrt(head_dim)}
 * (a literal 0 would make every row a plain average, which no model asks for).
 */
final class AttentionMath {
    private AttentionMath() {}

    /** Key and value rows of the one KV head a query head reads. */
    interface KeyValues {
        double key(int j, int d);

        double value(int j, int d);
    }

    static double effectiveScale(double scale, int headDim) {
        return scale != 0 ? scale : 1 / Math.sqrt(headDim);
    }

    /**
     * Writes the attention output for query {@code q[qOff .. qOff + headDim)} over {@code kvLen} keys to
     * {@code out[outOff .. outOff + valueDim)}. {@code mask} is null or gives the additive mask of key j.
     */
    static void attendRow(double[] q, int qOff, int headDim, int valueDim, int kvLen, KeyValues kv, double scale,
            double softcap, boolean causal, long pos, long window, IntToDoubleFunction mask, double[] out, int outOff) {
        double s = effectiveScale(scale, headDim);
        double[] scores = new double[kvLen];
        boolean[] visible = new boolean[kvLen];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < kvLen; j++) {
            visible[j] = (!causal || j <= pos) && (window <= 0 || pos - j < window);
            if (!visible[j]) {
                continue;
            }
            double dot = 0;
            for (int d = 0; d < headDim; d++) {
                dot += q[qOff + d] * kv.key(j, d);
            }
            double v = dot * s;
            if (softcap > 0) {
                v = softcap * Math.tanh(v / softcap);
            }
            if (mask != null) {
                v += mask.applyAsDouble(j);
            }
            scores[j] = v;
            max = Math.max(max, v);
        }
        for (int d = 0; d < valueDim; d++) {
            out[outOff + d] = 0;
        }
        if (max == Double.NEGATIVE_INFINITY) {
            return;
        }
        double sum = 0;
        for (int j = 0; j < kvLen; j++) {
            if (visible[j]) {
                scores[j] = Math.exp(scores[j] - max);
                sum += scores[j];
            }
        }
        for (int j = 0; j < kvLen; j++) {
            if (visible[j] && scores[j] != 0) {
                double w = scores[j] / sum;
                for (int d = 0; d < valueDim; d++) {
                    out[outOff + d] += w * kv.value(j, d);
                }
            }
        }
    }
}
