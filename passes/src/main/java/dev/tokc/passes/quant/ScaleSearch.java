package dev.tokc.passes.quant;

import dev.tokc.ir.QuantType;
import dev.tokc.ir.interp.QuantizedBlocks;

/**
 * Per-input-channel scales {@code s} for a projection {@code y = x W^T}, used as {@code y = (x / s) (W diag(s))^T}:
 * the quantizer then sees {@code W diag(s)}, the activations {@code x / s} (the division folded into the op that
 * produces x, see {@code QuantizeWeights}).
 *
 * <ul>
 *   <li>{@link #awq}: activation-aware weight quantization (after AWQ, Lin et al. 2023): {@code s = mean|x|^a},
 *       normalised to a geometric mean of 1, with the exponent a in {0, 0.05, .., 1} that minimises the output error
 *       the quantized weight causes on the calibration activations, estimated per channel as
 *       {@code sum_ij (W_ij - deq(q(W diag s))_ij / s_j)^2 E[x_j^2]} (a = 0 is plain round-to-nearest, so the search
 *       never does worse than it on this estimate).</li>
 *   <li>{@link #smoothQuant}: SmoothQuant (Xiao et al. 2023) migration of activation outliers into the weights,
 *       {@code s_j = max|x_j|^alpha / max_i |W_ij|^(1 - alpha)}, so that per-token int8 activations lose less.</li>
 * </ul>
 */
public final class ScaleSearch {
    private ScaleSearch() {}

    /** The AWQ scales of row-major {@code w [out, in]} for {@code type}, or null when plain quantization is best. */
    public static double[] awq(QuantType type, double[] w, int out, int in, double[] meanAbs, double[] meanSq) {
        double best = error(type, w, out, in, null, meanSq);
        double[] bestScale = null;
        for (int step = 1; step <= 20; step++) {
            double a = step / 20.0;
            double[] s = new double[in];
            double logSum = 0;
            for (int j = 0; j < in; j++) {
                s[j] = Math.pow(Math.max(meanAbs[j], 1e-8), a);
                logSum += Math.log(s[j]);
            }
            double norm = Math.exp(logSum / in);
            for (int j = 0; j < in; j++) {
                s[j] = (float) (s[j] / norm);
            }
            double e = error(type, w, out, in, s, meanSq);
            if (e < best) {
                best = e;
                bestScale = s;
            }
        }
        return bestScale;
    }

    /** Output-error estimate of quantizing {@code w diag(s)} (s null: 1) against the exact {@code w}. */
    static double error(QuantType type, double[] w, int out, int in, double[] s, double[] meanSq) {
        double[] scaled = w;
        if (s != null) {
            scaled = new double[w.length];
            for (int i = 0; i < out; i++) {
                for (int j = 0; j < in; j++) {
                    scaled[i * in + j] = (float) (w[i * in + j] * s[j]);
                }
            }
        }
        double[] back = QuantizedBlocks.dequantize(type, QuantizedBlocks.quantize(type, scaled, out, in), out, in);
        double e = 0;
        for (int i = 0; i < out; i++) {
            for (int j = 0; j < in; j++) {
                double d = (s == null ? back[i * in + j] : back[i * in + j] / s[j]) - w[i * in + j];
                e += d * d * meanSq[j];
            }
        }
        return e;
    }

    /** SmoothQuant scales of {@code w [out, in]} from the activations' per-channel max |x| with migration {@code alpha}. */
    public static double[] smoothQuant(double[] w, int out, int in, double[] maxAbs, double alpha) {
        double[] s = new double[in];
        for (int j = 0; j < in; j++) {
            double wmax = 0;
            for (int i = 0; i < out; i++) {
                wmax = Math.max(wmax, Math.abs(w[i * in + j]));
            }
            double v = Math.pow(Math.max(maxAbs[j], 1e-5), alpha) / Math.pow(Math.max(wmax, 1e-5), 1 - alpha);
            s[j] = (float) Math.clamp(v, 1e-5, 1e5);
        }
        return s;
    }
}
