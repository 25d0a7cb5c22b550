package dev.tokc.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.interp.QuantizedBlocks;
import dev.tokc.runtime.kernels.WorkerPool;
import dev.tokc.runtime.kernels.quant.QuantType;
import dev.tokc.runtime.kernels.quant.QuantizedMatrix;
import dev.tokc.runtime.kernels.quant.QuantFormat;
import dev.tokc.runtime.kernels.quant.Quantizer;
import dev.tokc.runtime.kernels.quant.W4A8;
import dev.tokc.runtime.kernels.quant.VectorQuantKernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The runtime re-states the compiler's packed quantized layout ({@code dev.tokc.ir.interp.QuantizedBlocks}) because
 * it must not depend on the compiler. This checks, for every format and group sizes 32/64/128, that the two agree:
 * the runtime's {@link Quantizer} emits the same bytes as {@code QuantizedBlocks.quantize} for the same weights, its
 * dequantization of arbitrary random bytes equals {@code QuantizedBlocks.dequantize} exactly (NaN and infinity
 * included), and the runtime's fused vector GEMM over bytes the compiler produced matches a dot product with the
 * compiler's dequantized weights within the kernels' f32 tolerance.
 */
class QuantLayoutCrossCheckTest {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static List<QuantType> types() {
        List<QuantType> types = new ArrayList<>(List.of(QuantType.INT8, QuantType.FP8));
        for (int g : new int[] {32, 64, 128}) {
            types.add(QuantType.int4(g));
            types.add(QuantType.nf4(g));
            types.add(new QuantType(QuantFormat.W4A8, g));
        }
        return types;
    }

    static dev.tokc.ir.QuantType irType(QuantType t) {
        return dev.tokc.ir.QuantType.parse(t.toString());
    }

