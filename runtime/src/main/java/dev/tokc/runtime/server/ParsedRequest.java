package dev.tokc.runtime.server;

import dev.tokc.runtime.sampling.SamplingParams;
import java.util.List;

/**
 * A validated {@code /v1/completions} or {@code /v1/chat/completions} request, tokenized.
 *
 * @param chat          whether it came to the chat endpoint (shapes the response)
 * @param prompts       one or more prompts (completions accept a list); each yields {@code n} choices
 * @param n             choices per prompt
 * @param params        sampling parameters of choice 0 (choice i uses {@code seed + i} when a seed is given)
 * @param stream        answer as server-sent events
 * @param includeUsage  streaming: a last chunk with the usage ({@code stream_options.include_usage})
 * @param echo          completions: the prompt text leads each choice's text
 * @param logprobs      whether each token's logprob is returned ({@code params} asks the sampler for them)
 */
record ParsedRequest(boolean chat, List<Prompt> prompts, int n, SamplingParams params, boolean stream,
                     boolean includeUsage, boolean echo, boolean logprobs) {

    /** One tokenized prompt with its text (for echo). */
    record Prompt(int[] ids, String text) {}

    int numChoices() {
        return prompts.size() * n;
    }

    /** The sampling parameters of choice {@code i} of a prompt: distinct seeds so n > 1 gives distinct samples. */
    SamplingParams paramsFor(int i) {
        return i == 0 || params.seed().isEmpty() ? params : params.withSeed(params.seed().getAsLong() + i);
    }
}
