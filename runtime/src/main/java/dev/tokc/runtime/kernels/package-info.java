/**
 * The runtime's CPU compute layer.
 *
 * <ul>
 *   <li>{@link dev.tokc.runtime.kernels.Kernels}: the one kernel interface, each op's contract in its Javadoc.</li>
 *   <li>{@link dev.tokc.runtime.kernels.ReferenceKernels}: scalar, float64-accumulating, obviously correct.</li>
 *   <li>{@link dev.tokc.runtime.kernels.VectorKernels}: Vector API implementation on a
 *       {@link dev.tokc.runtime.kernels.WorkerPool} (N platform threads, spin-then-park fork/join).</li>
 *   <li>Operand records: {@link dev.tokc.runtime.kernels.WeightMatrix} (zero-copy view of an f32/bf16/f16
 *       {@code [out, in]} matrix), {@link dev.tokc.runtime.kernels.PagedKvCache} ({@code [blocks, block_size,
 *       kv_heads, head_dim]}), {@link dev.tokc.runtime.kernels.AttentionHeads} (GQA geometry).</li>
 *   <li>{@link dev.tokc.runtime.kernels.MemoryBandwidth}: the streaming-read probe behind
 *       {@code tokc bench --measure-bandwidth}.</li>
 * </ul>
 *
 * Differential tests compare the two implementations over a generated dtype x shape grid; JMH benchmarks live in
 * {@code runtime/src/jmh/java} (Maven profile {@code bench}); figures in {@code docs/benchmarks.md}.
 */
package dev.tokc.runtime.kernels;
