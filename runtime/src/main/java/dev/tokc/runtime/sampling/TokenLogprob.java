package dev.tokc.runtime.sampling;

/** A token id with its natural-log probability under the final sampling distribution. */
public record TokenLogprob(int token, double logprob) {}
