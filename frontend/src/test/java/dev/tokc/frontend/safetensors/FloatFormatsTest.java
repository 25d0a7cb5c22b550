package dev.tokc.frontend.safetensors;

import static dev.tokc.frontend.safetensors.FloatFormats.*;
import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class FloatFormatsTest {
    /** Independent decoder for IEEE-style minifloats, in double, from the textbook formula. */
    private static double reference(int bits, int exponentBits, int mantissaBits, boolean hasInfinity) {
        int sign = (bits >>> (exponentBits + mantissaBits)) & 1;
        int e = (bits >>> mantissaBits) & ((1 << exponentBits) - 1);
        int m = bits & ((1 << mantissaBits) - 1);
        int bias = (1 << (exponentBits - 1)) - 1;
        int maxE = (1 << exponentBits) - 1;
        double s = sign == 1 ? -1 : 1;
        if (hasInfinity && e == maxE) {
            return m == 0 ? s * Double.POSITIVE_INFINITY : Double.NaN;
        }
        if (!hasInfinity && e == maxE && m == (1 << mantissaBits) - 1) {
            return Double.NaN;
        }
        if (e == 0) {
            return s * m * Math.pow(2, 1 - bias - mantissaBits);
        }
        return s * (1 + m / (double) (1 << mantissaBits)) * Math.pow(2, e - bias);
    }

    @Test
    void f16EdgeValues() {
        assertEquals(0x1p-24f, f16ToFloat((short) 0x0001)); // smallest subnormal
        assertEquals(1023 * 0x1p-24f, f16ToFloat((short) 0x03FF)); // largest subnormal
        assertEquals(0x1p-14f, f16ToFloat((short) 0x0400)); // smallest normal
        assertEquals(65504f, f16ToFloat((short) 0x7BFF)); // max
        assertEquals(Float.POSITIVE_INFINITY, f16ToFloat((short) 0x7C00));
        assertEquals(Float.NEGATIVE_INFINITY, f16ToFloat((short) 0xFC00));
        assertTrue(Float.isNaN(f16ToFloat((short) 0x7E00)));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(f16ToFloat((short) 0x8000)));
        assertEquals((short) 0x7C00, floatToF16(65520f)); // rounds up to infinity (tie to even)
        assertEquals((short) 0x7BFF, floatToF16(65519f));
    }

    @Test
    void f16AllCodesMatchFormulaAndRoundTrip() {
        for (int b = 0; b < 0x10000; b++) {
            double expected = reference(b, 5, 10, true);
            float f = f16ToFloat((short) b);
            if (Double.isNaN(expected)) {
                assertTrue(Float.isNaN(f), "code " + b);
            } else {
                assertEquals(expected, f, 0.0, "code " + b);
                assertEquals((short) b, floatToF16(f), "round trip " + b);
            }
        }
    }

    @Test
    void bf16EdgeValuesAndRounding() {
        assertEquals(0x1p-133f, bf16ToFloat((short) 0x0001)); // smallest subnormal
        assertEquals(0x1p-126f, bf16ToFloat((short) 0x0080)); // smallest normal
        assertEquals(Float.intBitsToFloat(0x7F7F0000), bf16ToFloat((short) 0x7F7F)); // max, 3.3895314e38
        assertEquals(3.3895314e38f, bf16ToFloat((short) 0x7F7F));
        assertEquals(Float.POSITIVE_INFINITY, bf16ToFloat((short) 0x7F80));
        assertEquals(Float.NEGATIVE_INFINITY, bf16ToFloat((short) 0xFF80));
        assertTrue(Float.isNaN(bf16ToFloat((short) 0x7FC0)));
        assertEquals(1f, bf16ToFloat((short) 0x3F80));
        // ties to even: 1 + 2^-8 is halfway between 1 and 1 + 2^-7
        assertEquals(1f, bf16ToFloat(floatToBf16(1 + 0x1p-8f)));
        assertEquals(1 + 0x1p-6f, bf16ToFloat(floatToBf16(1 + 3 * 0x1p-8f)));
        assertEquals(1 + 0x1p-7f, bf16ToFloat(floatToBf16(1 + 0x1p-8f + 0x1p-20f)));
        assertEquals(Float.POSITIVE_INFINITY, bf16ToFloat(floatToBf16(Float.MAX_VALUE)));
        assertTrue(Float.isNaN(bf16ToFloat(floatToBf16(Float.intBitsToFloat(0x7F800001))))); // NaN with low payload stays NaN
        for (int b = 0; b < 0x10000; b++) {
            double expected = reference(b, 8, 7, true);
            float f = bf16ToFloat((short) b);
            if (Double.isNaN(expected)) {
                assertTrue(Float.isNaN(f), "code " + b);
            } else {
                assertEquals(expected, f, 0.0, "code " + b);
                assertEquals((short) b, floatToBf16(f), "round trip " + b);
            }
        }
    }

    @Test
    void e4m3fnEdgeValues() {
        assertEquals(0x1p-9f, e4m3fnToFloat((byte) 0x01)); // smallest subnormal
        assertEquals(7 * 0x1p-9f, e4m3fnToFloat((byte) 0x07)); // largest subnormal
        assertEquals(0x1p-6f, e4m3fnToFloat((byte) 0x08)); // smallest normal
        assertEquals(1f, e4m3fnToFloat((byte) 0x38));
        assertEquals(448f, e4m3fnToFloat((byte) 0x7E)); // max: no infinity in e4m3fn
        assertEquals(-448f, e4m3fnToFloat((byte) 0xFE));
        assertEquals(256f, e4m3fnToFloat((byte) 0x78)); // exponent field 15 is a normal binade
        assertTrue(Float.isNaN(e4m3fnToFloat((byte) 0x7F)));
        assertTrue(Float.isNaN(e4m3fnToFloat((byte) 0xFF)));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(e4m3fnToFloat((byte) 0x80)));
        assertEquals((byte) 0x7E, floatToE4m3fn(1e6f)); // saturates
        assertEquals((byte) 0x7E, floatToE4m3fn(Float.POSITIVE_INFINITY));
        assertEquals((byte) 0xFE, floatToE4m3fn(-500f));
        assertEquals((byte) 0x00, floatToE4m3fn(0x1p-11f)); // below half the smallest subnormal
        assertEquals((byte) 0x00, floatToE4m3fn(0x1p-10f)); // exactly half: ties to even (0)
        assertEquals((byte) 0x02, floatToE4m3fn(3 * 0x1p-10f)); // 1.5 x smallest: ties to even (2)
        assertEquals((byte) 0x08, floatToE4m3fn(7.5f * 0x1p-9f)); // rounds up from subnormal into the first normal
        for (int b = 0; b < 256; b++) {
            double expected = reference(b, 4, 3, false);
            float f = e4m3fnToFloat((byte) b);
            if (Double.isNaN(expected)) {
                assertTrue(Float.isNaN(f), "code " + b);
            } else {
                assertEquals(expected, f, 0.0, "code " + b);
                assertEquals((byte) b, floatToE4m3fn(f), "round trip " + b);
            }
        }
    }

    @Test
    void e5m2EdgeValues() {
        assertEquals(0x1p-16f, e5m2ToFloat((byte) 0x01)); // smallest subnormal
        assertEquals(3 * 0x1p-16f, e5m2ToFloat((byte) 0x03));
        assertEquals(0x1p-14f, e5m2ToFloat((byte) 0x04)); // smallest normal
        assertEquals(1f, e5m2ToFloat((byte) 0x3C));
        assertEquals(57344f, e5m2ToFloat((byte) 0x7B)); // max
        assertEquals(Float.POSITIVE_INFINITY, e5m2ToFloat((byte) 0x7C));
        assertEquals(Float.NEGATIVE_INFINITY, e5m2ToFloat((byte) 0xFC));
        assertTrue(Float.isNaN(e5m2ToFloat((byte) 0x7D)));
        assertTrue(Float.isNaN(e5m2ToFloat((byte) 0xFF)));
        assertEquals((byte) 0x7C, floatToE5m2(61440f)); // tie between 57344 and 2^16 goes to even: infinity
        assertEquals((byte) 0x7B, floatToE5m2(61439f));
        for (int b = 0; b < 256; b++) {
            double expected = reference(b, 5, 2, true);
            float f = e5m2ToFloat((byte) b);
            if (Double.isNaN(expected)) {
                assertTrue(Float.isNaN(f), "code " + b);
            } else {
                assertEquals(expected, f, 0.0, "code " + b);
                assertEquals((byte) b, floatToE5m2(f), "round trip " + b);
            }
        }
    }
}