    /**
     * Gaussian weights with rows of other scales (1e-5 to 1e2: beyond that NF4's f16 absmax would overflow to
     * infinity), exact zeros, ties between levels and outliers mixed in.
     */
    static float[] weights(Random random, int rows, int cols) {
        float[] w = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            double sigma = Math.pow(10, random.nextInt(8) - 5);
            for (int c = 0; c < cols; c++) {
                double v = random.nextGaussian() * sigma;
                switch (random.nextInt(40)) {
                    case 0 -> v = 0;
                    case 1 -> v *= 50;
                    case 2 -> v = Math.rint(v / sigma * 4) * sigma / 4;
                    default -> { }
                }
                w[r * cols + c] = (float) v;
            }
        }
        return w;
    }

    @TestFactory
    Stream<DynamicTest> layoutsAgree() {
        return types().stream().flatMap(t -> Stream.of(
                DynamicTest.dynamicTest(t + " quantizers emit the same bytes", () -> sameBytes(t)),
                DynamicTest.dynamicTest(t + " dequantizers read random bytes alike", () -> sameDequantization(t)),
                DynamicTest.dynamicTest(t + " fused GEMM over compiler bytes", () -> gemmOverCompilerBytes(t))));
    }

    private static void sameBytes(QuantType t) {
        Random random = new Random(t.toString().hashCode());
        for (int cols : t.format().groupWise() ? new int[] {t.groupSize(), 3 * 128} : new int[] {1, 100, 384}) {
            int rows = 23;
            float[] w = weights(random, rows, cols);
            double[] wd = new double[w.length];
            for (int i = 0; i < w.length; i++) {
                wd[i] = w[i];
            }
            byte[] compiler = runtimeLayout(t, QuantizedBlocks.quantize(irType(t), wd, rows, cols), rows, cols);
            byte[] runtime = Quantizer.quantize(t, w, rows, cols);
            assertEquals(compiler.length, t.packedBytes(rows, cols), t + " size");
            assertArrayEquals(compiler, runtime, t + " " + rows + "x" + cols);
        }
    }

    /**
     * The compiler's bytes as the runtime stores them: the same, except w4a8, which the JVM backend re-lays out
     * (EngineWriter, with this function).
     */
    static byte[] runtimeLayout(QuantType t, byte[] compiler, int rows, int cols) {
        if (t.format() != QuantFormat.W4A8) {
            return compiler;
        }
        byte[] out = new byte[(int) t.packedBytes(rows, cols)];
        W4A8.interleave(MemorySegment.ofArray(compiler), rows, cols, t.groupSize(), MemorySegment.ofArray(out));
        return out;
    }

    /** Random bytes, or for w4a8 (whose zero points must be integers) the compiler's quantization of random weights. */
    private static void sameDequantization(QuantType t) {
        Random random = new Random(t.toString().hashCode() + 1);
        int rows = 7;
        int cols = 384;
        byte[] packed = new byte[(int) QuantizedBlocks.packedBytes(irType(t), rows, cols)];
        if (t.format() == QuantFormat.W4A8) {
            float[] w = weights(random, rows, cols);
            double[] wd = new double[w.length];
            for (int i = 0; i < w.length; i++) {
                wd[i] = w[i];
            }
            packed = QuantizedBlocks.quantize(irType(t), wd, rows, cols);
        } else {
            random.nextBytes(packed);
        }
        double[] compiler = QuantizedBlocks.dequantize(irType(t), packed, rows, cols);
        double[] runtime = Quantizer.dequantize(new QuantizedMatrix(MemorySegment.ofArray(runtimeLayout(t, packed, rows, cols)),
                t, rows, cols));
        for (int i = 0; i < compiler.length; i++) {
            // Double.compare: NaN equals NaN, and -0.0 differs from 0.0, so the sign of zero must agree too.
            int at = i;
            assertEquals(0, Double.compare(compiler[i], runtime[i]),
                    () -> t + " element " + at + ": compiler " + compiler[at] + " runtime " + runtime[at]);
        }
    }

    private static void gemmOverCompilerBytes(QuantType t) {
        Random random = new Random(t.toString().hashCode() + 2);
        int n = 37;
        int k = 384;
        int m = 5;
        float[] w = weights(random, n, k);
        double[] wd = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            wd[i] = w[i];
        }
        byte[] packed = QuantizedBlocks.quantize(irType(t), wd, n, k);
        double[] dq = QuantizedBlocks.dequantize(irType(t), packed, n, k);
        packed = runtimeLayout(t, packed, n, k);
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(2)) {
            MemorySegment data = arena.allocate(packed.length, 64).copyFrom(MemorySegment.ofArray(packed));
            MemorySegment x = arena.allocate(4L * m * k, 64);
            for (long i = 0; i < (long) m * k; i++) {
                x.setAtIndex(F32, i, (float) random.nextGaussian());
            }
            MemorySegment y = arena.allocate(4L * m * n, 64);
            new VectorQuantKernels(pool).gemm(x, m, new QuantizedMatrix(data, t, n, k), null, y);
            double[] xd = new double[m * k]; // what the product reads: x, or w4a8's int8 blocks of it
            for (int i = 0; i < xd.length; i++) {
                xd[i] = x.getAtIndex(F32, i);
            }
            if (t.format() == QuantFormat.W4A8) {
                xd = QuantizedBlocks.quantizeActivationBlocks(xd, k);
            }
            for (int j = 0; j < n; j++) {
                // Rows hold weights of very different scales: compare each output row against its own magnitude.
                double maxAbs = 0;
                double maxErr = 0;
                for (int i = 0; i < m; i++) {
                    double s = 0;
                    for (int c = 0; c < k; c++) {
                        s += xd[i * k + c] * dq[j * k + c];
                    }
                    maxAbs = Math.max(maxAbs, Math.abs(s));
                    maxErr = Math.max(maxErr, Math.abs(s - y.getAtIndex(F32, (long) i * n + j)));
                }
                double rel = maxErr / Math.max(maxAbs, Float.MIN_NORMAL);
                int row = j;
                assertTrue(rel <= 1e-5, () -> t + " output column " + row + ": relative error " + rel);
            }
        }
    }
}
