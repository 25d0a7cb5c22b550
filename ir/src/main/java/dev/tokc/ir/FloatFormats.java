package dev.tokc.ir;

/**
 * Rounding of doubles to the IR's narrower float formats, round-to-nearest-even as IEEE 754 and the OCP fp8 spec
 * define. fp8 e4m3 here is the "fn" variant (max 448, no infinities, NaN = 0x7F/0xFF); e5m2 has IEEE specials.
 * Overflowing values become NaN for e4m3 and infinity for e5m2 unless saturating, where they clamp to the max.
 */
public final class FloatFormats {
    private FloatFormats() {}

    public static final double E4M3_MAX = 448.0;
    public static final double E5M2_MAX = 57344.0;

    /** Rounds {@code v} to the nearest value of {@code dtype} (non-saturating fp8 conversion). */
    public static double round(DType dtype, double v) {
        return switch (dtype) {
            case F64 -> v;
            case F32 -> (float) v;
            case F16 -> Float.float16ToFloat(toF16Bits(v));
            case BF16 -> bf16ToFloat(toBf16Bits(v));
            case FP8E4M3 -> decodeE4M3(encodeE4M3(v, false));
            case FP8E5M2 -> decodeE5M2(encodeE5M2(v, false));
            default -> throw new IllegalArgumentException("not a float dtype: " + dtype);
        };
    }

    /** f16 bits of the nearest f16 to v (rounds once from double, avoiding double rounding through float). */
    public static short toF16Bits(double v) {
        return (short) encodeMiniFloat(v, 5, 10, true, false);
    }

    public static short toBf16Bits(double v) {
        float f = (float) v;
        if (Float.isNaN(f)) {
            return (short) 0x7FC0;
        }
        // bf16 is the top half of an f32; round to nearest even on the dropped 16 bits. Going through float first
        // can double-round, so round from the double directly when the float is not exact.
        return (short) encodeMiniFloat(v, 8, 7, true, false);
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
        return sign | encodeMiniFloat(a, 4, 3, false, false);
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
        int bits = encodeMiniFloat(a, 5, 2, true, false);
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
     * Encodes v into a small float with {@code eb} exponent bits and {@code mb} mantissa bits (bias 2^(eb-1)-1),
     * round to nearest even, subnormals included. With {@code ieeeSpecials}, the top exponent is reserved for
     * inf/NaN and overflow gives inf; without, the caller handles the top of the range. Returns sign|exp|mantissa.
     */
    static int encodeMiniFloat(double v, int eb, int mb, boolean ieeeSpecials, boolean unused) {
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
        int bias = (1 << (eb - 1)) - 1;
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
