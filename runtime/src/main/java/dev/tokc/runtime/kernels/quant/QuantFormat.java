package dev.tokc.runtime.kernels.quant;

/**
 * Block geometry of the packed quantized weight formats the runtime reads: bits per weight, metadata bytes per group,
 * and whether the format is group-wise or per output channel. It re-states the compiler's {@code dev.tokc.ir.QuantFormat}
 * (the runtime must not depend on the compiler); a test in {@code tests/} checks that both read the same bytes.
 * A {@link QuantType} pairs a format with a group size. The byte layout of each format is in {@link Quantizer}.
 */
public enum QuantFormat {
    /** int8 weights, one f32 scale per output channel (the group is the whole row), symmetric. */
    INT8(8, 4, false),
    /** int4 weights group-wise, asymmetric: f16 scale + f16 zero point per group (GPTQ/AWQ layout). */
    INT4(4, 4, true),
    /** NF4: the 16 normal-float levels, one f16 absmax scale per group. */
    NF4(4, 2, true),
    /** FP8 E4M3 weights, one f32 scale per output channel. */
    FP8(8, 4, false),
    /**
     * W4A8: int4's numbers (group-wise, asymmetric, integer zero points) in a layout for an integer product whose
     * activations are quantized to int8 per block of 32: rows interleaved in blocks of {@value W4A8#ROWS}, per group
     * an f16 scale and an i8 zero point per row ({@link W4A8}).
     */
    W4A8(4, 3, true);

    private final int weightBits;
    private final int metaBytesPerGroup;
    private final boolean groupWise;

    QuantFormat(int weightBits, int metaBytesPerGroup, boolean groupWise) {
        this.weightBits = weightBits;
        this.metaBytesPerGroup = metaBytesPerGroup;
        this.groupWise = groupWise;
    }

    /** Bits of one packed weight (metadata not counted). */
    public int weightBits() {
        return weightBits;
    }

    /** Metadata bytes in front of every group (of every row for the per-channel formats). */
    public int metaBytesPerGroup() {
        return metaBytesPerGroup;
    }

    /** True when the format takes a group size; false for per-output-channel formats. */
    public boolean groupWise() {
        return groupWise;
    }
}
