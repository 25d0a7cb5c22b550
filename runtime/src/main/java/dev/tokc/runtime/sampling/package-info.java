/**
 * Choosing tokens: {@link dev.tokc.runtime.sampling.SamplingParams} (what a request asked for),
 * {@link dev.tokc.runtime.sampling.Sampler} (one per sequence: penalties, seeded draw, logprobs) and
 * {@link dev.tokc.runtime.sampling.StopChecker} (stop strings, stop/EOS tokens, max tokens, and what text may be
 * streamed). The selection function has a fast implementation and a sorting reference that tests compare.
 */
package dev.tokc.runtime.sampling;
