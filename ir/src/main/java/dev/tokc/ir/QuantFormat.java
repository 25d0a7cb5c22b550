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
    FP8("fp8", 8, 4, false);

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
