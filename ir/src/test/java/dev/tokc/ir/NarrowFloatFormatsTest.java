package dev.tokc.ir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.FloatFormats.E8M0Rounding;
import java.util.function.DoubleToIntFunction;
import java.util.function.IntToDoubleFunction;
import org.junit.jupiter.api.Test;

/**
 * Every code of the fnuz fp8 formats, fp8 e8m0 and fp4 e2m1 against values computed here from the formats'
 * definitions; every code round-trips through the encoder, every midpoint between neighbours rounds to the even
 * code (e8m0: as the rounding mode says), and the range edges saturate or overflow as ONNX's Cast specifies.
 */
class NarrowFloatFormatsTest {

    // ---- fp8 e4m3fnuz / e5m2fnuz ----

    @Test
    void e4m3fnuzEveryCodeMidpointAndEdge() {
        checkFnuz(4, 3, 8, 240.0, v -> FloatFormats.encodeE4M3Fnuz(v, false), v -> FloatFormats.encodeE4M3Fnuz(v, true),
                FloatFormats::decodeE4M3Fnuz);
        assertEquals(0x1p-10, FloatFormats.decodeE4M3Fnuz(0x01), "smallest subnormal");
        assertEquals(0x1p-7, FloatFormats.decodeE4M3Fnuz(0x08), "smallest normal");
        assertEquals(1.0, FloatFormats.decodeE4M3Fnuz(0x40));
    }

    @Test
    void e5m2fnuzEveryCodeMidpointAndEdge() {
        checkFnuz(5, 2, 16, 57344.0, v -> FloatFormats.encodeE5M2Fnuz(v, false), v -> FloatFormats.encodeE5M2Fnuz(v, true),
                FloatFormats::decodeE5M2Fnuz);
        assertEquals(0x1p-17, FloatFormats.decodeE5M2Fnuz(0x01), "smallest subnormal");
        assertEquals(0x1p-15, FloatFormats.decodeE5M2Fnuz(0x04), "smallest normal");
        assertEquals(1.0, FloatFormats.decodeE5M2Fnuz(0x40));
    }

    @Test
    void fnuzThroughRoundAndCast() {
        assertSame(Double.NaN, FloatFormats.round(DType.FP8E4M3FNUZ, 250));
        assertEquals(240.0, FloatFormats.round(DType.FP8E4M3FNUZ, 247.9));
        assertEquals(240.0, FloatFormats.cast(DType.FP8E4M3FNUZ, 1e9, true, E8M0Rounding.UP));
        assertEquals(-57344.0, FloatFormats.cast(DType.FP8E5M2FNUZ, Double.NEGATIVE_INFINITY, true, E8M0Rounding.UP));
        assertSame(Double.NaN, FloatFormats.cast(DType.FP8E5M2FNUZ, Double.NEGATIVE_INFINITY, false, E8M0Rounding.UP));
        assertSame(0.0, FloatFormats.round(DType.FP8E5M2FNUZ, -0.0));
    }

    /** The value of an fnuz code from the definition: 0x80 is NaN, otherwise sign, biased exponent, mantissa. */
    private static double fnuzValue(int code, int eb, int mb, int bias) {
        if (code == 0x80) {
            return Double.NaN;
        }
        int e = (code >> mb) & ((1 << eb) - 1);
        int m = code & ((1 << mb) - 1);
        double mag = e == 0 ? m * Math.pow(2, 1 - bias - mb) : (1 + m / Math.pow(2, mb)) * Math.pow(2, e - bias);
        return (code & 0x80) != 0 ? -mag : mag;
    }

