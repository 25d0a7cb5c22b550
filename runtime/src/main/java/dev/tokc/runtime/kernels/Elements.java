package dev.tokc.runtime.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Scalar element access and the scalar definitions of the 16-bit conversions. These are the semantics the vector
 * conversions in {@link VectorKernels} must reproduce bit for bit.
 */
public final class Elements {
    /** f32, little-endian, unaligned: weights files and slices give no alignment guarantee. */
    public static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** 16-bit raw values, little-endian, unaligned. */
    public static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Elements() {
    }

    /** bfloat16 -> f32 is exact: the 16 bits are the top half of the binary32. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /**
     * f32 -> bfloat16, round to nearest even. Adding {@code 0x7fff + lsb} carries into the upper half exactly when
     * the dropped half is above the midpoint, or at it with an odd upper half; overflow lands on infinity.
     * NaNs become the quiet NaN 0x7fc0 with the input's sign (rounding could otherwise turn a NaN into infinity).
     */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) & 0x8000 | 0x7fc0);
        }
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7fff + lsb) >>> 16);
    }

    /** Element {@code index} of a segment of {@code type}, widened to f32. */
    public static float read(MemorySegment segment, ElementType type, long index) {
        return switch (type) {
            case F32 -> segment.getAtIndex(F32, index);
            case BF16 -> bf16ToFloat(segment.getAtIndex(U16, index));
            case F16 -> Float.float16ToFloat(segment.getAtIndex(U16, index));
        };
    }

    /** Stores {@code value} as element {@code index} of a segment of {@code type}, rounding to nearest even. */
    public static void write(MemorySegment segment, ElementType type, long index, float value) {
        switch (type) {
            case F32 -> segment.setAtIndex(F32, index, value);
            case BF16 -> segment.setAtIndex(U16, index, floatToBf16(value));
            case F16 -> segment.setAtIndex(U16, index, Float.floatToFloat16(value));
        }
    }
}
