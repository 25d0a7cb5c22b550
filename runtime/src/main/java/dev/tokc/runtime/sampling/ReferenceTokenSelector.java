package dev.tokc.runtime.sampling;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;

/**
 * The plain reading of {@link TokenSelector}'s definition: sort the whole vocabulary, mark what each filter
 * keeps, draw. O(V log V) per step; the fast selector is tested against it.
 */
final class ReferenceTokenSelector implements TokenSelector {

    @Override
    public SampledToken select(float[] l, SamplingParams p, double u) {
        int v = l.length;
        float m = l[TokenSelector.argmax(l)];
        int[] order = IntStream.range(0, v).boxed()
                .sorted((a, b) -> TokenSelector.better(l, a, b) ? -1 : TokenSelector.better(l, b, a) ? 1 : 0)
                .mapToInt(Integer::intValue).toArray();
        double t = p.isGreedy() ? 1.0 : p.temperature();
        double[] w = new double[v];
        for (int i = 0; i < v; i++) {
            w[i] = TokenSelector.weight(l[i], m, t);
        }
        boolean[] keep = new boolean[v];
        Arrays.fill(keep, true);
        if (!p.isGreedy()) {
            if (p.topK() > 0 && p.topK() < v) {
                for (int r = p.topK(); r < v; r++) {
                    keep[order[r]] = false;
                }
            }
            if (p.topP() < 1) {
                double target = p.topP() * sum(w, keep);
                double cum = 0;
                boolean reached = false;
                for (int i : order) {
                    if (!keep[i]) {
                        continue;
                    }
                    if (reached) {
                        keep[i] = false;
                    } else {
                        cum += w[i];
                        reached = cum >= target;
                    }
                }
            }
            if (p.minP() > 0) {
                for (int i = 0; i < v; i++) {
                    keep[i] &= w[i] >= p.minP();
                }
            }
        }
        double z = sum(w, keep);
        int token = p.isGreedy() ? order[0] : draw(w, keep, u * z);
        if (!p.logprobs()) {
            return new SampledToken(token, Optional.empty());
        }
        double logZ = Math.log(z);
        List<TokenLogprob> top = new ArrayList<>();
        for (int r = 0; r < v && top.size() < p.topLogprobs(); r++) {
            int i = order[r];
            if (keep[i] && w[i] > 0) {
                top.add(new TokenLogprob(i, (l[i] - (double) m) / t - logZ));
            }
        }
        return new SampledToken(token, Optional.of(new Logprobs((l[token] - (double) m) / t - logZ, top)));
    }

    private static double sum(double[] w, boolean[] keep) {
        double s = 0;
        for (int i = 0; i < w.length; i++) {
            if (keep[i]) {
                s += w[i];
            }
        }
        return s;
    }

    private static int draw(double[] w, boolean[] keep, double target) {
        double cum = 0;
        int last = -1;
        for (int i = 0; i < w.length; i++) {
            if (keep[i] && w[i] > 0) {
                cum += w[i];
                last = i;
                if (cum > target) {
                    return i;
                }
            }
        }
        return last;   // rounding left target at the very top: the last candidate
    }
}
