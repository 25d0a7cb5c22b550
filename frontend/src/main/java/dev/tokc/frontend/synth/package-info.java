/**
 * {@code tokc synth}: random-weight Hugging Face checkpoints with the shapes of real models
 * ({@link dev.tokc.frontend.synth.Preset}), written by {@link dev.tokc.frontend.synth.Synth} for benchmarks.
 */
package dev.tokc.frontend.synth;
