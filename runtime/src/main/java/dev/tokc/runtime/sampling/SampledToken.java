package dev.tokc.runtime.sampling;

import java.util.Optional;

/** The token a step chose, with its logprobs when {@link SamplingParams#logprobs()} asked for them. */
public record SampledToken(int token, Optional<Logprobs> logprobs) {}
