package dev.tokc.ir;

/**
 * The IR's narrow float formats: their bit encodings, and the rounding of doubles to them as IEEE 754, the OCP
 * 8-bit/MX specs and ONNX's Cast define it (round to nearest even unless said otherwise).
 * <ul>
 *   <li>fp8 e4m3 ("fn"): bias 7, max 448, no infinities, NaN = S.1111.111. Overflow is NaN, or 448 saturating.</li>
 *   <li>fp8 e5m2: bias 15, max 57344, IEEE infinities and NaNs. Overflow is inf, or 57344 saturating.</li>
 *   <li>fp8 e4m3fnuz and e5m2fnuz: biases 8 and 16, max 240 and 57344, no infinities and no negative zero (a
 *       negative value that rounds to zero is +0); the only NaN is 0x80. Overflow and infinities are NaN, or the
 *       max with the value's sign saturating.</li>
 *   <li>fp8 e8m0: an unsigned biased exponent only (bias 127): code c is 2^(c-127), 0x00 = 2^-127 to 0xFE = 2^127,
 *       0xFF = NaN; no zero and no sign. Values round to a power of two by {@link E8M0Rounding}. Values out of
 *       range after rounding, zero and (unspecified by ONNX) negative values are NaN, or saturating the nearer end
 *       of the range: 2^127 above it and for +inf, 2^-127 below it (zero and negatives included).</li>
 *   <li>fp4 e2m1: bias 1, +-{0, 0.5, 1, 1.5, 2, 3, 4, 6}, no infinities or NaN. Conversion always saturates to +-6
 *       (infinities included); NaN becomes -0 (code 0x8), as in ONNX's reference results
 *       ({@code test_cast_FLOAT16_to_FLOAT4E2M1}), although ONNX's float4 notes say 6.</li>
 * </ul>
 * Encoders return the code in the low bits of an int (sign in the top bit of the format); decoders take it.
 */
public final class FloatFormats {
    private FloatFormats() {}

    public static final double E4M3_MAX = 448.0;
    public static final double E5M2_MAX = 57344.0;
    public static final double E4M3FNUZ_MAX = 240.0;
    public static final double E5M2FNUZ_MAX = 57344.0;
    public static final double E2M1_MAX = 6.0;
    /** The smallest fp8 e8m0 value (code 0x00). */
    public static final double E8M0_MIN = 0x1p-127;
    /** The largest fp8 e8m0 value (code 0xFE). */
    public static final double E8M0_MAX = 0x1p127;

    /** How a conversion to fp8 e8m0 picks the power of two for a value between two (ONNX Cast's round_mode). */
    public enum E8M0Rounding {
        /** The larger one, unless the value is a power of two (ONNX's default). */
        UP,
        /** The smaller one. */
        DOWN,
        /** The nearer one; the midpoint 1.5 * 2^e goes to the larger. */
        NEAREST
    }

    /**
     * Rounds {@code v} to the nearest value of {@code dtype}, non-saturating: what {@link Tensor#ofDoubles} stores.
     * fp8 e8m0 rounds {@link E8M0Rounding#NEAREST}.
     */
    public static double round(DType dtype, double v) {
        return switch (dtype) {
            case F64 -> v;
            case F32 -> (float) v;
            case F16 -> Float.float16ToFloat(toF16Bits(v));
            case BF16 -> bf16ToFloat(toBf16Bits(v));
            case FP8E4M3 -> decodeE4M3(encodeE4M3(v, false));
            case FP8E5M2 -> decodeE5M2(encodeE5M2(v, false));
            case FP8E4M3FNUZ -> decodeE4M3Fnuz(encodeE4M3Fnuz(v, false));
            case FP8E5M2FNUZ -> decodeE5M2Fnuz(encodeE5M2Fnuz(v, false));
            case FP8E8M0 -> decodeE8M0(encodeE8M0(v, false, E8M0Rounding.NEAREST));
            case FP4E2M1 -> decodeE2M1(encodeE2M1(v));
            default -> throw new IllegalArgumentException("not a float dtype: " + dtype);
        };
    }

    /**
     * ONNX Cast of {@code v} to the float dtype {@code to}: {@link #round}, except that {@code saturate} clamps
     * out-of-range values and infinities for the fp8 formats (see the class comment) and e8m0 rounds by
     * {@code e8m0Rounding}. {@code saturate} and {@code e8m0Rounding} do not concern the other formats.
     */
    public static double cast(DType to, double v, boolean saturate, E8M0Rounding e8m0Rounding) {
        return switch (to) {
            case FP8E4M3 -> decodeE4M3(encodeE4M3(v, saturate));
            case FP8E5M2 -> decodeE5M2(encodeE5M2(v, saturate));
            case FP8E4M3FNUZ -> decodeE4M3Fnuz(encodeE4M3Fnuz(v, saturate));
            case FP8E5M2FNUZ -> decodeE5M2Fnuz(encodeE5M2Fnuz(v, saturate));
            case FP8E8M0 -> decodeE8M0(encodeE8M0(v, saturate, e8m0Rounding));
            default -> round(to, v);
        };
    }