    private static void checkFnuz(int eb, int mb, int bias, double max, DoubleToIntFunction plain,
            DoubleToIntFunction saturating, IntToDoubleFunction decode) {
        double[] positive = new double[128];
        for (int code = 0; code < 256; code++) {
            double v = fnuzValue(code, eb, mb, bias);
            assertSame(v, decode.applyAsDouble(code), "decode of " + code);
            if (code != 0x80) {
                assertEquals(code, plain.applyAsInt(v), "round trip of " + v);
                assertEquals(code, saturating.applyAsInt(v), "saturating round trip of " + v);
            }
            if (code < 128) {
                positive[code] = v;
            }
        }
        assertEquals(max, positive[127], "the largest value is 0x7F");
        for (int code = 0; code < 127; code++) {
            assertTrue(positive[code] < positive[code + 1], "codes increase");
            double mid = (positive[code] + positive[code + 1]) / 2;
            int even = (code & 1) == 0 ? code : code + 1;
            assertEquals(even, plain.applyAsInt(mid), "midpoint " + mid + " rounds to even");
            assertEquals(code, plain.applyAsInt(Math.nextDown(mid)), "below midpoint " + mid);
            assertEquals(code + 1, plain.applyAsInt(Math.nextUp(mid)), "above midpoint " + mid);
            // No negative zero: a negative value that rounds to zero is +0.
            assertEquals(even == 0 ? 0 : 0x80 | even, plain.applyAsInt(-mid), "negative midpoint " + -mid);
        }
        assertEquals(0x00, plain.applyAsInt(-0.0), "-0 becomes +0");
        assertEquals(0x00, plain.applyAsInt(-positive[1] / 4), "a tiny negative rounds to +0");
        // Above the max (S.1111.111, odd) the tie half a step up rounds away to the next binade: out of range.
        double edge = max + (max - positive[126]) / 2;
        assertEquals(0x7F, plain.applyAsInt(Math.nextDown(edge)), "below " + edge);
        assertEquals(0x80, plain.applyAsInt(edge), "the tie at " + edge + " overflows to NaN");
        assertEquals(0x80, plain.applyAsInt(-edge), "the negative tie overflows to NaN");
        assertEquals(0x80, plain.applyAsInt(Double.POSITIVE_INFINITY), "no infinities");
        assertEquals(0x80, plain.applyAsInt(Double.NEGATIVE_INFINITY), "no infinities");
        assertEquals(0x7F, saturating.applyAsInt(edge), "saturate clamps");
        assertEquals(0xFF, saturating.applyAsInt(-edge), "saturate clamps negatives");
        assertEquals(0x7F, saturating.applyAsInt(Double.POSITIVE_INFINITY), "saturate clamps infinity");
        assertEquals(0xFF, saturating.applyAsInt(Double.NEGATIVE_INFINITY), "saturate clamps -infinity");
        assertEquals(0x80, plain.applyAsInt(Double.NaN), "NaN");
        assertEquals(0x80, saturating.applyAsInt(-Double.NaN), "NaN, whatever its sign");
    }

    // ---- fp4 e2m1 ----

    private static final double[] E2M1 = {0, 0.5, 1, 1.5, 2, 3, 4, 6};

    @Test
    void e2m1EveryCodeMidpointAndEdge() {
        for (int code = 0; code < 16; code++) {
            double v = (code & 0x8) != 0 ? -E2M1[code & 7] : E2M1[code & 7];
            assertSame(v, FloatFormats.decodeE2M1(code), "decode of " + code);
            assertEquals(code, FloatFormats.encodeE2M1(v), "round trip of " + v);
            assertSame(v, FloatFormats.round(DType.FP4E2M1, v), "round of " + v);
        }
        for (int code = 0; code < 7; code++) {
            double mid = (E2M1[code] + E2M1[code + 1]) / 2;
            int even = (code & 1) == 0 ? code : code + 1;
            assertEquals(even, FloatFormats.encodeE2M1(mid), "midpoint " + mid + " rounds to even");
            assertEquals(code, FloatFormats.encodeE2M1(Math.nextDown(mid)), "below midpoint " + mid);
            assertEquals(code + 1, FloatFormats.encodeE2M1(Math.nextUp(mid)), "above midpoint " + mid);
            assertEquals(0x8 | even, FloatFormats.encodeE2M1(-mid), "negative midpoint " + -mid);
        }
        // Always saturating: beyond 6, infinities included, is +-6; NaN (not representable) is -0.
        assertEquals(0x7, FloatFormats.encodeE2M1(Math.nextUp(6.0)));
        assertEquals(0x7, FloatFormats.encodeE2M1(1e300));
        assertEquals(0x7, FloatFormats.encodeE2M1(Double.POSITIVE_INFINITY));
        assertEquals(0xF, FloatFormats.encodeE2M1(Double.NEGATIVE_INFINITY));
        assertEquals(0x8, FloatFormats.encodeE2M1(Double.NaN));
        assertSame(-0.0, FloatFormats.round(DType.FP4E2M1, Double.NaN));
        assertEquals(0x0, FloatFormats.encodeE2M1(Double.MIN_VALUE));
        assertEquals(0x8, FloatFormats.encodeE2M1(-0.0));
    }

