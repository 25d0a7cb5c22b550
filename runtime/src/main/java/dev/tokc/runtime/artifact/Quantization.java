package dev.tokc.runtime.artifact;

/**
 * How the weights in {@code weights.bin} were quantized by the compiler.
 *
 * @param method    {@code none}, or the scheme's name as the passes write it (e.g. {@code int8}, {@code int4},
 *                  {@code nf4}, {@code fp8e4m3}, {@code w8a8}); the per-tensor dtype in the tensor table says how
 *                  each tensor is stored, this says what the compiler was asked for
 * @param groupSize elements per scale group for group-wise schemes, 0 where the scheme has no groups
 */
public record Quantization(String method, int groupSize) {
    /** Unquantized weights (stored in the engine's dtype). */
    public static final Quantization NONE = new Quantization("none", 0);

    public Quantization {
        if (method == null || method.isBlank()) {
            throw new IllegalArgumentException("quantization method must be named ('none' when unquantized)");
        }
        if (groupSize < 0) {
            throw new IllegalArgumentException("quantization group_size must be >= 0, got " + groupSize);
        }
    }
}