    /** f16 bits of the nearest f16 to v (rounds once from double, avoiding double rounding through float). */
    public static short toF16Bits(double v) {
        return (short) encodeMiniFloat(v, 5, 10, 15, true);
    }

    public static short toBf16Bits(double v) {
        float f = (float) v;
        if (Float.isNaN(f)) {
            return (short) 0x7FC0;
        }
        // bf16 is the top half of an f32; round to nearest even on the dropped 16 bits. Going through float first
        // can double-round, so round from the double directly when the float is not exact.
        return (short) encodeMiniFloat(v, 8, 7, 127, true);
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    public static int encodeE4M3(double v, boolean saturate) {
        if (Double.isNaN(v)) {
            return 0x7F;
        }
        double a = Math.abs(v);
        int sign = (Double.doubleToRawLongBits(v) < 0) ? 0x80 : 0;
        if (Double.isInfinite(v) || a > E4M3_MAX) {
            // Values that round to <= 448 are kept: up to the midpoint 464 with it, which rounds to even, and 448
            // (S.1111.110) is the even neighbour of the NaN pattern S.1111.111. Beyond, they overflow.
            if (!Double.isInfinite(v) && a <= 464.0) {
                return sign | 0x7E;
            }
            return saturate ? sign | 0x7E : sign | 0x7F;
        }
        return sign | encodeMiniFloat(a, 4, 3, 7, false);
    }

    public static double decodeE4M3(int bits) {
        int sign = bits & 0x80;
        int e = (bits >> 3) & 0xF;
        int m = bits & 0x7;
        if (e == 0xF && m == 0x7) {
            return Double.NaN;
        }
        double mag = e == 0 ? m * Math.pow(2, -9) : (1 + m / 8.0) * Math.pow(2, e - 7);
        return sign != 0 ? -mag : mag;
    }

    public static int encodeE5M2(double v, boolean saturate) {
        if (Double.isNaN(v)) {
            return 0x7F;
        }
        int sign = (Double.doubleToRawLongBits(v) < 0) ? 0x80 : 0;
        double a = Math.abs(v);
        if (Double.isInfinite(v)) {
            return saturate ? sign | 0x7B : sign | 0x7C;
        }
        int bits = encodeMiniFloat(a, 5, 2, 15, true);
        if ((bits & 0x7F) == 0x7C && saturate) {
            return sign | 0x7B;
        }
        return sign | bits;
    }

    public static double decodeE5M2(int bits) {
        int sign = bits & 0x80;
        int e = (bits >> 2) & 0x1F;
        int m = bits & 0x3;
        double mag;
        if (e == 0x1F) {
            mag = m == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else {
            mag = e == 0 ? m * Math.pow(2, -16) : (1 + m / 4.0) * Math.pow(2, e - 15);
        }
        return sign != 0 ? -mag : mag;
    }

    /**
     * fp8 e4m3fnuz code of v: round to nearest even; NaN, and without {@code saturate} infinities and magnitudes
     * from 248 up (which round past 240), give the NaN 0x80; with it they clamp to +-240. No negative zero.
     */
    public static int encodeE4M3Fnuz(double v, boolean saturate) {
        return encodeFnuz(v, saturate, 4, 3, 8, E4M3FNUZ_MAX + 8); // half a step (16) above the max
    }

    public static double decodeE4M3Fnuz(int bits) {
        return bits == 0x80 ? Double.NaN : decodeFinite(bits, 4, 3, 8);
    }

    /**
     * fp8 e5m2fnuz code of v: round to nearest even; NaN, and without {@code saturate} infinities and magnitudes
     * from 61440 up (which round past 57344), give the NaN 0x80; with it they clamp to +-57344. No negative zero.
     */
    public static int encodeE5M2Fnuz(double v, boolean saturate) {
        return encodeFnuz(v, saturate, 5, 2, 16, E5M2FNUZ_MAX + 4096); // half a step (8192) above the max
    }

    public static double decodeE5M2Fnuz(int bits) {
        return bits == 0x80 ? Double.NaN : decodeFinite(bits, 5, 2, 16);
    }

    /** An fnuz code: magnitudes from {@code overflow} on (the midpoint above the max, a tie that rounds up) overflow. */
    private static int encodeFnuz(double v, boolean saturate, int eb, int mb, int bias, double overflow) {
        if (Double.isNaN(v)) {
            return 0x80;
        }
        if (Math.abs(v) >= overflow) { // infinities included
            return saturate ? (v < 0 ? 0xFF : 0x7F) : 0x80;
        }
        int bits = encodeMiniFloat(Math.abs(v), eb, mb, bias, false);
        return v < 0 && bits != 0 ? 0x80 | bits : bits; // 0x80 is NaN, so anything rounding to zero is +0
    }

    /**
     * fp8 e8m0 code of v (see the class comment): the power of two {@code rounding} picks, NaN 0xFF; out of range
     * (after rounding), zero, negative values and infinities are NaN, or with {@code saturate} 0xFE above the range
     * (+inf included) and 0x00 below it.
     */
    public static int encodeE8M0(double v, boolean saturate, E8M0Rounding rounding) {
        if (Double.isNaN(v)) {
            return 0xFF;
        }
        if (!(v >= Double.MIN_NORMAL)) { // zero, negative or a subnormal double: below 2^-127 whatever the rounding
            return saturate ? 0x00 : 0xFF;
        }
        if (v == Double.POSITIVE_INFINITY) {
            return saturate ? 0xFE : 0xFF;
        }
        int e = Math.getExponent(v);
        double m = v / Math.scalb(1.0, e); // exact, in [1, 2)
        boolean up = switch (rounding) {
            case UP -> m > 1;
            case DOWN -> false;
            case NEAREST -> m >= 1.5;
        };
        if (up) {
            e++;
        }
        if (e < -127) {
            return saturate ? 0x00 : 0xFF;
        }
        if (e > 127) {
            return saturate ? 0xFE : 0xFF;
        }
        return e + 127;
    }

    public static double decodeE8M0(int bits) {
        return bits == 0xFF ? Double.NaN : Math.scalb(1.0, bits - 127);
    }

    /**
     * fp4 e2m1 code of v (sign in bit 3): round to nearest even, magnitudes above 6 (infinities included) clamp to
     * 6, NaN gives 0x8 (-0); see the class comment.
     */
    public static int encodeE2M1(double v) {
        if (Double.isNaN(v)) {
            return 0x8;
        }
        int sign = Double.doubleToRawLongBits(v) < 0 ? 0x8 : 0;
        double a = Math.abs(v);
        return sign | (a > E2M1_MAX ? 0x7 : encodeMiniFloat(a, 2, 1, 1, false));
    }

    public static double decodeE2M1(int bits) {
        return decodeFinite(bits & 0xF, 2, 1, 1);
    }

    /** The finite value of sign|exponent|mantissa with {@code eb}/{@code mb} bits and {@code bias}, subnormals included. */
    private static double decodeFinite(int bits, int eb, int mb, int bias) {
        int e = (bits >> mb) & ((1 << eb) - 1);
        int m = bits & ((1 << mb) - 1);
        double mag = e == 0 ? Math.scalb((double) m, 1 - bias - mb) : Math.scalb((double) ((1 << mb) | m), e - bias - mb);
        return (bits >> (eb + mb) & 1) != 0 ? -mag : mag;
    }

    /**
     * Encodes v into a small float with {@code eb} exponent bits, {@code mb} mantissa bits and {@code bias}, round
     * to nearest even, subnormals included. With {@code ieeeSpecials}, the top exponent is reserved for inf/NaN
     * and overflow gives inf; without, overflow clamps to all ones and the caller handles the top of the range.
     * Returns sign|exp|mantissa.
     */
    static int encodeMiniFloat(double v, int eb, int mb, int bias, boolean ieeeSpecials) {
        int signBit = 1 << (eb + mb);
        int sign = (Double.doubleToRawLongBits(v) < 0) ? signBit : 0;
        int expMax = (1 << eb) - 1;
        if (Double.isNaN(v)) {
            return sign | (expMax << mb) | (1 << (mb - 1));
        }
        double a = Math.abs(v);
        if (Double.isInfinite(a)) {
            return sign | (expMax << mb);
        }
        if (a == 0) {
            return sign;
        }
        int e = Math.getExponent(a);
        int minNormalExp = 1 - bias;
        long q;
        int biased;
        if (e < minNormalExp) {
            // Subnormal: value = q * 2^(minNormalExp - mb)
            double scaled = a * Math.pow(2, mb - minNormalExp);
            q = Math.round(Math.rint(scaled));
            biased = 0;
            if (q >= (1L << mb)) { // rounded up into the smallest normal
                return sign | (1 << mb);
            }
            return sign | (int) q;
        }
        double scaled = a * Math.pow(2, mb - e); // in [2^mb, 2^(mb+1))
        q = (long) Math.rint(scaled);
        if (q == (1L << (mb + 1))) {
            q >>= 1;
            e += 1;
        }
        biased = e + bias;
        int topExp = ieeeSpecials ? expMax - 1 : expMax;
        if (biased > topExp) {
            return sign | (ieeeSpecials ? (expMax << mb) : ((expMax << mb) | ((1 << mb) - 1)));
        }
        return sign | (biased << mb) | (int) (q & ((1L << mb) - 1));
    }
}
