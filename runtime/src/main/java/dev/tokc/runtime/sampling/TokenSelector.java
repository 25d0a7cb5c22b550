package dev.tokc.runtime.sampling;

/**
 * Picks one token from penalised logits: temperature, top-k, top-p, min-p, the draw, and logprobs. Two
 * implementations compute the same function: {@link ReferenceTokenSelector} (sorts everything, obviously right)
 * and {@link FastTokenSelector} (never sorts the whole vocabulary); tests require identical results.
 *
 * <p>The function, for temperature T &gt; 0, with m the largest logit and {@code w_i = exp((l_i - m) / T)}:
 * <ol>
 *   <li>C = all tokens; top-k keeps the k best of C (best = larger logit, then lower id);</li>
 *   <li>top-p keeps the shortest best-first prefix of C whose weight, summed best-first, reaches
 *       {@code topP * sum(C)} (sums over C in ascending id order);</li>
 *   <li>min-p keeps the tokens of C with {@code w_i >= minP} (the best token has weight 1);</li>
 *   <li>with Z the weight of C summed in ascending id order, the chosen token is the first of C, walking
 *       ascending ids, at which the running weight exceeds {@code u * Z}.</li>
 * </ol>
 * Summation orders are part of the definition so that both implementations agree bit for bit. For T = 0 the
 * choice is the best token, and logprobs are the log-softmax of the logits themselves (T = 1, nothing filtered).
 */
interface TokenSelector {

    /**
     * @param logits penalised logits; finite or {@code -Infinity}, at least one finite
     * @param u      a uniform draw in [0, 1); ignored when greedy
     * @throws IllegalArgumentException on NaN or {@code +Infinity} logits, or when all are {@code -Infinity}
     */
    SampledToken select(float[] logits, SamplingParams params, double u);

    /** Index of the best logit (lowest id among equals), validating the logits on the way. */
    static int argmax(float[] logits) {
        int best = -1;
        for (int i = 0; i < logits.length; i++) {
            float l = logits[i];
            if (Float.isNaN(l) || l == Float.POSITIVE_INFINITY) {
                throw new IllegalArgumentException("logit " + i + " is " + l + "; logits must be finite or -Infinity");
            }
            if (l != Float.NEGATIVE_INFINITY && (best < 0 || l > logits[best])) {
                best = i;
            }
        }
        if (best < 0) {
            throw new IllegalArgumentException("all " + logits.length + " logits are -Infinity: nothing can be sampled");
        }
        return best;
    }

    /** The unnormalised probability of a token: exp((l - max) / T), in [0, 1]. */
    static double weight(float logit, float max, double temperature) {
        return Math.exp((logit - (double) max) / temperature);
    }

    /** The order of "most likely first": larger logit, then lower id. */
    static boolean better(float[] logits, int a, int b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    }
}
