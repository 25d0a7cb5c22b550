package dev.tokc.frontend.safetensors;

/**
 * Exact conversions between the narrow floating-point formats of safetensors files and {@code float}.
 *
 * <p>Every f16, bf16, fp8 e4m3fn and fp8 e5m2 value is exactly representable as a float, so the widening
 * conversions here are exact (subnormals, signed zeros, infinities and NaNs included). The narrowing conversions
 * round to nearest, ties to even, as PyTorch's {@code .to(dtype)} does; they exist so that tests and
 * {@code tokc synth} can write checkpoints in those formats.
 */
public final class FloatFormats {
    private FloatFormats() {}

    /** IEEE 754 binary16 to float (the JDK's conversion, which is exact). */
    public static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** float to IEEE 754 binary16, round to nearest even; overflow gives infinity. */
    public static short floatToF16(float value) {
        return Float.floatToFloat16(value);
    }

    /** bfloat16 to float: bf16 is the upper half of a float, so widening is a shift. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** float to bfloat16, round to nearest even; NaNs stay (quiet) NaNs instead of rounding into infinity. */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        // Adding 0x7FFF plus the lowest kept bit rounds the dropped half to nearest, ties to even.
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    /**
     * FP8 e4m3fn to float. Layout {@code s eeee mmm}, exponent bias 7. Exponent 0 encodes subnormals
     * {@code m/8 * 2^-6}; {@code s 1111 111} is NaN and there is no infinity, so {@code s 1111 110} = ±448 is the
     * largest magnitude.
     */
    public static float e4m3fnToFloat(byte bits) {
        int b = bits & 0xFF;
        float sign = (b & 0x80) != 0 ? -1f : 1f;
        int exponent = (b >>> 3) & 0xF;
        int mantissa = b & 0x7;
        if (exponent == 0xF && mantissa == 0x7) {
            return Float.NaN;
        }
        if (exponent == 0) {
            // Scalb by a power of two is exact for these small integers.
            return sign * Math.scalb((float) mantissa, -9);
        }
        return sign * Math.scalb((float) (8 + mantissa), exponent - 7 - 3);
    }

    /**
     * FP8 e5m2 to float. e5m2 has the same sign and exponent fields as binary16 with the mantissa cut to 2 bits,
     * so it is exactly the upper byte of an f16 (subnormals, infinities and NaNs map through unchanged).
     */
    public static float e5m2ToFloat(byte bits) {
        return Float.float16ToFloat((short) ((bits & 0xFF) << 8));
    }

    /**
     * float to FP8 e4m3fn, round to nearest even, saturating: finite values beyond ±448 and infinities become ±448
     * (the convention of the common FP8 checkpoints, which have no infinity to map to); NaN becomes NaN.
     */
    public static byte floatToE4m3fn(float value) {
        if (Float.isNaN(value)) {
            return (byte) 0x7F;
        }
        int sign = Float.floatToRawIntBits(value) < 0 ? 0x80 : 0;
        float a = Math.abs(value);
        if (a >= 448f) {
            return (byte) (sign | 0x7E);
        }
        return (byte) (sign | roundToMiniFloat(a, 3, 7));
    }

    /** float to FP8 e5m2, round to nearest even; overflow gives infinity as in IEEE formats. */
    public static byte floatToE5m2(float value) {
        if (Float.isNaN(value)) {
            return (byte) (Float.floatToRawIntBits(value) < 0 ? 0xFF : 0x7F);
        }
        int sign = Float.floatToRawIntBits(value) < 0 ? 0x80 : 0;
        float a = Math.abs(value);
        // Values at or above the midpoint between the largest finite (57344) and the next step (65536) overflow.
        if (a >= 61440f) {
            return (byte) (sign | 0x7C);
        }
        return (byte) (sign | roundToMiniFloat(a, 2, 15));
    }

    /**
     * The unsigned code (exponent and mantissa fields) nearest to the finite, non-negative {@code a} in a format
     * with {@code mantissaBits} and exponent {@code bias}; the caller has handled overflow. Works on the exact
     * scaled integer so that rounding happens once.
     */
    private static int roundToMiniFloat(float a, int mantissaBits, int bias) {
        if (a == 0f) {
            return 0;
        }
        int minNormalExponent = 1 - bias;
        int exponent = Math.max(Math.getExponent(a), minNormalExponent);
        // a / 2^(exponent - mantissaBits) is exact in double; round it to an integer, ties to even.
        double scaled = Math.scalb((double) a, mantissaBits - exponent);
        long q = (long) Math.rint(scaled);
        if (q == 0) {
            return 0;
        }
        if (q >= (2L << mantissaBits)) {
            // Rounding carried into the next binade.
            q >>= 1;
            exponent++;
        }
        if (q < (1L << mantissaBits)) {
            return (int) q; // subnormal: biased exponent field 0
        }
        int field = exponent + bias;
        return (field << mantissaBits) | (int) (q - (1L << mantissaBits));
    }
}
