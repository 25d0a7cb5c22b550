package dev.tokc.runtime.sampling;

import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;

/**
 * How one request picks its tokens: immutable, validated once at construction, each field with its
 * neutral value in {@link #DEFAULT}. Change fields with the {@code withX} methods, which return {@code this}
 * when nothing changes.
 *
 * <p>Order of application, per step (see {@link Sampler}):
 * <pre>
 *   logits -> repetition penalty -> presence/frequency penalties -> / temperature
 *          -> top-k -> top-p -> min-p -> draw (or argmax when temperature == 0)
 * </pre>
 *
 * @param temperature       0 for greedy, else the softmax temperature; finite, {@code >= 0}
 * @param topK              keep the k most likely tokens; 0 disables; {@code >= 0}
 * @param topP              keep the smallest most-likely set with probability mass {@code >= topP}; in (0, 1]
 * @param minP              drop tokens with probability below {@code minP * p(most likely)}; in [0, 1]
 * @param repetitionPenalty HF semantics on prompt and output tokens: positive logits divided by it, negative
 *                          ones multiplied; 1 disables; finite, {@code > 0}
 * @param presencePenalty   OpenAI semantics on output tokens: subtracted once from each token seen; in [-2, 2]
 * @param frequencyPenalty  OpenAI semantics on output tokens: subtracted once per occurrence; in [-2, 2]
 * @param seed              makes the draws reproducible: same seed, same params, same logits, same tokens
 * @param maxTokens         generated tokens at most; {@code >= 1}
 * @param stop              stop strings, none empty; the output ends before the first occurrence
 * @param stopTokenIds      token ids that end generation (in addition to the model's EOS ids)
 * @param ignoreEos         keep generating after the model's EOS ids (for benchmarks)
 * @param logprobs          whether to return the chosen token's log-probability
 * @param topLogprobs       also return this many most likely alternatives; in [0, 20], needs {@code logprobs}
 */
