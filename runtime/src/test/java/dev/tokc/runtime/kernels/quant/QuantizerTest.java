package dev.tokc.runtime.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * The quantizer's number formats and rounding rules. The byte-for-byte agreement with the compiler's
 * {@code QuantizedBlocks} is checked in {@code tests/} (QuantLayoutCrossCheckTest), which sees both modules.
 */
class QuantizerTest {

    @Test
    void e4m3RoundTripsEveryCode() {
        for (int code = 0; code < 256; code++) {
            double v = Quantizer.decodeE4M3(code);
            if ((code & 0x7f) == 0x7f) {
                assertTrue(Double.isNaN(v), "code " + code + " is NaN");
                continue;
            }
            assertEquals(code, Quantizer.encodeE4M3(v), "code " + Integer.toHexString(code) + " value " + v);
        }
        assertEquals(448.0, Quantizer.decodeE4M3(0x7e));
        assertEquals(0x1p-9, Quantizer.decodeE4M3(0x01));
        assertEquals(0x7e, Quantizer.encodeE4M3(1e9), "saturates");
        assertEquals(0xfe, Quantizer.encodeE4M3(Double.NEGATIVE_INFINITY), "saturates");
        assertEquals(0x7f, Quantizer.encodeE4M3(Double.NaN));
        // Ties to even: 1 + 1/16 lies halfway between 1 (mantissa 0) and 1.125 (mantissa 1).
        assertEquals(0x38, Quantizer.encodeE4M3(1.0625));
        assertEquals(0x3a, Quantizer.encodeE4M3(1.1875));
    }

    @Test
    void f16BitsMatchTheJdkOnFloats() {
        Random random = new Random(2);
        for (int i = 0; i < 200_000; i++) {
            float f = Float.intBitsToFloat(random.nextInt());
            if (Float.isNaN(f)) {
                continue;
            }
            assertEquals(Float.floatToFloat16(f), Quantizer.f16Bits(f), "f16 of " + f);
        }
        // Rounding once from the double: just above the midpoint between 1 and 1 + 2^-10 rounds up, though the
        // nearest float is the midpoint itself (which alone would round to even, down).
        assertEquals((short) 0x3c01, Quantizer.f16Bits(1 + 0x1p-11 + 0x1p-40));
    }

    @Test
    void dequantizedWeightsStayWithinHalfAStep() {
        Random random = new Random(7);
        int rows = 6;
        int cols = 256;
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) random.nextGaussian();
        }
        try (Arena arena = Arena.ofConfined()) {
            for (QuantType t : List.of(QuantType.INT8, QuantType.int4(32), QuantType.int4(128))) {
                double[] d = Quantizer.dequantize(Quantizer.quantize(t, w, rows, cols, arena));
                for (int r = 0; r < rows; r++) {
                    int g = t.groupLength(cols);
                    for (int c0 = 0; c0 < cols; c0 += g) {
                        double lo = 0;
                        double hi = 0;
                        for (int c = c0; c < c0 + g; c++) {
                            lo = Math.min(lo, w[r * cols + c]);
                            hi = Math.max(hi, w[r * cols + c]);
                        }
                        double step = t == QuantType.INT8 ? Math.max(-lo, hi) / 127 : (hi - lo) / 15;
                        for (int c = c0; c < c0 + g; c++) {
                            double err = Math.abs(d[r * cols + c] - w[r * cols + c]);
                            // f16 rounding of the int4 scale and zero point widens the bound a little.
                            assertTrue(err <= step * 0.51 + step * 16 * 0x1p-10, t + " error " + err + " step " + step);
                        }
                    }
                }
            }
        }
    }

    @Test
    void zeroGroupsQuantizeToZero() {
        float[] w = new float[2 * 64];
        for (QuantType t : List.of(QuantType.INT8, QuantType.FP8, QuantType.int4(32), QuantType.nf4(64))) {
            try (Arena arena = Arena.ofConfined()) {
                double[] d = Quantizer.dequantize(Quantizer.quantize(t, w, 2, 64, arena));
                assertArrayEquals(new double[w.length], d, t.toString());
            }
        }
    }

    @Test
    void nf4PicksTheNearestLevel() {
        double[] levels = Quantizer.nf4Levels();
        float[] w = new float[16];
        for (int i = 0; i < 16; i++) {
            w[i] = (float) levels[i];
        }
        try (Arena arena = Arena.ofConfined()) {
            QuantizedMatrix q = Quantizer.quantize(QuantType.nf4(16), w, 1, 16, arena);
            for (int i = 0; i < 16; i++) {
                assertEquals(i, Quantizer.nibble(q.data(), 2, i), "level " + i);
            }
            assertEquals((float) levels[3], (float) Quantizer.dequantize(q)[3]);
        }
    }

    @Test
    void layoutSizes() {
        assertEquals(4 + 100, QuantType.INT8.bytesPerRow(100));
        assertEquals(4 + 100, QuantType.FP8.bytesPerRow(100));
        assertEquals(2 * (4 + 16), QuantType.int4(32).bytesPerRow(64));
        assertEquals(2 * (2 + 32), QuantType.nf4(64).bytesPerRow(128));
        assertEquals("int4g32", QuantType.int4(32).toString());
        for (QuantType t : List.of(QuantType.INT8, QuantType.FP8, QuantType.int4(128), QuantType.nf4(32))) {
            assertEquals(t, QuantType.parse(t.toString()));
        }
        assertThrows(IllegalArgumentException.class, () -> QuantType.parse("int4gx"));
        assertThrows(IllegalArgumentException.class, () -> QuantType.parse("int3"));
        assertThrows(IllegalArgumentException.class, () -> QuantType.int4(32).bytesPerRow(48));
        assertThrows(IllegalArgumentException.class, () -> new QuantType(QuantFormat.NF4, 7));
        assertThrows(IllegalArgumentException.class, () -> new QuantType(QuantFormat.INT8, 32));
    }
}
