package dev.tokc.runtime.sched;

import dev.tokc.runtime.sampling.SamplingParams;
import java.util.function.IntFunction;

/**
 * One generation: a tokenized prompt and how to sample it.
 *
 * @param promptTokens the prompt's token ids, at least one
 * @param params       sampling parameters (max tokens, stop conditions, seed, ...)
 * @param tokenText    the request's incremental detokenizer: called once per generated token, in order, on the
 *                     loop thread, returning the text that token adds (for stop strings and streaming). Needed
 *                     when {@code params.stop()} is not empty.
 */
public record GenerationRequest(int[] promptTokens, SamplingParams params, IntFunction<String> tokenText) {

    public GenerationRequest {
        promptTokens = promptTokens.clone();
    }

    /** A request whose tokens carry no text (no stop strings allowed). */
    public static GenerationRequest of(int[] promptTokens, SamplingParams params) {
        return new GenerationRequest(promptTokens, params, null);
    }

    @Override
    public int[] promptTokens() {
        return promptTokens.clone();
    }
}
