package dev.tokc.runtime.sampling;

import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Chooses the next token of one sequence: applies the penalties its history calls for, then a
 * {@link TokenSelector}. One instance per sequence; it remembers the prompt and the tokens it produced.
 *
 * <pre>
 *   logits --copy--> repetition (prompt + output) --> presence/frequency (output) --> selector --> token
 *                                                                        ^ u from SplittableRandom(seed)
 * </pre>
 *
 * <ul>
 *   <li>Repetition penalty (Hugging Face): for every token in the prompt or the output, a positive logit is
 *       divided by the penalty and a negative one multiplied by it.</li>
 *   <li>Presence and frequency penalties (OpenAI): for every output token with count c,
 *       {@code logit -= c * frequencyPenalty + presencePenalty}. The prompt does not count, as in vLLM.</li>
 *   <li>Seed: one {@link SplittableRandom} per sequence, seeded from {@link SamplingParams#seed()} (or from the
 *       JVM's default seeder when absent), one {@code nextDouble()} per non-greedy step. Same seed, params and
 *       logits give the same tokens, whatever other sequences do.</li>
 * </ul>
 * The caller's logits array is never modified. Not thread-safe; each sequence's sampler is used by one thread.
 */
public final class Sampler {

    private final SamplingParams params;
    private final int vocabSize;
    private final TokenSelector selector;
    private final SplittableRandom random;
    /** Tokens of prompt and output, for the repetition penalty. */
    private final BitSet seen = new BitSet();
    /** Output token counts, for presence and frequency penalties. */
    private final Map<Integer, Integer> outputCounts = new HashMap<>();
    private final float[] scratch;
    private int generated;

    /**
     * @param vocabSize    the length of the logits rows this sampler will see
     * @param promptTokens the prompt, for the repetition penalty
     */
    public Sampler(SamplingParams params, int vocabSize, int[] promptTokens) {
        this(params, vocabSize, promptTokens, new FastTokenSelector());
    }

    Sampler(SamplingParams params, int vocabSize, int[] promptTokens, TokenSelector selector) {
        if (vocabSize < 1) {
            throw new IllegalArgumentException("vocabSize must be >= 1, got " + vocabSize);
        }
        this.params = params;
        this.vocabSize = vocabSize;
        this.selector = selector;
        this.random = params.seed().isPresent() ? new SplittableRandom(params.seed().getAsLong()) : new SplittableRandom();
        this.scratch = new float[vocabSize];
        for (int t : promptTokens) {
            seen.set(checkToken(t));
        }
    }

    public SamplingParams params() {
        return params;
    }

    /** Tokens produced (or accepted) so far. */
    public int generated() {
        return generated;
    }

    /** Chooses the next token from {@code logits} and records it as produced. */
    public SampledToken sample(float[] logits) {
        if (logits.length != vocabSize) {
            throw new IllegalArgumentException("logits have " + logits.length + " entries, vocabulary has " + vocabSize);
        }
        System.arraycopy(logits, 0, scratch, 0, vocabSize);
        applyPenalties(scratch);
        double u = params.isGreedy() ? 0.0 : random.nextDouble();
        SampledToken out = selector.select(scratch, params, u);
        accept(out.token());
        return out;
    }

    /** Records a token produced elsewhere (e.g. accepted from a draft model) as part of the output. */
    public void accept(int token) {
        seen.set(checkToken(token));
        outputCounts.merge(token, 1, Integer::sum);
        generated++;
    }

    /** Applies the penalties to {@code logits} in place; separate so tests can check the arithmetic. */
    void applyPenalties(float[] logits) {
        double r = params.repetitionPenalty();
        if (r != 1.0) {
            for (int t = seen.nextSetBit(0); t >= 0; t = seen.nextSetBit(t + 1)) {
                logits[t] = (float) (logits[t] > 0 ? logits[t] / r : logits[t] * r);
            }
        }
        double presence = params.presencePenalty();
        double frequency = params.frequencyPenalty();
        if (presence != 0 || frequency != 0) {
            outputCounts.forEach((t, c) -> logits[t] = (float) (logits[t] - (c * frequency + presence)));
        }
    }

    private int checkToken(int t) {
        if (t < 0 || t >= vocabSize) {
            throw new IllegalArgumentException("token id " + t + " outside the vocabulary [0, " + vocabSize + ")");
        }
        return t;
    }
}
