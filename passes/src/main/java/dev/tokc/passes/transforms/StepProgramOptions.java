package dev.tokc.passes.transforms;

import dev.tokc.ir.DType;
import java.util.Objects;
import java.util.Optional;

/**
 * Options of {@link LowerToPagedAttention}, fixed when the pass is made (never read from the environment).
 *
 * @param blockSize tokens per KV block of the cache the step program reads ({@code KvCacheSpec.blockSize})
 * @param kvDtype   element type of the cache; empty means the activation dtype of the attention operands
 * @param strict    throw an {@link dev.tokc.ir.IrException} naming the reason when the graph cannot become a step
 *                  program, instead of leaving it unchanged (what {@code tokc compile} wants: a graph that is not
 *                  a step program cannot be served)
 */
public record StepProgramOptions(int blockSize, Optional<DType> kvDtype, boolean strict) {
    /** Block size 16, cache in the activation dtype, lenient (what {@code --passes=lower-to-paged-attention} runs). */
    public static final StepProgramOptions DEFAULT = new StepProgramOptions(16, Optional.empty(), false);

    public StepProgramOptions {
        Objects.requireNonNull(kvDtype, "kvDtype");
        if (blockSize <= 0) {
            throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        }
        if (kvDtype.isPresent() && !kvDtype.get().isFloat() && !dev.tokc.ir.interp.QuantizedKv.isQuantized(kvDtype.get())) {
            throw new IllegalArgumentException("kv cache dtype must be a float type or i8/i4 (quantized), got " + kvDtype.get());
        }
    }

    public StepProgramOptions withBlockSize(int size) {
        return new StepProgramOptions(size, kvDtype, strict);
    }

    public StepProgramOptions withKvDtype(DType dtype) {
        return new StepProgramOptions(blockSize, Optional.of(dtype), strict);
    }

    public StepProgramOptions withStrict(boolean on) {
        return new StepProgramOptions(blockSize, kvDtype, on);
    }
}
