package dev.tokc.runtime.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * The W4A8 layout and activation quantizer ({@link W4A8}); its product is in {@link VectorQuantKernelsTest}'s grid.
 */
class W4A8Test {

    /** W4A8 holds int4's numbers: the same weights come back, padded rows aside, for every group size. */
    @Test
    void layoutHoldsInt4Weights() {
        Random random = new Random(5);
        for (int g : new int[] {32, 64, 128}) {
            int n = 37;
            int k = 3 * g;
            float[] w = VectorQuantKernelsTest.gaussianArray(random, n * k, 0.3);
            try (Arena arena = Arena.ofConfined()) {
                QuantizedMatrix int4 = Quantizer.quantize(QuantType.int4(g), w, n, k, arena);
                QuantizedMatrix w4a8 = Quantizer.quantize(new QuantType(QuantFormat.W4A8, g), w, n, k, arena);
                assertArrayEquals(Quantizer.dequantize(int4), Quantizer.dequantize(w4a8), "g" + g);
                assertEquals(64 * (long) k / g * (3 + g / 2), w4a8.packedBytes(), "two blocks of 32 rows, g" + g);
            }
        }
    }

    @Test
    void groupSizeMustCoverWholeActivationBlocks() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new QuantType(QuantFormat.W4A8, 16));
        assertTrue(e.getMessage().contains("multiple of its activation block 32"), e.getMessage());
        assertEquals(new QuantType(QuantFormat.W4A8, 64), QuantType.parse("w4a8g64"));
    }

    /** A non-integer zero point (not int4 from this quantizer) has no W4A8 form: refused, naming where. */
    @Test
    void interleaveRefusesFractionalZeroPoints() {
        try (Arena arena = Arena.ofConfined()) {
            int n = 3;
            int k = 32;
            QuantizedMatrix int4 = Quantizer.quantize(QuantType.int4(32),
                    VectorQuantKernelsTest.gaussianArray(new Random(1), n * k, 1), n, k, arena);
            int4.data().set(ValueLayout.JAVA_SHORT_UNALIGNED, int4.rowOffset(2) + 2, Float.floatToFloat16(7.5f));
            MemorySegment dst = arena.allocate(new QuantType(QuantFormat.W4A8, 32).packedBytes(n, k));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> W4A8.interleave(int4.data(), n, k, 32, dst));
            assertTrue(e.getMessage().contains("row 2 group 0") && e.getMessage().contains("7.5"), e.getMessage());
        }
    }

    /** Blocks of 32 with their own scale max|x| / 127; round half up; an all-zero block has scale and codes 0. */
    @Test
    void activationsQuantizePerBlock() {
        int k = 64;
        float[] x = new float[k];
        x[0] = 2.54f; // block 0: max 2.54, d = 0.02
        x[1] = -1.27f;
        x[2] = 0.03f; // about 1.5 steps: whatever the f32 quotient rounds to, as W4A8.code says
        x[3] = -0.03f;
        // block 1 stays zero
        byte[] codes = new byte[k];
        float[] scales = new float[2];
        int[] sums = new int[2];
        W4A8.quantizeActivations(MemorySegment.ofArray(x), k, 0, 1, codes, scales, sums);
        assertEquals(2.54f / 127f, scales[0]);
        assertEquals(127, codes[0]);
        assertEquals(-63, codes[1]); // -63.5 steps: Math.round rounds half up
        assertEquals(W4A8.code(0.03f, scales[0]), codes[2]);
        assertEquals(W4A8.code(-0.03f, scales[0]), codes[3]);
        assertEquals(codes[0] + codes[1] + codes[2] + codes[3], sums[0]);
        assertEquals(0f, scales[1]);
        assertEquals(0, sums[1]);
        for (int i = 32; i < k; i++) {
            assertEquals(0, codes[i]);
        }
        assertEquals(0, W4A8.code(5f, 0f));
        assertEquals(127, W4A8.code(1e30f, 1f), "clamped");
        assertEquals(-127, W4A8.code(-1e30f, 1f), "clamped");
    }

    /**
     * The 256-bit loop (AVX2 machines) and the scalar one (no vectors) compute what the reference does: both group
     * sizes, a padded last block, one to three activation rows (this machine runs the 512-bit loop otherwise).
     */
    @Test
    void narrowAndScalarPathsAgreeWithReference() {
        try (Arena arena = Arena.ofShared(); dev.tokc.runtime.kernels.WorkerPool pool = new dev.tokc.runtime.kernels.WorkerPool(2)) {
            Random random = new Random(9);
            for (int g : new int[] {32, 64}) {
                int n = 45;
                int k = 2 * g;
                QuantizedMatrix w = Quantizer.quantize(new QuantType(QuantFormat.W4A8, g),
                        VectorQuantKernelsTest.gaussianArray(random, n * k, 0.4), n, k, arena);
                for (int m = 1; m <= 3; m++) {
                    MemorySegment x = VectorQuantKernelsTest.gaussian(arena, random, (long) m * k, 1);
                    MemorySegment bias = VectorQuantKernelsTest.gaussian(arena, random, n, 0.4);
                    MemorySegment want = arena.allocate(4L * m * n, 64);
                    new ReferenceQuantKernels().gemm(x, m, w, bias, want);
                    for (W4A8Kernels.Path path : new W4A8Kernels.Path[] {W4A8Kernels.Path.NARROW, W4A8Kernels.Path.SCALAR}) {
                        MemorySegment got = arena.allocate(4L * m * n, 64);
                        W4A8Kernels.gemm(pool, x, m, w, bias, got, path);
                        VectorQuantKernelsTest.assertClose(want, got, VectorQuantKernelsTest.termScales(x, m, w, bias),
                                "w4a8g" + g + " m=" + m + " " + path);
                    }
                }
            }
        }
    }

    /**
     * The vector activation quantizer gives the scalar definition's codes, scales and sums bit for bit: random blocks
     * of every scale, exact ties (max 127 makes d = 1), values next to ties, zeros, subnormals, infinities and NaN.
     */
    @Test
    void vectorActivationQuantizerMatchesTheDefinition() {
        int blocks = 400;
        int k = blocks * 32;
        float[] x = new float[k];
        Random random = new Random(17);
        for (int b = 0; b < blocks; b++) {
            double scale = Math.pow(10, random.nextInt(12) - 6);
            for (int e = 0; e < 32; e++) {
                x[b * 32 + e] = (float) (random.nextGaussian() * scale);
            }
            switch (b % 8) {
                case 0 -> { // exact ties and near-ties with d = 1
                    x[b * 32] = 127f;
                    for (int e = 1; e < 32; e++) {
                        float tie = (random.nextInt(253) - 126) + 0.5f;
                        x[b * 32 + e] = switch (e % 3) {
                            case 0 -> tie;
                            case 1 -> Math.nextUp(tie);
                            default -> Math.nextDown(tie);
                        };
                    }
                }
                case 1 -> java.util.Arrays.fill(x, b * 32, b * 32 + 32, 0f);
                case 2 -> x[b * 32 + 5] = Float.MIN_VALUE * (1 + random.nextInt(100));
                case 3 -> x[b * 32 + 7] = Float.NaN;
                case 4 -> x[b * 32 + 9] = random.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
                case 5 -> { // a block of subnormals only
                    for (int e = 0; e < 32; e++) {
                        x[b * 32 + e] = Float.MIN_VALUE * (random.nextInt(2000) - 1000);
                    }
                }
                default -> { }
            }
        }
        MemorySegment xs = MemorySegment.ofArray(x);
        byte[] codes = new byte[k];
        short[] vcodes = new short[k];
        float[] scales = new float[blocks];
        float[] vscales = new float[blocks];
        int[] sums = new int[blocks];
        int[] vsums = new int[blocks];
        W4A8.quantizeActivations(xs, k, 0, 1, codes, scales, sums);
        W4A8Kernels.quantizeActivations(xs, k, 0, 1, vcodes, vscales, vsums);
        for (int i = 0; i < k; i++) {
            assertEquals(codes[i], (int) vcodes[i], "code " + i + " of x = " + x[i]);
        }
        for (int b = 0; b < blocks; b++) {
            assertEquals(Float.floatToRawIntBits(scales[b]), Float.floatToRawIntBits(vscales[b]), "scale of block " + b);
            assertEquals(sums[b], vsums[b], "sum of block " + b);
        }
    }

    /** The 512-bit step-code builder gives the scalar one's ints: random codes, the extremes +-127, zeros. */
    @Test
    void wideStepCodesMatchTheScalarOnes() {
        int k = 64 * 32;
        short[] codes = new short[k];
        Random random = new Random(23);
        for (int i = 0; i < k; i++) {
            codes[i] = (short) switch (i / 32 % 4) {
                case 0 -> random.nextInt(255) - 127;
                case 1 -> random.nextBoolean() ? 127 : -127;
                case 2 -> 0;
                default -> (i % 2 == 0 ? 127 : -127);
            };
        }
        int[] want = new int[k / 2];
        int[] wantStarts = new int[k / 32];
        int[] got = new int[k / 2];
        int[] gotStarts = new int[k / 32];
        W4A8Kernels.stepCodes(codes, 32, k, want, wantStarts);
        W4A8Kernels.stepCodesWide(codes, 32, k, got, gotStarts);
        assertArrayEquals(want, got);
        assertArrayEquals(wantStarts, gotStarts);
    }

    /**
     * The 16-bit sums at their extremes: constant groups quantize to q = 0 (negative values: q - 8 = -8) or q = 15
     * (positive: 7), and constant activation blocks to codes of +-127, so a block's sum is -8 x 127 x 32 = -32512 or
     * 7 x 127 x 32 = 28448 (and their negatives): the kernels must agree with the reference on every path.
     */
    @Test
    void extremeSumsDoNotOverflow() {
        int n = 64;
        int k = 64;
        int m = 3;
        float[] w = new float[n * k];
        for (int r = 0; r < n; r++) {
            java.util.Arrays.fill(w, r * k, (r + 1) * k, r % 2 == 0 ? -0.5f : 0.25f);
        }
        try (Arena arena = Arena.ofShared(); dev.tokc.runtime.kernels.WorkerPool pool = new dev.tokc.runtime.kernels.WorkerPool(2)) {
            QuantizedMatrix q = Quantizer.quantize(new QuantType(QuantFormat.W4A8, 32), w, n, k, arena);
            MemorySegment x = arena.allocate(4L * m * k, 64);
            for (int i = 0; i < m * k; i++) {
                x.setAtIndex(dev.tokc.runtime.kernels.Elements.F32, i, i / k == 1 ? -3f : 2f);
            }
            MemorySegment want = arena.allocate(4L * m * n, 64);
            new ReferenceQuantKernels().gemm(x, m, q, null, want);
            assertEquals(-0.5f * 2f * k, want.getAtIndex(dev.tokc.runtime.kernels.Elements.F32, 0), 0.05,
                    "the reference itself: -0.5 x 2 x 64 (up to the f16 scale)");
            for (W4A8Kernels.Path path : W4A8Kernels.Path.values()) {
                MemorySegment got = arena.allocate(4L * m * n, 64);
                W4A8Kernels.gemm(pool, x, m, q, null, got, path);
                VectorQuantKernelsTest.assertClose(want, got, VectorQuantKernelsTest.termScales(x, m, q, null),
                        path.toString());
            }
        }
    }
}
