package dev.tokc.frontend.onnx;

/**
 * Decodes the 8- and 4-bit float formats ONNX defines (FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2,
 * FLOAT8E5M2FNUZ, FLOAT8E8M0, FLOAT4E2M1) from their bit patterns to doubles, exactly. Each format is a sign
 * bit, an exponent and a mantissa with a bias; they differ only in which patterns mean NaN or infinity, which
 * is spelled out per format below (after the ONNX "Float stored in 8 bits" and "4 bit floats" notes).
 */
final class MiniFloats {
    private MiniFloats() {}

    static double decode(OnnxDataType dtype, byte pattern) {
        int bits = pattern & 0xFF;
        return switch (dtype) {
            // No infinities; S.1111.111 is NaN, so the largest magnitude is 448.
            case FLOAT8E4M3FN -> (bits & 0x7F) == 0x7F ? Double.NaN : ieeeLike(bits, 4, 3, 7);
            // "UZ": no negative zero, its pattern 0x80 is the only NaN; no infinities.
            case FLOAT8E4M3FNUZ -> bits == 0x80 ? Double.NaN : ieeeLike(bits, 4, 3, 8);
            // IEEE-style: exponent all ones is infinity (mantissa 0) or NaN.
            case FLOAT8E5M2 -> {
                if ((bits & 0x7C) == 0x7C) {
                    if ((bits & 0x03) != 0) yield Double.NaN;
                    yield (bits & 0x80) != 0 ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
                }
                yield ieeeLike(bits, 5, 2, 15);
            }
            case FLOAT8E5M2FNUZ -> bits == 0x80 ? Double.NaN : ieeeLike(bits, 5, 2, 16);
            // Exponent only, unsigned, bias 127: the power-of-two scale of MX formats; all ones is NaN.
            case FLOAT8E8M0 -> bits == 0xFF ? Double.NaN : Math.scalb(1.0, bits - 127);
            // 1 sign, 2 exponent, 1 mantissa bit, bias 1, no special values: +-{0, 0.5, 1, 1.5, 2, 3, 4, 6}.
            case FLOAT4E2M1 -> ieeeLike(bits & 0x0F, 2, 1, 1);
            default -> throw new IllegalArgumentException(dtype + " is not a narrow float format");
        };
    }

    /** A finite value of a sign/exponent/mantissa pattern, with subnormals when the exponent field is 0. */
    private static double ieeeLike(int bits, int exponentBits, int mantissaBits, int bias) {
        boolean negative = ((bits >> (exponentBits + mantissaBits)) & 1) != 0;
        int exponent = (bits >> mantissaBits) & ((1 << exponentBits) - 1);
        int mantissa = bits & ((1 << mantissaBits) - 1);
        double magnitude = exponent == 0
                ? Math.scalb((double) mantissa, 1 - bias - mantissaBits)
                : Math.scalb((double) ((1 << mantissaBits) | mantissa), exponent - bias - mantissaBits);
        return negative ? -magnitude : magnitude;
    }
}