    // ---- fp8 e8m0 ----

    @Test
    void e8m0EveryCode() {
        for (int code = 0; code < 255; code++) {
            double v = Math.pow(2, code - 127);
            assertSame(v, FloatFormats.decodeE8M0(code), "decode of " + code);
            for (E8M0Rounding r : E8M0Rounding.values()) {
                assertEquals(code, FloatFormats.encodeE8M0(v, false, r), "round trip of " + v + ", " + r);
                assertEquals(code, FloatFormats.encodeE8M0(v, true, r), "saturating round trip of " + v + ", " + r);
            }
            assertSame(v, FloatFormats.round(DType.FP8E8M0, v));
        }
        assertSame(Double.NaN, FloatFormats.decodeE8M0(0xFF));
        assertEquals(FloatFormats.E8M0_MIN, FloatFormats.decodeE8M0(0x00));
        assertEquals(FloatFormats.E8M0_MAX, FloatFormats.decodeE8M0(0xFE));
    }

    @Test
    void e8m0RoundsBetweenEveryPairOfNeighboursByMode() {
        for (int code = 0; code < 254; code++) {
            double lo = FloatFormats.decodeE8M0(code);
            double mid = lo * 1.5; // the linear midpoint between lo and 2 * lo
            double[] probes = {Math.nextUp(lo), lo * 1.25, Math.nextDown(mid), mid, Math.nextUp(mid), Math.nextDown(2 * lo)};
            for (double v : probes) {
                for (boolean saturate : new boolean[] {false, true}) {
                    assertEquals(code + 1, FloatFormats.encodeE8M0(v, saturate, E8M0Rounding.UP), "up " + v);
                    assertEquals(code, FloatFormats.encodeE8M0(v, saturate, E8M0Rounding.DOWN), "down " + v);
                    assertEquals(v >= mid ? code + 1 : code, FloatFormats.encodeE8M0(v, saturate, E8M0Rounding.NEAREST),
                            "nearest " + v + " (ties up)");
                }
            }
        }
    }

