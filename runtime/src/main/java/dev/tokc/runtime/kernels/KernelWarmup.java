package dev.tokc.runtime.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.tokc.runtime.kernels.quant.QuantFormat;
import dev.tokc.runtime.kernels.quant.QuantKernels;
import dev.tokc.runtime.kernels.quant.QuantType;
import dev.tokc.runtime.kernels.quant.QuantizedMatrix;
import dev.tokc.runtime.kernels.quant.VectorQuantKernels;
import dev.tokc.runtime.kernels.quant.W4A8;

/**
 * Gets the GEMV/GEMM kernels compiled by C2 before the first real step, for a short time to first token.
 *
 * <p>Why: Vector API code runs 10-100x slower interpreted or under C1 (every vector is a heap object), and C2 only
 * compiles a method after thousands of calls. A cold engine's first step calls the bf16 GEMV once per weight row at
 * full size, so it spent ~3 s in slow tiers (measured on TinyLlama-1.1B: first 3-token step 3.8-4.6 s, the next
 * 0.3 s). Here the same call path runs on a 64 x 256 slice of the engine's own weights (a mapped segment, so the
 * type profiles C2 sees match the real calls and nothing is deoptimised later): each call is cheap even in the slow
 * tiers, so the invocation counts that trigger C2 come within a fraction of a second.
 *
 * <p>Contract: reads {@code sample}, writes only its own scratch buffers; results are discarded. Bounded by
 * {@link #MAX_CALLS} and {@code budgetNanos}, whichever comes first, after at least one call.
 */
public final class KernelWarmup {
    /** GEMV calls at most (each is 64 dot products of 256); a GEMM with 4 activation rows every 8th call. */
    static final int MAX_CALLS = 2500;
    private static final int ROWS = 64;
    private static final int COLS = 256;

    private KernelWarmup() {}

    /** The bytes a warm-up of {@code type} weights reads from its sample. */
    public static long sampleBytes(ElementType type) {
        return (long) ROWS * COLS * type.byteSize();
    }

    /**
     * Runs {@code kernels}' GEMM over a {@code type} matrix read from the start of {@code sample} (at least
     * {@link #sampleBytes} long) at batch 1 and 4 until the budget is spent. Returns the calls made.
     */
    public static int run(Kernels kernels, MemorySegment sample, ElementType type, long budgetNanos) {
        if (sample.byteSize() < sampleBytes(type)) {
            return 0;
        }
        WeightMatrix w = new WeightMatrix(sample.asSlice(0, sampleBytes(type)), type, ROWS, COLS);
        return loop(COLS, ROWS, 4, budgetNanos, (x, m, y) -> kernels.gemm(x, m, w, null, y));
    }

    /** One product of the warm-up: {@code m} activation rows {@code x} into {@code y}. */
    @FunctionalInterface
    private interface Product {
        void run(MemorySegment x, int m, MemorySegment y);
    }

    /**
     * Calls {@code product} at batch 1, and every 8th call also at 4 and {@code maxRows} rows (once when 4), until
     * {@link #MAX_CALLS} or the budget. The activations live in a shared arena, like ExecContext's.
     */
    private static int loop(int cols, int outputs, int maxRows, long budgetNanos, Product product) {
        try (Arena shared = Arena.ofShared()) {
            MemorySegment x = shared.allocate(4L * maxRows * cols, 64);
            MemorySegment y = shared.allocate(4L * maxRows * outputs, 64);
            for (int i = 0; i < maxRows * cols; i++) {
                x.setAtIndex(Elements.F32, i, (i % 7) * 0.125f);
            }
            long deadline = System.nanoTime() + budgetNanos; // the budget is for the calls: at least one is made
            int calls = 0;
            do {
                product.run(x, 1, y);
                if (calls % 8 == 0) {
                    product.run(x, 4, y);
                    if (maxRows > 4) {
                        product.run(x, maxRows, y);
                    }
                }
                calls++;
            } while (calls < MAX_CALLS && System.nanoTime() < deadline);
            return calls;
        }
    }

    /** Activation rows of the quantized warm-up's largest product: enough to take the batched (prefill) path. */
    private static final int QUANT_BATCH = VectorQuantKernels.BATCHED_MIN_ROWS;

    /**
     * The bytes a warm-up of a {@code type} matrix with {@code cols} columns reads from its sample: {@value #ROWS}
     * rows; for W4A8, whose rows are interleaved across the whole matrix, its first block of 32 (the warm-up then
     * reads the whole matrix, see {@link #runQuantized}).
     */
    public static long quantSampleBytes(QuantType type, int cols) {
        return type.packedBytes(type.format() == QuantFormat.W4A8 ? W4A8.ROWS : ROWS, cols);
    }

    /**
     * As {@link #run}, for the quantized kernels: {@value #ROWS} whole rows of a packed matrix ({@code cols} is the
     * real row length: a packed row cannot be cut) at batch 1 (the decode pair kernels), 4 (the register tiles)
     * and {@link VectorQuantKernels#BATCHED_MIN_ROWS} (the dequantize-a-block prefill path). Without it a quantized
     * engine's first prompt ran in the slow tiers: first token 1.66 s against bf16's 0.91 s (TinyLlama-1.1B int8).
     * A W4A8 matrix has no prefix that is a smaller matrix (its regions span all rows): {@code sample} must then be
     * the whole stored matrix, and the warm-up multiplies by all of it (rows padded to whole blocks).
     */
    public static int runQuantized(QuantKernels kernels, MemorySegment sample, QuantType type, int cols,
                                   long budgetNanos) {
        if (sample.byteSize() < quantSampleBytes(type, cols)) {
            return 0;
        }
        int rows = ROWS;
        if (type.format() == QuantFormat.W4A8) {
            long blocks = sample.byteSize() / type.packedBytes(W4A8.ROWS, cols);
            rows = Math.toIntExact(blocks * W4A8.ROWS);
        }
        QuantizedMatrix w = new QuantizedMatrix(sample.asSlice(0, type.packedBytes(rows, cols)), type, rows, cols);
        return loop(cols, rows, QUANT_BATCH, budgetNanos, (x, m, y) -> kernels.gemm(x, m, w, null, y));
    }
}
