/**
 * The engine artifact, the directory {@code tokc compile} writes and {@code tokc run} loads: a
 * {@link dev.tokc.runtime.artifact.Manifest manifest.json} with the model config, target, dtype, KV cache, rank
 * layout, pass counters, tokenizer files, a sha256 per file and the tensor table; {@code weights.bin} (one per
 * rank) with 64-byte-aligned tensors; and opaque program files. {@link dev.tokc.runtime.artifact.ArtifactWriter}
 * writes it atomically and streams tensors; {@link dev.tokc.runtime.artifact.Engine} verifies and memory-maps it.
 *
 * <p><b>How loading verifies, and why not a full hash on every start.</b> Hashing the weights costs ~1.2 s per
 * 2.2 GB, more than a third of the 3 s start-up budget. The choice: on every load, the manifest is parsed and
 * validated, every listed file must exist with exactly its recorded size, every small file (program, IR, sources,
 * tokenizer) is hashed, and every tensor must lie inside its file; a weights file is hashed when it is new or has
 * changed since it last matched. "Changed" is judged by {@code VerifiedWeights}: a record in the engine directory
 * ({@code .tokc-verified}) of device, inode, size, mtime and ctime at the last successful hash (the compiler records
 * the digest it computed while writing). Any write, copy, replacement or mtime reset changes one of those (users
 * cannot set ctime), so a corrupted or mismatched weights file still fails the load with the sha256 message; what
 * it cannot see is corruption beneath the file system (bit rot), which {@code tokc inspect ENGINE --verify}
 * ({@link dev.tokc.runtime.artifact.ArtifactReader.Options#full}) checks by hashing everything. Records are
 * written and trusted only when made at least 100 ms after the file's last change (timestamp granularity).
 */
package dev.tokc.runtime.artifact;
