package dev.tokc.runtime.sampling;

import java.util.List;

/**
 * Log-probabilities of one step under the final distribution (after penalties, temperature and filtering;
 * tokens filtered out have {@code -Infinity}).
 *
 * @param chosen the sampled token's log-probability
 * @param top    the most likely tokens, most likely first (ties by lower id), at most
 *               {@link SamplingParams#topLogprobs()} of them and only tokens the filters kept
 */
public record Logprobs(double chosen, List<TokenLogprob> top) {
    public Logprobs {
        top = List.copyOf(top);
    }
}
