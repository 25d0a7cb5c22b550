package dev.tokc.ir.interp;

import static dev.tokc.ir.interp.TestGraphs.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.DType;
import dev.tokc.ir.FloatFormats;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.QuantFormat;
import dev.tokc.ir.QuantType;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Round-trip error bounds of each packed format, its byte layout, and QuantizedLinear = Linear over dequant(W). */
class QuantizedBlocksTest {
    static final int ROWS = 8;
    static final int COLS = 128;

    static double[] weights() {
        return random(DType.F64, s(ROWS, COLS), 11).toDoubleArray();
    }

    static double[] roundTrip(QuantType t, double[] w) {
        byte[] packed = QuantizedBlocks.quantize(t, w, ROWS, COLS);
        assertEquals(QuantizedBlocks.packedBytes(t, ROWS, COLS), packed.length);
        return QuantizedBlocks.dequantize(t, packed, ROWS, COLS);
    }

    /** max |w| over [from, from + n). */
    static double absmax(double[] w, int from, int n) {
        double m = 0;
        for (int i = from; i < from + n; i++) {
            m = Math.max(m, Math.abs(w[i]));
        }
        return m;
    }

    /** w4a8 stores int4's bytes; its group size must cover whole activation blocks of 32. */
    @Test
    void w4a8WeightsAreInt4s() {
        double[] w = weights();
        int cols = w.length / 4;
        assertArrayEquals(QuantizedBlocks.quantize(QuantType.parse("int4g64"), w, 4, cols),
                QuantizedBlocks.quantize(QuantType.parse("w4a8g64"), w, 4, cols));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QuantType.parse("w4a8g16"));
        assertTrue(e.getMessage().contains("multiple of its activation block 32"), e.getMessage());
    }

    /** Each block of 32 is rounded to 127 steps of its own max|x|, in f32; a zero block stays zero. */
    @Test
    void w4a8ActivationsRoundPerBlock() {
        double[] x = new double[64];
        for (int i = 0; i < 32; i++) {
            x[i] = (i - 13) * 0.37;
        }
        double[] q = QuantizedBlocks.quantizeActivationBlocks(x, 64);
        float d = (float) (18 * 0.37) / 127f;
        for (int i = 0; i < 32; i++) {
            assertEquals(Math.round((float) x[i] / d) * (double) d, q[i], 0, "element " + i);
            assertTrue(Math.abs(q[i] - x[i]) <= d / 2 + 1e-6, "element " + i + " within half a step");
        }
        assertEquals(18 * 0.37, q[31], 1e-6, "the block's max is exact");
        for (int i = 32; i < 64; i++) {
            assertEquals(0, q[i]);
        }
        assertThrows(IllegalArgumentException.class, () -> QuantizedBlocks.quantizeActivationBlocks(new double[48], 48));
    }

    @Test
    void int8ErrorIsHalfAStep() {
        double[] w = weights();
        double[] d = roundTrip(new QuantType(QuantFormat.INT8, 0), w);
        for (int r = 0; r < ROWS; r++) {
            double step = absmax(w, r * COLS, COLS) / 127;
            for (int c = 0; c < COLS; c++) {
                int i = r * COLS + c;
                assertTrue(Math.abs(w[i] - d[i]) <= step * 0.5 * (1 + 1e-6), "int8 element " + i);
            }
        }
    }

    @Test
    void fp8ErrorIsRelativeHalfUlpOrHalfTheSmallestSubnormal() {
        double[] w = weights();
        double[] d = roundTrip(new QuantType(QuantFormat.FP8, 0), w);
        for (int r = 0; r < ROWS; r++) {
            double scale = absmax(w, r * COLS, COLS) / FloatFormats.E4M3_MAX;
            for (int c = 0; c < COLS; c++) {
                int i = r * COLS + c;
                double bound = Math.abs(w[i]) / 16 + scale * Math.pow(2, -10) + 1e-12;
                assertTrue(Math.abs(w[i] - d[i]) <= bound, "fp8 element " + i + ": " + w[i] + " vs " + d[i]);
            }
        }
    }

    @Test
    void int4ErrorIsAboutHalfAStepOfItsGroup() {
        int g = 32;
        double[] w = weights();
        double[] d = roundTrip(new QuantType(QuantFormat.INT4, g), w);
        for (int start = 0; start < w.length; start += g) {
            double lo = 0;
            double hi = 0;
            for (int i = start; i < start + g; i++) {
                lo = Math.min(lo, w[i]);
                hi = Math.max(hi, w[i]);
            }
            double step = (hi - lo) / 15;
            for (int i = start; i < start + g; i++) {
                // Half a step, plus what rounding the scale to f16 and the zero point to an integer can add.
                assertTrue(Math.abs(w[i] - d[i]) <= 0.52 * step, "int4 element " + i + ": " + w[i] + " vs " + d[i]);
            }
        }
    }

    @Test
    void nf4ErrorIsHalfTheWidestLevelGap() {
        int g = 64;
        double[] w = weights();
        double[] d = roundTrip(new QuantType(QuantFormat.NF4, g), w);
        double widestGap = 0;
        for (int q = 1; q < QuantizedBlocks.NF4.length; q++) {
            widestGap = Math.max(widestGap, QuantizedBlocks.NF4[q] - QuantizedBlocks.NF4[q - 1]);
        }
        for (int start = 0; start < w.length; start += g) {
            double absmax = absmax(w, start, g);
            for (int i = start; i < start + g; i++) {
                assertTrue(Math.abs(w[i] - d[i]) <= (widestGap / 2 + 1e-3) * absmax, "nf4 element " + i);
            }
        }
    }

    @Test
    void zeroGroupsStayZero() {
        for (QuantType t : List.of(new QuantType(QuantFormat.INT8, 0), new QuantType(QuantFormat.FP8, 0),
                new QuantType(QuantFormat.INT4, 4), new QuantType(QuantFormat.NF4, 4))) {
            double[] d = QuantizedBlocks.dequantize(t, QuantizedBlocks.quantize(t, new double[8], 2, 4), 2, 4);
            assertArrayEquals(new double[8], d, t.toString());
        }
    }

    @Test
    void byteLayoutIsAsDocumented() {
        // int8: f32 scale little-endian, then the int8 weights.
        byte[] int8 = QuantizedBlocks.quantize(new QuantType(QuantFormat.INT8, 0), new double[] {127, 0, 0, -127}, 1, 4);
        assertArrayEquals(new byte[] {0, 0, (byte) 0x80, 0x3F, 127, 0, 0, -127}, int8);
        // int4 groups of 2: [f16 scale][f16 zero][1 byte], element 0 in the low nibble, element 1 in the high one.
        // Group {0, 15}: scale 1.0 (0x3C00), zero 0, q {0, 15}. Group {3, 0}: scale f16(0.2) = 0x3266, q {15, 0}.
        byte[] int4 = QuantizedBlocks.quantize(new QuantType(QuantFormat.INT4, 2), new double[] {0, 15, 3, 0}, 1, 4);
        assertArrayEquals(new byte[] {0, 0x3C, 0, 0, (byte) 0xF0, 0x66, 0x32, 0, 0, 0x0F}, int4);
        // A group below zero gets a zero point: {-3, 0} has scale 0.2, zero 15, q {0, 15}.
        byte[] shifted = QuantizedBlocks.quantize(new QuantType(QuantFormat.INT4, 2), new double[] {-3, 0}, 1, 2);
        assertArrayEquals(new byte[] {0x66, 0x32, (byte) 0x80, 0x4B, (byte) 0xF0}, shifted);
        // nf4: f16 absmax, then the level indices; -1 is level 0 and +1 level 15.
        byte[] nf4 = QuantizedBlocks.quantize(new QuantType(QuantFormat.NF4, 2), new double[] {-2, 2}, 1, 2);
        assertArrayEquals(new byte[] {0, 0x40, (byte) 0xF0}, nf4);
        assertEquals(ROWS * (COLS / 32) * (4 + 16), QuantizedBlocks.packedBytes(new QuantType(QuantFormat.INT4, 32), ROWS, COLS));
        assertThrows(IllegalArgumentException.class, () -> QuantizedBlocks.bytesPerRow(new QuantType(QuantFormat.NF4, 64), 100));
    }

    @Test
    void quantizedLinearIsLinearOverTheDequantizedWeight() {
        for (QuantType t : List.of(new QuantType(QuantFormat.INT8, 0), new QuantType(QuantFormat.FP8, 0),
                new QuantType(QuantFormat.INT4, 32), new QuantType(QuantFormat.NF4, 64))) {
            Tensor w = random(DType.F64, s(ROWS, COLS), 21);
            Tensor x = random(DType.F64, s(2, 3, COLS), 22);
            Tensor bias = random(DType.F64, s(ROWS), 23);
            Node xn = param("x", x);
            Node bn = param("b", bias);
            Node qw = Node.of(new SourceOp.Weight("w", TensorType.of(t, ROWS, COLS)));
            Tensor quantized = Interpreter.run(graph(node(new TargetOp.QuantizedLinear(), xn, qw, bn)),
                    inputs("x", x, "b", bias), WeightSource.inMemory().putQuantized("w", t, w)).getFirst();
            byte[] packed = QuantizedBlocks.quantize(t, w.toDoubleArray(), ROWS, COLS);
            Tensor deq = f64(s(ROWS, COLS), QuantizedBlocks.dequantize(t, packed, ROWS, COLS));
            Tensor reference = eval(node(new ModelOp.Linear(false), xn, constant(deq), bn), "x", x, "b", bias);
            assertTensor(reference, quantized, 1e-12);
        }
    }

    @Test
    void aPackedWeightOfTheWrongSizeIsAnError() {
        QuantType t = new QuantType(QuantFormat.INT4, 32);
        Node qw = Node.of(new SourceOp.Weight("w", TensorType.of(t, 2, 64)), List.of(), "qw");
        Node x = param("x", DType.F32, 1, 64);
        Node out = node(new TargetOp.QuantizedLinear(), x, qw);
        InterpreterException e = assertThrows(InterpreterException.class, () -> Interpreter.run(graph(out),
                Map.of("x", Tensor.generate(DType.F32, s(1, 64), i -> 1)),
                WeightSource.inMemory().put("w", QuantizedBlocks.asTensor(new byte[10]))));
        assertTrue(e.getMessage().contains("%qw = weight") && e.getMessage().contains("must be u8[80]"), e.getMessage());
    }
}
