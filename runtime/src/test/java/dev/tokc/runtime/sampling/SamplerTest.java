package dev.tokc.runtime.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplerTest {

    private static final TokenSelector FAST = new FastTokenSelector();
    private static final TokenSelector REFERENCE = new ReferenceTokenSelector();

    /** Logits whose softmax at T=1 is exactly proportional to {@code probs}. */
    private static float[] fromProbs(double... probs) {
        float[] l = new float[probs.length];
        for (int i = 0; i < probs.length; i++) {
            l[i] = (float) Math.log(probs[i]);
        }
        return l;
    }

    /** The set of tokens a selector can return, found by sweeping u over [0, 1). */
    private static Set<Integer> support(TokenSelector s, float[] l, SamplingParams p) {
        Set<Integer> out = new HashSet<>();
        for (int k = 0; k < 1000; k++) {
            out.add(s.select(l, p, k / 1000.0).token());
        }
        return out;
    }

    @Test
    void greedyTakesTheArgmaxAndTheLowestIdOnTies() {
        SamplingParams g = SamplingParams.greedy();
        assertEquals(2, FAST.select(new float[] {1, 2, 5, 5, -3}, g, 0.9).token());
        assertEquals(1, FAST.select(new float[] {Float.NEGATIVE_INFINITY, -7, -8}, g, 0).token());
        assertEquals(2, new Sampler(g, 5, new int[0]).sample(new float[] {1, 2, 5, 5, -3}).token());
    }

    @Test
    void invalidLogitsAreRejected() {
        SamplingParams p = SamplingParams.DEFAULT;
        assertThrows(IllegalArgumentException.class, () -> FAST.select(new float[] {0, Float.NaN}, p, 0.5));
        assertThrows(IllegalArgumentException.class, () -> FAST.select(new float[] {0, Float.POSITIVE_INFINITY}, p, 0.5));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FAST.select(new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}, p, 0.5));
        assertTrue(e.getMessage().contains("all 2 logits are -Infinity"), e.getMessage());
        Sampler s = new Sampler(p, 3, new int[0]);
        assertThrows(IllegalArgumentException.class, () -> s.sample(new float[4]));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(p, 3, new int[] {3}));
    }

    @Test
    void topKKeepsOnlyTheKBest() {
        float[] l = {0.1f, 3f, 2f, 2f, -1f, 1f};
        SamplingParams p = SamplingParams.DEFAULT.withTopK(3);
        // 3 best: id 1 (3.0), then the tie at 2.0 (ids 2 and 3).
        assertEquals(Set.of(1, 2, 3), support(FAST, l, p));
        assertEquals(Set.of(1, 2), support(FAST, l, p.withTopK(2).withTemperature(5)));
        assertEquals(Set.of(1), support(FAST, l, p.withTopK(1)));
    }

    @Test
    void topPKeepsTheSmallestSetReachingTheMass() {
        float[] l = fromProbs(0.05, 0.5, 0.15, 0.3);
        assertEquals(Set.of(1, 3), support(FAST, l, SamplingParams.DEFAULT.withTopP(0.79)));
        assertEquals(Set.of(1, 3, 2), support(FAST, l, SamplingParams.DEFAULT.withTopP(0.81)));
        assertEquals(Set.of(1), support(FAST, l, SamplingParams.DEFAULT.withTopP(0.2)));
        assertEquals(Set.of(0, 1, 2, 3), support(FAST, l, SamplingParams.DEFAULT.withTopP(1.0)));
    }

    @Test
    void minPDropsTokensFarBelowTheBest() {
        float[] l = fromProbs(0.05, 0.5, 0.15, 0.3);
        // min-p 0.5: keep p >= 0.25 -> ids 1 and 3; 0.25: keep p >= 0.125 -> also id 2.
        assertEquals(Set.of(1, 3), support(FAST, l, SamplingParams.DEFAULT.withMinP(0.5)));
        assertEquals(Set.of(1, 2, 3), support(FAST, l, SamplingParams.DEFAULT.withMinP(0.25)));
        assertEquals(Set.of(1), support(FAST, l, SamplingParams.DEFAULT.withMinP(1.0)));
    }

    @Test
    void samplingFollowsTheTemperatureScaledSoftmax() {
        float[] l = {1.0f, 2.0f, 0.0f, 1.5f};
        for (double t : new double[] {0.5, 1.0, 2.0}) {
            Sampler s = new Sampler(SamplingParams.DEFAULT.withTemperature(t).withSeed(42), 4, new int[0]);
            int n = 40_000;
            int[] counts = new int[4];
            for (int k = 0; k < n; k++) {
                counts[s.sample(l).token()]++;
            }
            double z = 0;
            for (float x : l) {
                z += Math.exp(x / t);
            }
            for (int i = 0; i < 4; i++) {
                double expected = Math.exp(l[i] / t) / z;
                double sd = Math.sqrt(expected * (1 - expected) / n);
                assertEquals(expected, counts[i] / (double) n, 5 * sd, "T=" + t + " token " + i);
            }
        }
    }

    @Test
    void sameSeedSameTokensDifferentSeedDifferentTokens() {
        SplittableRandom r = new SplittableRandom(1);
        float[][] steps = new float[50][];
        for (int k = 0; k < steps.length; k++) {
            steps[k] = randomLogits(r, 200, 2.0);
        }
        SamplingParams p = SamplingParams.DEFAULT.withTopP(0.95).withSeed(1234);
        assertArrayEquals(run(p, steps), run(p, steps));
        assertNotEquals(List.of(run(p, steps)), List.of(run(p.withSeed(99), steps)));
        assertNotEquals(java.util.Arrays.toString(run(p, steps)), java.util.Arrays.toString(run(p.withSeed(99), steps)));
    }

    private static int[] run(SamplingParams p, float[][] steps) {
        Sampler s = new Sampler(p, steps[0].length, new int[0]);
        int[] out = new int[steps.length];
        for (int k = 0; k < steps.length; k++) {
            out[k] = s.sample(steps[k]).token();
        }
        return out;
    }

    @Test
    void repetitionPenaltyFollowsHuggingFace() {
        Sampler s = new Sampler(SamplingParams.DEFAULT.withRepetitionPenalty(2.0), 5, new int[] {0, 1});
        s.accept(2);
        float[] l = {4f, -4f, 1f, 4f, -4f};
        s.applyPenalties(l);
        // Seen tokens 0, 1 (prompt) and 2 (output): positive halved, negative doubled; 3 and 4 untouched.
        assertArrayEquals(new float[] {2f, -8f, 0.5f, 4f, -4f}, l);
    }

    @Test
    void presenceAndFrequencyPenaltiesFollowOpenAiOnOutputOnly() {
        Sampler s = new Sampler(SamplingParams.DEFAULT.withPresencePenalty(0.5).withFrequencyPenalty(0.25), 4, new int[] {3});
        s.accept(1);
        s.accept(1);
        s.accept(2);
        float[] l = {1f, 1f, 1f, 1f};
        s.applyPenalties(l);
        // token 1: 1 - (2 * 0.25 + 0.5) = 0; token 2: 1 - (0.25 + 0.5) = 0.25; prompt token 3 untouched.
        assertArrayEquals(new float[] {1f, 0f, 0.25f, 1f}, l);
    }

    @Test
    void penaltiesSteerGreedyAwayFromRepeats() {
        Sampler s = new Sampler(SamplingParams.greedy().withFrequencyPenalty(2.0), 3, new int[0]);
        float[] l = {3f, 2f, 0f};
        int[] got = new int[4];
        for (int k = 0; k < got.length; k++) {
            got[k] = s.sample(l).token();
        }
        // 0 (3 > 2), then 0 has 3-2=1 < 2 -> 1, then 1 has 0, 0 has 1 -> 0, then 0 has -1, 1 has 0 -> 1.
        assertArrayEquals(new int[] {0, 1, 0, 1}, got);
        assertEquals(4, s.generated());
        assertEquals(3f, l[0]);   // the caller's logits are untouched
    }

    @Test
    void logprobsAreTheLogSoftmaxOfTheFinalDistribution() {
        float[] l = fromProbs(0.1, 0.4, 0.2, 0.3);
        SampledToken g = FAST.select(l, SamplingParams.greedy().withLogprobs(2), 0);
        assertEquals(1, g.token());
        Logprobs lp = g.logprobs().orElseThrow();
        assertEquals(Math.log(0.4), lp.chosen(), 1e-6);
        assertEquals(List.of(1, 3), lp.top().stream().map(TokenLogprob::token).toList());
        assertEquals(Math.log(0.3), lp.top().get(1).logprob(), 1e-6);

        // With top-k 2 the final distribution is {1: 4/7, 3: 3/7}.
        SampledToken s = FAST.select(l, SamplingParams.DEFAULT.withTopK(2).withLogprobs(5), 0.0);
        Logprobs sp = s.logprobs().orElseThrow();
        assertEquals(1, s.token());   // u = 0 takes the first candidate in id order
        assertEquals(Math.log(4.0 / 7), sp.chosen(), 1e-6);
        assertEquals(List.of(1, 3), sp.top().stream().map(TokenLogprob::token).toList());
        assertEquals(Math.log(3.0 / 7), sp.top().get(1).logprob(), 1e-6);
        assertEquals(3, FAST.select(l, SamplingParams.DEFAULT.withTopK(2), 0.99).token());

        assertTrue(FAST.select(l, SamplingParams.DEFAULT, 0.5).logprobs().isEmpty());
        assertEquals(0, FAST.select(l, SamplingParams.DEFAULT.withLogprobs(0), 0.5).logprobs().orElseThrow().top().size());
    }

    @Test
    void heapSelectionMatchesSorting() {
        SplittableRandom r = new SplittableRandom(3);
        for (int trial = 0; trial < 200; trial++) {
            float[] l = randomLogits(r, 1 + r.nextInt(300), 1.0);
            int k = 1 + r.nextInt(l.length);
            Integer[] all = new Integer[l.length];
            for (int i = 0; i < l.length; i++) {
                all[i] = i;
            }
            java.util.Arrays.sort(all, (a, b) -> TokenSelector.better(l, a, b) ? -1 : TokenSelector.better(l, b, a) ? 1 : 0);
            int[] expected = java.util.Arrays.stream(all).limit(k).mapToInt(Integer::intValue).toArray();
            assertArrayEquals(expected, FastTokenSelector.topByLogit(l, k));
        }
    }

    @Test
    void primitiveSortMatchesTheComparator() {
        float[] l = {0.0f, -0.0f, 1f, Float.NEGATIVE_INFINITY, -1f, 1f, Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE};
        int[] ids = java.util.stream.IntStream.range(0, l.length).toArray();
        assertArrayEquals(new int[] {6, 2, 5, 8, 0, 1, 9, 4, 7, 3}, FastTokenSelector.sortBestFirst(l, ids));
    }

    /** The fast selector computes exactly the reference's function, over many shapes of distribution. */
    @Test
    void fastPathMatchesReference() {
        SplittableRandom r = new SplittableRandom(2024);
        int cases = 0;
        for (int trial = 0; trial < 400; trial++) {
            int v = trial % 50 == 0 ? 20_000 : 1 + r.nextInt(600);
            float[] l = randomLogits(r, v, new double[] {0.1, 1, 4, 12}[r.nextInt(4)]);
            SamplingParams p = randomParams(r);
            for (int d = 0; d < 5; d++) {
                double u = d == 0 ? 0.0 : r.nextDouble();
                SampledToken want = REFERENCE.select(l, p, u);
                SampledToken got = FAST.select(l, p, u);
                assertEquals(want, got, () -> "v=" + l.length + " params=" + p + " u=" + u);
                cases++;
            }
        }
        assertTrue(cases >= 2000);
    }

    /** Top-p alone over flat and peaked distributions: the threshold loop has to widen several times. */
    @Test
    void nucleusWithoutTopKMatchesReference() {
        SplittableRandom r = new SplittableRandom(77);
        for (int v : new int[] {1000, 5000}) {
            for (double scale : new double[] {0.01, 0.5, 5}) {
                float[] l = randomLogits(r, v, scale);
                for (double topP : new double[] {0.5, 0.9, 0.999, 0.99999}) {
                    for (double t : new double[] {0.5, 1, 3}) {
                        SamplingParams p = SamplingParams.DEFAULT.withTopP(topP).withTemperature(t).withLogprobs(3);
                        double u = r.nextDouble();
                        assertEquals(REFERENCE.select(l, p, u), FAST.select(l, p, u), "v=" + v + " scale=" + scale + " " + p);
                    }
                }
            }
        }
    }

    @Test
    void samplerWithEitherSelectorProducesTheSameSequence() {
        SplittableRandom r = new SplittableRandom(5);
        SamplingParams p = SamplingParams.DEFAULT.withTopK(40).withTopP(0.9).withMinP(0.02).withTemperature(0.8)
                .withRepetitionPenalty(1.3).withPresencePenalty(0.4).withFrequencyPenalty(0.3).withSeed(11).withLogprobs(3);
        Sampler fast = new Sampler(p, 500, new int[] {1, 2, 3}, FAST);
        Sampler ref = new Sampler(p, 500, new int[] {1, 2, 3}, REFERENCE);
        for (int k = 0; k < 100; k++) {
            float[] l = randomLogits(r, 500, 3);
            assertEquals(ref.sample(l), fast.sample(l));
        }
    }

    private static SamplingParams randomParams(SplittableRandom r) {
        SamplingParams p = SamplingParams.DEFAULT.withTemperature(new double[] {0, 0.3, 1, 1.7}[r.nextInt(4)]);
        if (r.nextBoolean()) {
            p = p.withTopK(1 + r.nextInt(60));
        }
        if (r.nextBoolean()) {
            p = p.withTopP(new double[] {0.1, 0.5, 0.9, 0.95, 0.999, 1.0}[r.nextInt(6)]);
        }
        if (r.nextInt(3) == 0) {
            p = p.withMinP(new double[] {0.001, 0.05, 0.3, 1.0}[r.nextInt(4)]);
        }
        if (r.nextBoolean()) {
            p = p.withLogprobs(r.nextInt(6));
        }
        return p;
    }

    /** Gaussian logits at a given scale, sometimes quantised (ties), sometimes with -inf (masked) entries. */
    private static float[] randomLogits(SplittableRandom r, int v, double scale) {
        float[] l = new float[v];
        boolean quantise = r.nextInt(4) == 0;
        boolean mask = r.nextInt(4) == 0;
        for (int i = 0; i < v; i++) {
            double x = gaussian(r) * scale;
            l[i] = (float) (quantise ? Math.round(x * 2) / 2.0 : x);
            if (mask && r.nextInt(3) == 0) {
                l[i] = Float.NEGATIVE_INFINITY;
            }
        }
        l[r.nextInt(v)] = (float) (scale * 2);   // never all -inf
        return l;
    }

    private static double gaussian(SplittableRandom r) {
        return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }

    @Test
    void unseededSamplersStillWork() {
        List<Integer> got = new ArrayList<>();
        Sampler s = new Sampler(SamplingParams.DEFAULT, 3, new int[0]);
        for (int k = 0; k < 10; k++) {
            got.add(s.sample(new float[] {0, 0, 0}).token());
        }
        assertTrue(got.stream().allMatch(t -> t >= 0 && t < 3));
    }
}
