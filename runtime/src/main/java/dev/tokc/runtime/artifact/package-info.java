/**
 * The engine artifact, the directory {@code tokc compile} writes and {@code tokc run} loads: a
 * {@link dev.tokc.runtime.artifact.Manifest manifest.json} with the model config, target, dtype, KV cache, rank
 * layout, pass counters, tokenizer files, a sha256 per file and the tensor table; {@code weights.bin} (one per
 * rank) with 64-byte-aligned tensors; and opaque program files. {@link dev.tokc.runtime.artifact.ArtifactWriter}
 * writes it atomically and streams tensors; {@link dev.tokc.runtime.artifact.Engine} verifies and memory-maps it.
 */
package dev.tokc.runtime.artifact;
