package dev.tokc.runtime.kernels.quant;

import static dev.tokc.runtime.kernels.Elements.F32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import dev.tokc.runtime.kernels.WorkerPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Differential tests: {@link VectorQuantKernels} against {@link ReferenceQuantKernels} over a generated grid of
 * quantized types x shapes x activation rows x bias x thread counts. Both see the same packed bytes, so the f32
 * tolerance (1e-5 relative to the largest output magnitude) covers accumulation order only. Shapes hit the edges of
 * the fast paths: k below, at and past a vector length and not a multiple of it (8-bit formats), one to five groups
 * (odd group counts exercise the two-group unroll's tail), m = 1 (one-row kernel), m = 4 and 17 (4-row tiles plus a
 * remainder), n not a multiple of any split (for W4A8: a padded last block of 32 rows).
 */
class VectorQuantKernelsTest {
    static final double TOL = 1e-5;
    static final ReferenceQuantKernels REF = new ReferenceQuantKernels();
    static final int[] THREADS = {1, 3};
    static WorkerPool[] pools;
    static VectorQuantKernels[] fast;

    @BeforeAll
    static void startPools() {
        pools = Arrays.stream(THREADS).mapToObj(WorkerPool::new).toArray(WorkerPool[]::new);
        fast = Arrays.stream(pools).map(VectorQuantKernels::new).toArray(VectorQuantKernels[]::new);
    }

    @AfterAll
    static void stopPools() {
        Arrays.stream(pools).forEach(WorkerPool::close);
    }

    /** Every format, the group-wise ones at group sizes 32, 64 and 128. */
    static List<QuantType> types() {
        List<QuantType> types = new ArrayList<>(List.of(QuantType.INT8, QuantType.FP8));
        for (int g : new int[] {32, 64, 128}) {
            types.add(QuantType.int4(g));
            types.add(QuantType.nf4(g));
            types.add(new QuantType(QuantFormat.W4A8, g));
        }
        return types;
    }

    record NK(int n, int k) {
    }

    /** Shapes for a type: free k for the per-channel formats, whole groups for the group-wise ones. */
    static List<NK> shapes(QuantType t) {
        if (!t.format().groupWise()) {
            return List.of(new NK(1, 1), new NK(3, 7), new NK(4, 16), new NK(5, 33), new NK(17, 100),
                    new NK(37, 257), new NK(64, 512));
        }
        int g = t.groupSize();
        return List.of(new NK(1, g), new NK(5, 2 * g), new NK(17, 3 * g), new NK(37, 5 * g));
    }

    static Stream<Arguments> gemmGrid() {
        List<Arguments> out = new ArrayList<>();
        for (QuantType t : types()) {
            for (NK nk : shapes(t)) {
                for (int m : new int[] {1, 3, 4, 17}) {
                    for (int pool = 0; pool < THREADS.length; pool++) {
                        out.add(Arguments.of(t, m, nk, m % 2 == 1, pool));
                    }
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} m={1} {2} bias={3} pool={4}")
    @MethodSource("gemmGrid")
    void gemm(QuantType type, int m, NK nk, boolean withBias, int pool) {
        check(type, m, nk.n(), nk.k(), withBias, pool, 0.5);
    }

    /** k = 8192 gives 8-row activation blocks, so m = 20 crosses three of them. */
    @Test
    void gemmSpansSeveralActivationBlocks() {
        for (QuantType t : types()) {
            check(t, 20, 9, 8192, true, 1, 0.5);
        }
    }

    /**
     * Batch-1 products walk each thread's row range as pairs from its two halves: with k = 2048 the 3-thread pool
     * splits n = 101 into ranges of odd and even length starting mid-matrix, so every pairing and tail case runs.
     */
    @Test
    void batchOneRowPairsSplitAcrossThreads() {
        for (QuantType t : types()) {
            check(t, 1, 101, 2048, true, 1, 0.5);
            check(t, 1, 64, 2048, false, 1, 0.5);
        }
    }

    /** Group sizes below two vectors (or not a multiple of them) take the scalar path and must still agree. */
    @Test
    void groupSizesWithoutVectorPathAgree() {
        for (QuantType t : List.of(QuantType.int4(2), QuantType.nf4(6), QuantType.int4(16), QuantType.nf4(48))) {
            for (int m : new int[] {1, 5}) {
                check(t, m, 7, 4 * t.groupSize(), true, 1, 0.5);
            }
        }
        assertTrue(VectorQuantKernels.vectorized(QuantType.int4(128)), "int4g128 has a vector path");
        assertFalse(VectorQuantKernels.vectorized(QuantType.int4(2)), "int4g2 has no vector path");
        // Three chunks per group on AVX-512: the pass structure must not assume a power of two.
        check(QuantType.int4(96), 5, 7, 3 * 96, true, 1, 0.5);
        check(QuantType.nf4(96), 1, 7, 3 * 96, true, 1, 0.5);
    }

    /** Weights far from 1 (tiny and large scales, f16 subnormal group scales) keep the relative tolerance. */
    @Test
    void extremeWeightScalesAgree() {
        for (QuantType t : types()) {
            for (double sigma : new double[] {1e-6, 3e3}) {
                check(t, 5, 9, 2 * Math.max(128, t.groupSize()), false, 1, sigma);
            }
        }
    }

    /** An fp8 NaN code (S.1111.111) makes its row NaN, as in the reference, on the one-row, tile and batched paths. */
    @Test
    void fp8NaNCodesPropagate() {
        int n = 4;
        int k = 70;
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(3);
            QuantizedMatrix w = Quantizer.quantize(QuantType.FP8, gaussianArray(random, n * k, 0.5), n, k, arena);
            w.data().set(java.lang.foreign.ValueLayout.JAVA_BYTE, w.rowOffset(1) + 4 + 17, (byte) 0x7f);
            w.data().set(java.lang.foreign.ValueLayout.JAVA_BYTE, w.rowOffset(3) + 4 + 69, (byte) 0xff);
            for (int m : new int[] {1, 4, VectorQuantKernels.BATCHED_MIN_ROWS + 1}) {
                MemorySegment x = gaussian(arena, random, (long) m * k, 1);
                MemorySegment want = arena.allocate(4L * m * n, 64);
                MemorySegment got = arena.allocate(4L * m * n, 64);
                REF.gemm(x, m, w, null, want);
                fast[1].gemm(x, m, w, null, got);
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        float r = want.getAtIndex(F32, (long) i * n + j);
                        float g = got.getAtIndex(F32, (long) i * n + j);
                        assertEquals(j == 1 || j == 3, Float.isNaN(r), "reference NaN pattern, row " + j);
                        assertEquals(Float.isNaN(r), Float.isNaN(g), "m=" + m + " row " + j + ": ref " + r + " got " + g);
                    }
                }
            }
        }
    }

