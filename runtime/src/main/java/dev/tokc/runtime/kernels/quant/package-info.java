/**
 * Matrix products over packed quantized weights (issue 7): int8 and FP8 E4M3 per output channel, int4 group-wise
 * asymmetric and NF4 group-wise, with f32 activations; W4A8 (int4 weights, int8 activation blocks, an integer
 * product: {@link dev.tokc.runtime.kernels.quant.W4A8}); and the quantized KV cache.
 *
 * <ul>
 *   <li>{@link dev.tokc.runtime.kernels.quant.QuantFormat} / {@link dev.tokc.runtime.kernels.quant.QuantType}: the
 *       block geometry (bits per weight, metadata bytes per group, group size), as in the compiler's IR types.</li>
 *   <li>{@link dev.tokc.runtime.kernels.quant.Quantizer}: the packed byte layout, the quantizer (f32 to packed bytes,
 *       the compiler's rounding rules) and the scalar dequantizer.</li>
 *   <li>{@link dev.tokc.runtime.kernels.quant.QuantizedMatrix}: a zero-copy view of a packed {@code [out, in]}
 *       matrix in a (typically memory-mapped) segment.</li>
 *   <li>{@link dev.tokc.runtime.kernels.quant.QuantKernels}: the one interface;
 *       {@link dev.tokc.runtime.kernels.quant.ReferenceQuantKernels} (dequantize, then dot in float64) and
 *       {@link dev.tokc.runtime.kernels.quant.VectorQuantKernels} (Vector API, rows split over a
 *       {@link dev.tokc.runtime.kernels.WorkerPool}: dequantization fused into the inner loop for decode, weight rows
 *       read in pairs from each thread's two range halves; prefill dequantizes 4-row blocks for the dense tiles).</li>
 *   <li>Quantized KV cache (issue 7, {@code --kv-dtype}): {@link dev.tokc.runtime.kernels.quant.KvQuantFormat} (fp8,
 *       int8, int4 with one scale per token and KV head), {@link dev.tokc.runtime.kernels.quant.QuantKvCache} (one
 *       layer's paged segments), {@link dev.tokc.runtime.kernels.quant.QuantKv} (quantize on write, scalar
 *       dequantize) and the decode attention of {@code QuantKernels.pagedAttention}: the reference dequantizes and
 *       computes in float64, {@code VectorQuantKv} dequantizes each cached vector once per KV head group.</li>
 * </ul>
 *
 * The runtime does not depend on the compiler, so the layout is re-stated here; {@code QuantLayoutCrossCheckTest}
 * in {@code tests/} checks both sides against each other byte for byte. Benchmarks: {@code QuantGemvBench} and
 * {@code QuantGemvCheck} under {@code runtime/src/jmh/java}, with the A/B harnesses {@code Int8Lab} (loop shapes)
 * and {@code W4A8Lab} (int4 against W4A8 on the same weights); figures in {@code docs/benchmarks.md}.
 */
package dev.tokc.runtime.kernels.quant;
