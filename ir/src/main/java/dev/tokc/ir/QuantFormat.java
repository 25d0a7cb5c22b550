package dev.tokc.ir;

/**
 * Block geometry of the packed quantized weight formats (after llama3.java's GGMLType): how many bits each weight
 * takes and how many bytes of metadata each group carries. A {@link QuantType} pairs a format with a group size.
 */
public enum QuantFormat {
    /** int8 weights, one f32 scale per output channel (group = the whole row), symmetric. */
    INT8("int8", 8, 4, false),
    /** int4 weights group-wise, asymmetric: f16 scale + f16 zero point per group (GPTQ/AWQ layout). */
    INT4("int4", 4, 4, true),
    /** NF4: 16 normal-float levels, one f16 absmax scale per group. */
    NF4("nf4", 4, 2, true),
    /** FP8 E4M3 weights, one f32 scale per output channel. */
    FP8("fp8", 8, 4, false),
    /**
     * W4A8: int4's weights (this layout, these numbers) in a product whose activations are quantized to int8 per
     * block of {@link #W4A8_BLOCK} along k first (the scheme of llama.cpp's Q4_0 x Q8_0): the format names the
     * product, as GGML's weight types name their dot product's activation type. Group sizes are multiples of the
     * block. See {@code interp.QuantizedBlocks.quantizeActivationBlocks} for the activation rounding; the JVM backend
     * stores these weights re-laid out for an integer kernel.
     */
    W4A8("w4a8", 4, 4, true);

    /** Activations per int8 quantization block of a {@link #W4A8} product. */
    public static final int W4A8_BLOCK = 32;

    private final String prefix;
    private final int weightBits;
    private final int metaBytesPerGroup;
    private final boolean groupWise;

    QuantFormat(String prefix, int weightBits, int metaBytesPerGroup, boolean groupWise) {
        this.prefix = prefix;
        this.weightBits = weightBits;
        this.metaBytesPerGroup = metaBytesPerGroup;
        this.groupWise = groupWise;
    }

    public String prefix() {
        return prefix;
    }

    public int weightBits() {
        return weightBits;
    }

    public int metaBytesPerGroup() {
        return metaBytesPerGroup;
    }

    /** True when the format takes a group size; false for per-output-channel formats. */
    public boolean groupWise() {
        return groupWise;
    }
}
