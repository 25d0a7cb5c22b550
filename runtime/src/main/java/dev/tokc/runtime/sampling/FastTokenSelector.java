package dev.tokc.runtime.sampling;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * {@link TokenSelector} without sorting the vocabulary. Per step, with V the vocabulary and C the candidates:
 * <ul>
 *   <li>top-k: a bounded heap, O(V log k), then only the k winners are sorted;</li>
 *   <li>top-p without top-k: only the tokens above a probability threshold are collected and sorted; the
 *       threshold starts at 1e-3 of the mass and drops 64x until the collected tokens reach {@code topP} of the
 *       mass. Whatever is above a threshold is a best-first prefix of the vocabulary, so the nucleus found in
 *       it is the reference's nucleus, summed in the same order;</li>
 *   <li>no filter, or min-p alone: one or two O(V) passes, nothing sorted;</li>
 *   <li>greedy: one argmax pass (plus a heap of {@code topLogprobs} when logprobs are asked for).</li>
 * </ul>
 * Stateless and thread-safe.
 */
final class FastTokenSelector implements TokenSelector {

    private static final double FIRST_THRESHOLD = 1e-3;
    private static final double THRESHOLD_STEP = 64;

    @Override
    public SampledToken select(float[] l, SamplingParams p, double u) {
        int best = TokenSelector.argmax(l);
        float m = l[best];
        if (p.isGreedy()) {
            // Logprobs of a greedy step: the log-softmax of the logits over the whole vocabulary.
            return p.logprobs() ? withLogprobs(l, m, 1.0, best, null, p.topLogprobs()) : new SampledToken(best, Optional.empty());
        }
        double t = p.temperature();
        int v = l.length;
        int[] ranked = null;   // candidates best-first, once they are fewer than the vocabulary
        if (p.topK() > 0 && p.topK() < v) {
            ranked = topByLogit(l, p.topK());
        }
        if (p.topP() < 1) {
            ranked = ranked != null ? nucleus(l, m, t, ranked, p.topP() * sum(l, m, t, ascending(ranked)))
                    : nucleusOfAll(l, m, t, p.topP());
        }
        int[] ids = ranked == null ? null : ascending(ranked);   // null: every token is a candidate
        if (p.minP() > 0) {
            ids = minP(l, m, t, ids, p.minP());
        }
        double z = sum(l, m, t, ids);
        int token = draw(l, m, t, ids, u * z);
        return p.logprobs() ? withLogprobs(l, m, t, token, ids, p.topLogprobs()) : new SampledToken(token, Optional.empty());
    }

    /** Sum of weights over {@code ids} (ascending), or over the whole vocabulary when null. */
    private static double sum(float[] l, float m, double t, int[] ids) {
        double s = 0;
        if (ids == null) {
            for (int i = 0; i < l.length; i++) {
                s += TokenSelector.weight(l[i], m, t);
            }
        } else {
            for (int i : ids) {
                s += TokenSelector.weight(l[i], m, t);
            }
        }
        return s;
    }

    private static int draw(float[] l, float m, double t, int[] ids, double target) {
        double cum = 0;
        int last = -1;
        int n = ids == null ? l.length : ids.length;
        for (int k = 0; k < n; k++) {
            int i = ids == null ? k : ids[k];
            double w = TokenSelector.weight(l[i], m, t);
            if (w > 0) {
                cum += w;
                last = i;
                if (cum > target) {
                    return i;
                }
            }
        }
        return last;
    }

    /** The shortest best-first prefix of {@code ranked} whose weight reaches {@code target}, or null if none. */
    private static int[] prefixReaching(float[] l, float m, double t, int[] ranked, double target) {
        double cum = 0;
        for (int r = 0; r < ranked.length; r++) {
            cum += TokenSelector.weight(l[ranked[r]], m, t);
            if (cum >= target) {
                return Arrays.copyOf(ranked, r + 1);
            }
        }
        return null;
    }

    private static int[] nucleus(float[] l, float m, double t, int[] ranked, double target) {
        int[] prefix = prefixReaching(l, m, t, ranked, target);
        return prefix != null ? prefix : ranked;
    }

    private static int[] nucleusOfAll(float[] l, float m, double t, double topP) {
        double total = sum(l, m, t, null);
        double target = topP * total;
        for (double tau = FIRST_THRESHOLD; ; tau /= THRESHOLD_STEP) {
            // w >= tau * total  <=>  l >= m + T * ln(tau * total); a logit threshold needs no exp per token.
            // Rounding here only moves the boundary of a best-first prefix, which the walk below re-checks.
            boolean everything = tau < 1e-40;
            double threshold = everything ? Double.NEGATIVE_INFINITY : m + t * Math.log(tau * total);
            int[] above = collect(l, threshold);
            int[] ranked = sortBestFirst(l, above);
            int[] prefix = prefixReaching(l, m, t, ranked, target);
            if (prefix != null) {
                return prefix;
            }
            if (everything || above.length == l.length) {
                return ranked;   // rounding kept the walk just under the target: every token stays
            }
        }
    }

