package dev.tokc.runtime.kernels;

/**
 * The element types the CPU kernels read from memory: weights and KV-cache entries may be 16-bit, activations are
 * always f32. 16-bit values are stored as their raw IEEE/bfloat bit patterns, little-endian, two bytes each.
 */
public enum ElementType {
    /** IEEE 754 binary32. */
    F32(4),
    /** bfloat16: the upper half of a binary32 (8 exponent bits, 7 mantissa bits). */
    BF16(2),
    /** IEEE 754 binary16 (5 exponent bits, 10 mantissa bits), as {@link Float#float16ToFloat(short)} reads it. */
    F16(2);

    private final int byteSize;

    ElementType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }
}