    /** gemv is gemm with m = 1. */
    @Test
    void gemvEqualsGemmOfOneRow() {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(11);
            int n = 33;
            int k = 256;
            QuantizedMatrix w = Quantizer.quantize(QuantType.int4(64), gaussianArray(random, n * k, 0.5), n, k, arena);
            MemorySegment x = gaussian(arena, random, k, 1);
            MemorySegment a = arena.allocate(4L * n, 64);
            MemorySegment b = arena.allocate(4L * n, 64);
            fast[0].gemv(x, w, null, a);
            fast[0].gemm(x, 1, w, null, b);
            assertEquals(-1, a.mismatch(b));
        }
    }

    private static void check(QuantType type, int m, int n, int k, boolean withBias, int pool, double sigma) {
        try (Arena arena = Arena.ofShared()) {
            // The type's name, not its hashCode: a record holding an enum hashes differently in every JVM, which made
            // the data (and any failure) change from run to run.
            Random random = new Random(31L * m + 7L * n + k + type.toString().hashCode());
            MemorySegment x = gaussian(arena, random, (long) m * k, 1);
            QuantizedMatrix w = Quantizer.quantize(type, gaussianArray(random, n * k, sigma), n, k, arena);
            MemorySegment bias = withBias ? gaussian(arena, random, n, sigma) : null;
            MemorySegment want = arena.allocate(4L * m * n, 64);
            MemorySegment got = arena.allocate(4L * m * n, 64);
            REF.gemm(x, m, w, bias, want);
            fast[pool].gemm(x, m, w, bias, got);
            assertClose(want, got, termScales(x, m, w, bias), String.format("%s m=%d n=%d k=%d bias=%b threads=%d",
                    type, m, n, k, withBias, THREADS[pool]));
        }
    }

    /**
     * Per output, the sum of the magnitudes of the terms it adds up ({@code sum |x| |w| + |bias|}): the scale of its
     * f32 rounding error, which a result that cancels to near zero does not show.
     */
    static double[] termScales(MemorySegment x, int m, QuantizedMatrix w, MemorySegment bias) {
        int n = w.rows();
        int k = w.cols();
        double[] scales = new double[m * n];
        double[] row = new double[k];
        for (int j = 0; j < n; j++) {
            Quantizer.dequantizeRow(w, j, row);
            for (int i = 0; i < m; i++) {
                double s = bias == null ? 0 : Math.abs(bias.getAtIndex(F32, j));
                for (int c = 0; c < k; c++) {
                    s += Math.abs(x.getAtIndex(F32, (long) i * k + c) * row[c]);
                }
                scales[i * n + j] = s;
            }
        }
        return scales;
    }

    static float[] gaussianArray(Random random, int count, double sigma) {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) {
            a[i] = (float) (random.nextGaussian() * sigma);
        }
        return a;
    }

    static MemorySegment gaussian(Arena arena, Random random, long count, double sigma) {
        MemorySegment s = arena.allocate(Math.max(4, 4 * count), 64);
        for (long i = 0; i < count; i++) {
            s.setAtIndex(F32, i, (float) (random.nextGaussian() * sigma));
        }
        return s;
    }

    /** Per output {@code |got - want| <= TOL * scale} (see {@link #termScales}). */
    static void assertClose(MemorySegment want, MemorySegment got, double[] scales, String what) {
        for (int i = 0; i < scales.length; i++) {
            float w = want.getAtIndex(F32, i);
            float g = got.getAtIndex(F32, i);
            assertTrue(Float.isFinite(w) && Float.isFinite(g), what + ": non-finite at " + i + " (" + w + ", " + g + ")");
            double err = Math.abs((double) w - g);
            assertTrue(err <= TOL * scales[i], String.format("%s: output %d: error %.3g > %.1g x term scale %.3g",
                    what, i, err, TOL, scales[i]));
        }
    }
}