    private static int[] collect(float[] l, double threshold) {
        int n = 0;
        int[] out = new int[16];
        for (int i = 0; i < l.length; i++) {
            if (l[i] >= threshold) {
                if (n == out.length) {
                    out = Arrays.copyOf(out, n * 2);
                }
                out[n++] = i;
            }
        }
        return Arrays.copyOf(out, n);
    }

    private static int[] minP(float[] l, float m, double t, int[] ids, double minP) {
        int n = ids == null ? l.length : ids.length;
        int[] out = new int[Math.min(n, 16)];
        int kept = 0;
        for (int k = 0; k < n; k++) {
            int i = ids == null ? k : ids[k];
            if (TokenSelector.weight(l[i], m, t) >= minP) {
                if (kept == out.length) {
                    out = Arrays.copyOf(out, kept * 2);
                }
                out[kept++] = i;
            }
        }
        return Arrays.copyOf(out, kept);
    }

    private SampledToken withLogprobs(float[] l, float m, double t, int token, int[] ids, int topN) {
        double logZ = Math.log(sum(l, m, t, ids));
        int[] best = ids == null ? topByLogit(l, Math.min(topN, l.length)) : sortBestFirst(l, ids);
        List<TokenLogprob> top = new ArrayList<>();
        for (int r = 0; r < best.length && top.size() < topN; r++) {
            int i = best[r];
            if (TokenSelector.weight(l[i], m, t) > 0) {
                top.add(new TokenLogprob(i, (l[i] - (double) m) / t - logZ));
            }
        }
        return new SampledToken(token, Optional.of(new Logprobs((l[token] - (double) m) / t - logZ, top)));
    }

    private static int[] ascending(int[] ids) {
        int[] copy = ids.clone();
        Arrays.sort(copy);
        return copy;
    }

    /**
     * Sorts a candidate set best-first with a primitive sort: each id becomes one long whose natural order is
     * "larger logit, then lower id" (the logit's bits made order-preserving, inverted, above the id).
     */
    static int[] sortBestFirst(float[] l, int[] ids) {
        long[] keys = new long[ids.length];
        for (int k = 0; k < ids.length; k++) {
            int bits = Float.floatToIntBits(l[ids[k]] + 0.0f);   // + 0.0f turns -0.0 into 0.0: they tie
            int ascending = bits < 0 ? ~bits : bits | Integer.MIN_VALUE;   // unsigned order == float order
            int descending = ~ascending ^ Integer.MIN_VALUE;             // signed order == reverse float order
            keys[k] = ((long) descending << 32) | ids[k];
        }
        Arrays.sort(keys);
        int[] out = new int[ids.length];
        for (int k = 0; k < keys.length; k++) {
            out[k] = (int) keys[k];
        }
        return out;
    }

    /**
     * The k best tokens, best first, through a heap whose root is the worst of those kept so far: O(V log k).
     */
    static int[] topByLogit(float[] l, int k) {
        if (k == 0) {
            return new int[0];
        }
        int[] heap = new int[k];
        int n = 0;
        for (int i = 0; i < l.length; i++) {
            if (n < k) {
                heap[n] = i;
                siftUp(l, heap, n++);
            } else if (TokenSelector.better(l, i, heap[0])) {
                heap[0] = i;
                siftDown(l, heap, n);
            }
        }
        // Pop the worst to the back until the heap is empty: the array ends up best first.
        for (int end = n - 1; end > 0; end--) {
            int worst = heap[0];
            heap[0] = heap[end];
            heap[end] = worst;
            siftDown(l, heap, end);
        }
        return n == k ? heap : Arrays.copyOf(heap, n);
    }

    /** Heap order: a parent is worse than its children. */
    private static void siftUp(float[] l, int[] heap, int i) {
        while (i > 0) {
            int parent = (i - 1) / 2;
            if (!TokenSelector.better(l, heap[parent], heap[i])) {
                return;
            }
            swap(heap, parent, i);
            i = parent;
        }
    }

    private static void siftDown(float[] l, int[] heap, int n) {
        int i = 0;
        while (true) {
            int a = 2 * i + 1;
            if (a >= n) {
                return;
            }
            int worse = a + 1 < n && TokenSelector.better(l, heap[a], heap[a + 1]) ? a + 1 : a;
            if (!TokenSelector.better(l, heap[i], heap[worse])) {
                return;
            }
            swap(heap, i, worse);
            i = worse;
        }
    }

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