    @Test
    void e8m0OutOfRangeSaturatesOrIsNaN() {
        double max = FloatFormats.E8M0_MAX;
        double min = FloatFormats.E8M0_MIN;
        // Above: what rounds past 2^127 (and +inf) is NaN, or 0xFE saturating.
        assertEquals(0xFF, FloatFormats.encodeE8M0(max * 1.25, false, E8M0Rounding.UP));
        assertEquals(0xFE, FloatFormats.encodeE8M0(max * 1.25, true, E8M0Rounding.UP));
        assertEquals(0xFE, FloatFormats.encodeE8M0(max * 1.25, false, E8M0Rounding.DOWN), "rounds down into range");
        assertEquals(0xFE, FloatFormats.encodeE8M0(max * 1.25, false, E8M0Rounding.NEAREST), "rounds down into range");
        assertEquals(0xFF, FloatFormats.encodeE8M0(max * 1.5, false, E8M0Rounding.NEAREST), "the tie rounds up, out");
        assertEquals(0xFE, FloatFormats.encodeE8M0(max * 1.5, true, E8M0Rounding.NEAREST));
        for (E8M0Rounding r : E8M0Rounding.values()) {
            assertEquals(0xFF, FloatFormats.encodeE8M0(max * 2, false, r));
            assertEquals(0xFE, FloatFormats.encodeE8M0(max * 2, true, r));
            assertEquals(0xFF, FloatFormats.encodeE8M0(Double.POSITIVE_INFINITY, false, r));
            assertEquals(0xFE, FloatFormats.encodeE8M0(Double.POSITIVE_INFINITY, true, r));
            assertEquals(0xFF, FloatFormats.encodeE8M0(Double.NaN, false, r));
            assertEquals(0xFF, FloatFormats.encodeE8M0(Double.NaN, true, r));
            // Below: zero, negative values, and what rounds under 2^-127 are NaN, or 0x00 saturating.
            for (double v : new double[] {0.0, -0.0, -1.0, -max, Double.NEGATIVE_INFINITY, Double.MIN_VALUE, min / 4}) {
                assertEquals(0xFF, FloatFormats.encodeE8M0(v, false, r), v + " " + r);
                assertEquals(0x00, FloatFormats.encodeE8M0(v, true, r), "saturating " + v + " " + r);
            }
        }
        double half = min / 2; // 2^-128, and the values up to 2^-127
        assertEquals(0x00, FloatFormats.encodeE8M0(Math.nextUp(half), false, E8M0Rounding.UP), "rounds up into range");
        assertEquals(0xFF, FloatFormats.encodeE8M0(Math.nextDown(min), false, E8M0Rounding.DOWN));
        assertEquals(0x00, FloatFormats.encodeE8M0(Math.nextDown(min), true, E8M0Rounding.DOWN));
        assertEquals(0x00, FloatFormats.encodeE8M0(half * 1.5, false, E8M0Rounding.NEAREST), "the tie rounds up, in");
        assertEquals(0xFF, FloatFormats.encodeE8M0(Math.nextDown(half * 1.5), false, E8M0Rounding.NEAREST));
    }

    @Test
    void e8m0ThroughRoundAndCast() {
        // ONNX's node test test_cast_e8m0_FLOAT16_to_FLOAT8E8M0 (saturate, round up).
        double[] in = {0, 0.124, 0.25, 0.5, 1.1, 2, 4, 8};
        int[] out = {0x00, 0x7C, 0x7D, 0x7E, 0x80, 0x80, 0x81, 0x82};
        for (int i = 0; i < in.length; i++) {
            assertEquals(FloatFormats.decodeE8M0(out[i]), FloatFormats.cast(DType.FP8E8M0, in[i], true, E8M0Rounding.UP));
        }
        assertEquals(2.0, FloatFormats.round(DType.FP8E8M0, 2.9), "round is nearest");
        assertEquals(4.0, FloatFormats.round(DType.FP8E8M0, 3.0));
        assertSame(Double.NaN, FloatFormats.round(DType.FP8E8M0, 0.0), "and not saturating");
        assertEquals(2.0, FloatFormats.cast(DType.FP8E8M0, 3.0, true, E8M0Rounding.DOWN));
    }

    // ---- 2-bit integers ----

    @Test
    void twoBitIntegersWrap() {
        for (long v = -9; v <= 9; v++) {
            assertEquals(Math.floorMod(v + 2, 4) - 2, Tensor.wrap(DType.I2, v), "i2 " + v);
            assertEquals(Math.floorMod(v, 4), Tensor.wrap(DType.U2, v), "u2 " + v);
        }
        assertEquals(2, DType.I2.bitsPerElement());
        assertEquals(1, DType.U2.byteSize());
    }

    private static void assertSame(double expected, double actual) {
        assertSame(expected, actual, "");
    }

    /** Equal bits (so -0.0 differs from 0.0), any NaN matching any NaN. */
    private static void assertSame(double expected, double actual, String what) {
        assertTrue(Double.compare(expected, actual) == 0 || (Double.isNaN(expected) && Double.isNaN(actual)),
                what + ": expected " + expected + ", got " + actual);
    }
}