public record SamplingParams(double temperature, int topK, double topP, double minP,
                             double repetitionPenalty, double presencePenalty, double frequencyPenalty,
                             OptionalLong seed, int maxTokens, List<String> stop, Set<Integer> stopTokenIds,
                             boolean ignoreEos, boolean logprobs, int topLogprobs) {

    /** The most alternatives {@link #topLogprobs} may ask for (OpenAI's limit). */
    public static final int MAX_TOP_LOGPROBS = 20;

    /** Plain sampling at temperature 1, nothing filtered or penalised, 16 tokens (OpenAI's completion default). */
    public static final SamplingParams DEFAULT = new SamplingParams(1.0, 0, 1.0, 0.0, 1.0, 0.0, 0.0,
            OptionalLong.empty(), 16, List.of(), Set.of(), false, false, 0);

    public SamplingParams {
        require(Double.isFinite(temperature) && temperature >= 0, "temperature", "a finite number >= 0", temperature);
        require(topK >= 0, "topK", ">= 0 (0 disables)", topK);
        require(topP > 0 && topP <= 1, "topP", "(0, 1]", topP);
        require(minP >= 0 && minP <= 1, "minP", "[0, 1]", minP);
        require(Double.isFinite(repetitionPenalty) && repetitionPenalty > 0, "repetitionPenalty",
                "a finite number > 0 (1 disables)", repetitionPenalty);
        require(presencePenalty >= -2 && presencePenalty <= 2, "presencePenalty", "[-2, 2]", presencePenalty);
        require(frequencyPenalty >= -2 && frequencyPenalty <= 2, "frequencyPenalty", "[-2, 2]", frequencyPenalty);
        Objects.requireNonNull(seed, "seed");
        require(maxTokens >= 1, "maxTokens", ">= 1", maxTokens);
        stop = List.copyOf(stop);
        for (String s : stop) {
            require(!s.isEmpty(), "stop", "non-empty strings", "\"\"");
        }
        stopTokenIds = Set.copyOf(stopTokenIds);
        for (int id : stopTokenIds) {
            require(id >= 0, "stopTokenIds", "token ids >= 0", id);
        }
        require(topLogprobs >= 0 && topLogprobs <= MAX_TOP_LOGPROBS, "topLogprobs", "[0, " + MAX_TOP_LOGPROBS + "]", topLogprobs);
        require(logprobs || topLogprobs == 0, "topLogprobs", "0 unless logprobs is true", topLogprobs);
    }

    /** {@link #DEFAULT} at temperature 0: always the most likely token. */
    public static SamplingParams greedy() {
        return DEFAULT.withTemperature(0);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    public SamplingParams withTemperature(double v) {
        return v == temperature ? this : new SamplingParams(v, topK, topP, minP, repetitionPenalty, presencePenalty,
                frequencyPenalty, seed, maxTokens, stop, stopTokenIds, ignoreEos, logprobs, topLogprobs);
    }

    public SamplingParams withTopK(int v) {
        return v == topK ? this : new SamplingParams(temperature, v, topP, minP, repetitionPenalty, presencePenalty,
                frequencyPenalty, seed, maxTokens, stop, stopTokenIds, ignoreEos, logprobs, topLogprobs);
    }

    public SamplingParams withTopP(double v) {
        return v == topP ? this : new SamplingParams(temperature, topK, v, minP, repetitionPenalty, presencePenalty,
                frequencyPenalty, seed, maxTokens, stop, stopTokenIds, ignoreEos, logprobs, topLogprobs);
    }

    public SamplingParams withMinP(double v) {
        return v == minP ? this : new SamplingParams(temperature, topK, topP, v, repetitionPenalty, presencePenalty,
                frequencyPenalty, seed, maxTokens, stop, stopTokenIds, ignoreEos, logprobs, topLogprobs);
    }

    public SamplingParams withRepetitionPenalty(double v) {
        return v == repetitionPenalty ? this : new SamplingParams(temperature, topK, topP, minP, v, presencePenalty,
                frequencyPenalty, seed, maxTokens, stop, stopTokenIds, ignoreEos, logprobs, topLogprobs);
    }

    public SamplingParams withPresencePenalty(double v) {
        return v == presencePenalty ? this : new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, v,
                frequencyPenalty, seed, maxTokens, stop, stopTokenIds, ignoreEos, logprobs, topLogprobs);
    }

    public SamplingParams withFrequencyPenalty(double v) {
        return v == frequencyPenalty ? this : new SamplingParams(temperature, topK, topP, minP, repetitionPenalty,
                presencePenalty, v, seed, maxTokens, stop, stopTokenIds, ignoreEos, logprobs, topLogprobs);
    }

    public SamplingParams withSeed(long v) {
        return seed.isPresent() && seed.getAsLong() == v ? this : new SamplingParams(temperature, topK, topP, minP,
                repetitionPenalty, presencePenalty, frequencyPenalty, OptionalLong.of(v), maxTokens, stop,
                stopTokenIds, ignoreEos, logprobs, topLogprobs);
    }

    public SamplingParams withMaxTokens(int v) {
        return v == maxTokens ? this : new SamplingParams(temperature, topK, topP, minP, repetitionPenalty,
                presencePenalty, frequencyPenalty, seed, v, stop, stopTokenIds, ignoreEos, logprobs, topLogprobs);
    }

    public SamplingParams withStop(List<String> v) {
        return v.equals(stop) ? this : new SamplingParams(temperature, topK, topP, minP, repetitionPenalty,
                presencePenalty, frequencyPenalty, seed, maxTokens, v, stopTokenIds, ignoreEos, logprobs, topLogprobs);
    }

    public SamplingParams withStopTokenIds(Set<Integer> v) {
        return v.equals(stopTokenIds) ? this : new SamplingParams(temperature, topK, topP, minP, repetitionPenalty,
                presencePenalty, frequencyPenalty, seed, maxTokens, stop, v, ignoreEos, logprobs, topLogprobs);
    }

    public SamplingParams withIgnoreEos(boolean v) {
        return v == ignoreEos ? this : new SamplingParams(temperature, topK, topP, minP, repetitionPenalty,
                presencePenalty, frequencyPenalty, seed, maxTokens, stop, stopTokenIds, v, logprobs, topLogprobs);
    }

    /** Turns on logprobs with {@code top} alternatives (0 for the chosen token only). */
    public SamplingParams withLogprobs(int top) {
        return logprobs && top == topLogprobs ? this : new SamplingParams(temperature, topK, topP, minP,
                repetitionPenalty, presencePenalty, frequencyPenalty, seed, maxTokens, stop, stopTokenIds, ignoreEos,
                true, top);
    }

    private static void require(boolean ok, String name, String allowed, Object got) {
        if (!ok) {
            throw new IllegalArgumentException(name + " must be " + allowed + ", got " + got);
        }
    }
}
