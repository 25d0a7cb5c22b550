package dev.tokc.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * The quality arithmetic of {@code tokc eval} (issue 7), separate from engines so tests can feed it logits:
 * windows over a token stream, per-position negative log-likelihood of the next token, and the divergence of a model's
 * next-token distributions from a reference model's.
 *
 * <p>Conventions: perplexity over a held-out split is computed in non-overlapping windows of the model's context
 * length, each window a fresh sequence (no state carried across windows); within a window of n tokens the n - 1
 * next tokens are predicted. All sums in float64, log-softmax with the max subtracted.
 */
final class Evaluation {
    private Evaluation() {}

    /** A token range {@code [from, to)} of the evaluated stream. */
    record Window(int from, int to) {
        int length() {
            return to - from;
        }
    }

    /**
     * The tokens a split spec selects: {@code all}, {@code last:F} (the last fraction F of the tokens, as a model
     * trained on the first 1 - F holds them out) or {@code first:F}.
     */
    static int[] split(int[] tokens, String spec) {
        if (spec.equals("all")) {
            return tokens;
        }
        int colon = spec.indexOf(':');
        String kind = colon < 0 ? "" : spec.substring(0, colon);
        double f;
        try {
            f = colon < 0 ? Double.NaN : Double.parseDouble(spec.substring(colon + 1));
        } catch (NumberFormatException e) {
            f = Double.NaN;
        }
        if (!(kind.equals("last") || kind.equals("first")) || !(f > 0 && f <= 1)) {
            throw new UsageError("--split must be all, last:F or first:F with 0 < F <= 1, got '" + spec + "'");
        }
        int n = (int) Math.round(tokens.length * f);
        return kind.equals("last") ? java.util.Arrays.copyOfRange(tokens, tokens.length - n, tokens.length)
                : java.util.Arrays.copyOf(tokens, n);
    }

    /** Non-overlapping windows of {@code size} tokens; a last shorter window is kept when it predicts anything. */
    static List<Window> windows(int tokens, int size) {
        List<Window> out = new ArrayList<>();
        for (int from = 0; from < tokens; from += size) {
            int to = Math.min(tokens, from + size);
            if (to - from >= 2) {
                out.add(new Window(from, to));
            }
        }
        return out;
    }

    /** log softmax of {@code logits[at .. at + vocab)} into {@code out}. */
    static void logSoftmax(float[] logits, int at, int vocab, double[] out) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < vocab; v++) {
            max = Math.max(max, logits[at + v]);
        }
        double sum = 0;
        for (int v = 0; v < vocab; v++) {
            sum += Math.exp(logits[at + v] - max);
        }
        double lse = max + Math.log(sum);
        for (int v = 0; v < vocab; v++) {
            out[v] = logits[at + v] - lse;
        }
    }

    static int argmax(float[] logits, int at, int vocab) {
        int best = 0;
        for (int v = 1; v < vocab; v++) {
            if (logits[at + v] > logits[at + best]) {
                best = v;
            }
        }
        return best;
    }

    /** KL(p || q) in nats from the two log-distributions. */
    static double kl(double[] logP, double[] logQ) {
        double s = 0;
        for (int v = 0; v < logP.length; v++) {
            double p = Math.exp(logP[v]);
            if (p > 0) {
                s += p * (logP[v] - logQ[v]);
            }
        }
        return Math.max(0, s);
    }

    /** Running totals over predicted positions. */
    static final class Totals {
        long predictions;
        double nll;
        long refPredictions;
        double klSum;
        long top1Agree;

        /**
         * Adds one window: {@code logits [n, vocab]} of the model (and {@code refLogits} of the reference, or null)
         * for the window's tokens {@code ids}.
         */
        void add(int[] ids, float[] logits, float[] refLogits, int vocab) {
            double[] lp = new double[vocab];
            double[] lr = new double[vocab];
            for (int t = 0; t + 1 < ids.length; t++) {
                logSoftmax(logits, t * vocab, vocab, lp);
                nll -= lp[ids[t + 1]];
                predictions++;
                if (refLogits != null) {
                    logSoftmax(refLogits, t * vocab, vocab, lr);
                    klSum += kl(lr, lp);
                    refPredictions++;
                    if (argmax(logits, t * vocab, vocab) == argmax(refLogits, t * vocab, vocab)) {
                        top1Agree++;
                    }
                }
            }
        }

        double meanNll() {
            return nll / predictions;
        }

        double perplexity() {
            return Math.exp(meanNll());
        }

        double meanKl() {
            return klSum / refPredictions;
        }

        double top1Agreement() {
            return (double) top1Agree / refPredictions;
        }
    }
}
