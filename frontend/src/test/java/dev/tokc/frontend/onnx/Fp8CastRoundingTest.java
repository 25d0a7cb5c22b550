package dev.tokc.frontend.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.FloatFormats;
import java.util.Map;
import java.util.function.IntToDoubleFunction;
import org.junit.jupiter.api.Test;

/**
 * The IR's fp8 encoders ({@link FloatFormats}) against ONNX's Cast rules, with the frontend's independent decoder
 * ({@link MiniFloats}, written from the ONNX format notes) as the reference for what each bit pattern means. ONNX
 * rounds to nearest even; out of range, saturate clamps to the largest finite value (infinities too), while without
 * saturation e4m3fn gives NaN and e5m2 gives infinity. The node tests only probe a few values, so this walks every
 * code: each finite code round-trips, each midpoint between neighbours goes to the even one, and the range edges.
 */
class Fp8CastRoundingTest {

    @Test
    void e4m3fnMatchesOnnxForEveryCodeAndMidpoint() {
        check(OnnxDataType.FLOAT8E4M3FN, 448.0, Double.NaN, v -> FloatFormats.encodeE4M3(v, false),
                v -> FloatFormats.encodeE4M3(v, true), FloatFormats::decodeE4M3);
    }

    @Test
    void e5m2MatchesOnnxForEveryCodeAndMidpoint() {
        check(OnnxDataType.FLOAT8E5M2, 57344.0, Double.POSITIVE_INFINITY, v -> FloatFormats.encodeE5M2(v, false),
                v -> FloatFormats.encodeE5M2(v, true), FloatFormats::decodeE5M2);
    }

    /**
     * The formats whose rounding {@code NarrowFloatFormatsTest} (ir) walks against its own reading of their
     * definitions: here the IR's decoders agree with this module's ONNX reader on every code.
     */
    @Test
    void fnuzE8m0AndE2m1DecodeAsTheOnnxReaderDoes() {
        Map<OnnxDataType, IntToDoubleFunction> ir = Map.of(
                OnnxDataType.FLOAT8E4M3FNUZ, FloatFormats::decodeE4M3Fnuz,
                OnnxDataType.FLOAT8E5M2FNUZ, FloatFormats::decodeE5M2Fnuz,
                OnnxDataType.FLOAT8E8M0, FloatFormats::decodeE8M0,
                OnnxDataType.FLOAT4E2M1, FloatFormats::decodeE2M1);
        for (var e : ir.entrySet()) {
            int codes = e.getKey() == OnnxDataType.FLOAT4E2M1 ? 16 : 256;
            for (int code = 0; code < codes; code++) {
                assertSame(decoded(e.getKey(), code), e.getValue().applyAsDouble(code), e.getKey() + " code " + code);
            }
        }
    }

    private static void check(OnnxDataType type, double max, double overflow, java.util.function.DoubleToIntFunction plain,
            java.util.function.DoubleToIntFunction saturating, java.util.function.IntToDoubleFunction irDecode) {
        double[] positive = new double[128];
        for (int code = 0; code < 256; code++) {
            double v = MiniFloats.decode(type, (byte) code);
            double ir = irDecode.applyAsDouble(code);
            assertTrue(Double.compare(v, ir) == 0 || (Double.isNaN(v) && Double.isNaN(ir)), "decode of " + code);
            if (Double.isFinite(v)) {
                assertEquals(code, plain.applyAsInt(v), "round trip of " + v);
                assertEquals(code, saturating.applyAsInt(v), "saturating round trip of " + v);
            }
            if (code < 128) {
                positive[code] = v;
            }
        }
        // Codes 0..127 are the non-negative values in increasing order up to the largest finite one.
        for (int code = 0; code + 1 < 128 && positive[code + 1] <= max; code++) {
            double mid = (positive[code] + positive[code + 1]) / 2;
            int even = (code & 1) == 0 ? code : code + 1;
            assertEquals(even, plain.applyAsInt(mid), "midpoint " + mid + " rounds to even");
            assertEquals(code, plain.applyAsInt(Math.nextDown(mid)), "below midpoint " + mid);
            assertEquals(code + 1, plain.applyAsInt(Math.nextUp(mid)), "above midpoint " + mid);
            assertEquals(0x80 | even, plain.applyAsInt(-mid), "negative midpoint " + -mid);
        }
        // Above the largest finite value, half a step above it is the rounding boundary; the tie goes to the even
        // pattern: e4m3fn's max (S.1111.110) is even, e5m2's (S.11110.11) is odd, so its tie becomes infinity.
        int maxCode = maxCode(positive, max);
        double edge = max + (max - positive[maxCode - 1]) / 2;
        assertSame((maxCode & 1) == 0 ? max : overflow, decoded(type, plain.applyAsInt(edge)), "the tie at " + edge);
        assertEquals(max, decoded(type, plain.applyAsInt(Math.nextDown(edge))), "below " + edge);
        assertEquals(max, decoded(type, saturating.applyAsInt(edge)), "saturating tie at " + edge);
        assertSame(overflow, decoded(type, plain.applyAsInt(Math.nextUp(edge))), "beyond " + edge);
        assertSame(overflow, decoded(type, plain.applyAsInt(Double.POSITIVE_INFINITY)), "infinity");
        assertEquals(max, decoded(type, saturating.applyAsInt(1e9)), "saturate clamps");
        assertEquals(max, decoded(type, saturating.applyAsInt(Double.POSITIVE_INFINITY)), "saturate clamps infinity");
        assertEquals(-max, decoded(type, saturating.applyAsInt(Double.NEGATIVE_INFINITY)));
        assertTrue(Double.isNaN(decoded(type, saturating.applyAsInt(Double.NaN))), "NaN stays NaN");
        assertEquals(0x80, plain.applyAsInt(-0.0), "negative zero keeps its sign");
        assertEquals(0x80, plain.applyAsInt(-positive[1] / 2), "a negative tie with zero rounds to -0");
    }

    private static int maxCode(double[] positive, double max) {
        for (int code = 0; code < positive.length; code++) {
            if (positive[code] == max) {
                return code;
            }
        }
        throw new AssertionError("no code for " + max);
    }

    private static double decoded(OnnxDataType type, int code) {
        return MiniFloats.decode(type, (byte) code);
    }

    private static void assertSame(double expected, double actual, String what) {
        assertTrue(Double.compare(expected, actual) == 0 || (Double.isNaN(expected) && Double.isNaN(actual)),
                what + ": expected " + expected + ", got " + actual);
    }
}
