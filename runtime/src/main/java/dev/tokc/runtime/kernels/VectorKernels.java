package dev.tokc.runtime.kernels;

import static dev.tokc.runtime.kernels.VectorConversions.FS;
import static dev.tokc.runtime.kernels.VectorConversions.IS;
import static dev.tokc.runtime.kernels.VectorConversions.L;
import static dev.tokc.runtime.kernels.VectorConversions.LE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/**
 * {@link Kernels} with the Vector API ({@link FloatVector#SPECIES_PREFERRED}: 16 lanes on AVX-512, 8 on AVX2) and a
 * {@link WorkerPool}. Every op is checked against {@link ReferenceKernels} in {@code VectorKernelsTest}.
 *
 * <p>How the work is split, per op:
 * <ul>
 *   <li>GEMM/GEMV: threads own disjoint blocks of {@value #NR} weight rows (output columns).
 *       <ul>
 *         <li>Decode (m &lt; 4) with 16-bit weights: the weights stream from DRAM straight into the FMAs, widened
 *             in registers, 4 rows at a time (memory-bound; the goal is read bandwidth).</li>
 *         <li>Batched (m &gt;= 4): register-tiled micro-kernels of 4 weight rows x 4 activation rows (16
 *             accumulators), so every vector loaded feeds 4 FMAs. bf16 weights are widened in registers (a shift or
 *             a mask per vector); f16 weights (whose widening is too long for C2 to inline into a 4x4 tile) are
 *             widened once per 4-row block into a thread-local f32 array; f32 weights are read in place.
 *             Activation rows are walked in blocks that fit in L2 (~512 KiB), so a weight row comes from DRAM once
 *             per block of up to hundreds of rows: batch-16 decode reads the weights once, prefill becomes
 *             compute-bound.</li>
 *         <li>16-bit weights are widened in "split order" (see {@link VectorConversions}): one int-vector load of
 *             2L values gives their even and odd halves with a shift and a mask; the activations are permuted the
 *             same way once per call, which leaves every dot product unchanged.</li>
 *       </ul></li>
 *   <li>Attention: threads own (sequence, KV head) pairs (paged) or (KV head, query tile) pairs (flash); a KV tile is
 *       brought into L1 as f32 once and serves every query row of the group (GQA without repeat_kv).</li>
 *   <li>Norms, RoPE, softmax: rows; element-wise ops: contiguous ranges. Small ops run on the calling thread, where a
 *       fork/join would cost more than it saves.</li>
 * </ul>
 */
public final class VectorKernels implements Kernels {
    /** Weight rows per micro-kernel tile and per unit of work handed to a thread. */
    static final int NR = 4;
    /** Activation rows per micro-kernel tile. */
    static final int MR = 4;
    /** Activation bytes per GEMM row block: half of a 1-2 MiB L2, leaving room for the converted weight rows. */
    static final long ACTIVATION_BLOCK_BYTES = 512 * 1024;
    /** Multiply-adds below which a GEMM runs on one thread (a fork/join costs a few microseconds). */
    static final long MIN_PARALLEL_MACS = 1 << 16;
    /** Elements below which element-wise ops and norms stay on one thread. */
    static final int MIN_PARALLEL_ELEMENTS = 1 << 15;
    /** Keys per attention tile; query tokens per flash-attention task. */
    static final int KEY_TILE = 64;
    static final int QUERY_TILE = 16;

    // No shared FloatVector.zero constant: a static final vector used as a loop-carried accumulator's start value
    // kept C2 from scalar-replacing it (10x slower GEMV, measured). Each loop starts from FloatVector.zero(FS).
    /** Swaps neighbouring lanes (0 1 2 3 -> 1 0 3 2): the partner of each element in an interleaved RoPE pair. */
    private static final VectorShuffle<Float> SWAP_PAIRS = VectorShuffle.fromOp(FS, i -> i ^ 1);

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final WorkerPool pool;

    /** Kernels running on {@code pool}; the pool stays owned by the caller. */
    public VectorKernels(WorkerPool pool) {
        this.pool = pool;
    }

    /** The quantized-weight kernels on this pool (issue 7). */
    @Override
    public dev.tokc.runtime.kernels.quant.QuantKernels quantKernels() {
        return new dev.tokc.runtime.kernels.quant.VectorQuantKernels(pool);
    }

    /** Lanes per float vector on this machine (a benchmark and test aid). */
    public static int lanes() {
        return L;
    }

    /** Per-thread buffers, grown on demand and never shrunk, so no call allocates a buffer of its own. */
    private static final class Scratch {
        MemorySegment activations = MemorySegment.NULL;
        float[] weightRows = new float[0];
        float[] activationRows = new float[0];
        float[] q = new float[0];
        float[] o = new float[0];
        float[] keys = new float[0];
        float[] values = new float[0];
        float[] scores = new float[KEY_TILE];
        float[] correction = new float[0];
        DecodeTiles decode;
        float[] max = new float[0];
        float[] sum = new float[0];
        float[] cos = new float[0];
        float[] sin = new float[0];

        /** Shared read-only with the pool's threads during one GEMV, hence an automatic (any-thread) arena. */
        MemorySegment activations(long bytes) {
            if (activations.byteSize() < bytes) {
                activations = Arena.ofAuto().allocate(bytes, 64);
            }
            return activations;
        }

        float[] weightRows(int count) {
            if (weightRows.length < count) {
                weightRows = new float[count];
            }
            return weightRows;
        }

        /** Shared read-only with the pool's threads during one GEMM (published by the pool's barrier). */
        float[] activationRows(int count) {
            if (activationRows.length < count) {
                activationRows = new float[count];
            }
            return activationRows;
        }

        void attention(int rows, int headDim, int keyTile) {
            if (q.length < rows * headDim) {
                q = new float[rows * headDim];
                o = new float[rows * headDim];
            }
            if (max.length < rows) {
                max = new float[rows];
                sum = new float[rows];
            }
            if (keys.length < keyTile * headDim) {
                keys = new float[keyTile * headDim];
                values = new float[keyTile * headDim];
            }
            if (scores.length < keyTile) {
                scores = new float[keyTile];
            }
        }

        /** Scores of {@code rows} heads over a tile of {@code keyTile} keys, and each head's rescaling factor. */
        void groupScores(int rows, int keyTile) {
            if (scores.length < rows * keyTile) {
                scores = new float[rows * keyTile];
            }
            if (correction.length < rows) {
                correction = new float[rows];
            }
        }

        void rope(int rotaryDim) {
            if (cos.length < rotaryDim) {
                cos = new float[rotaryDim];
                sin = new float[rotaryDim];
            }
        }
    }

    // ---- conversions ---------------------------------------------------------------------------------------

    @Override
    public void toF32(MemorySegment src, ElementType type, MemorySegment dst, long count) {
        VectorConversions.toF32(src, 0, type, dst, 0, count);
    }

    @Override
    public void fromF32(MemorySegment src, MemorySegment dst, ElementType type, long count) {
        VectorConversions.fromF32(src, 0, dst, 0, type, count);
    }

    // ---- GEMM ----------------------------------------------------------------------------------------------

    @Override
    public void gemm(MemorySegment x, int m, WeightMatrix w, MemorySegment bias, MemorySegment y) {
        if (m == 0) {
            return; // e.g. the LM head of a prefill piece that wants no logits rows
        }
        int n = w.rows();
        int k = w.cols();
        int blocks = (n + NR - 1) / NR;
        long macsPerBlock = (long) NR * k * m;
        int grain = (int) Math.max(1, Math.min(blocks, MIN_PARALLEL_MACS / macsPerBlock));
        int rowBlock = (int) Math.max(MR, ACTIVATION_BLOCK_BYTES / (4L * k) / MR * MR);
        if (w.type() == ElementType.F32) {
            pool.parallelFor(blocks, grain, (b0, b1) -> gemmBlocks(x, m, w, bias, y, b0, b1, rowBlock));
            return;
        }
        // 16-bit weights are widened in split order (see VectorConversions), so the activations go in split order
        // too: m*k element moves here against 2*m*n*k flops in the kernels. For the batched path they go to a heap
        // array: Vector API loads from arrays get their bounds checks hoisted better than segment loads, measured
        // 1.5x faster for the 4x4 micro-kernel (205 vs 139 GFLOP/s in L1).
        if (m < MR) {
            // Decode keeps the activations in native memory: with heap and native segments both flowing through the
            // JDK's segment access code, its type profiles turned polymorphic and the decode GEMV ran 2x slower.
            MemorySegment xsView = SCRATCH.get().activations(4L * m * k);
            for (int i = 0; i < m; i++) {
                VectorConversions.permuteSplit(x, 4L * i * k, xsView, 4L * i * k, k);
            }
            if (w.type() == ElementType.BF16) {
                pool.parallelFor(blocks, grain, (b0, b1) -> gemvBf16Blocks(xsView, m, w, bias, y, b0, b1));
            } else {
                pool.parallelFor(blocks, grain, (b0, b1) -> gemvF16Blocks(xsView, m, w, bias, y, b0, b1));
            }
            return;
        }
        float[] xs = SCRATCH.get().activationRows(m * k);
        MemorySegment xsView = MemorySegment.ofArray(xs);
        for (int i = 0; i < m; i++) {
            VectorConversions.permuteSplit(x, 4L * i * k, xsView, 4L * i * k, k);
        }
        if (w.type() == ElementType.BF16) {
            pool.parallelFor(blocks, grain, (b0, b1) -> gemmBf16Blocks(xs, xsView, m, w, bias, y, b0, b1, rowBlock));
        } else {
            pool.parallelFor(blocks, grain, (b0, b1) -> gemmHalfBlocks(xs, m, w, bias, y, b0, b1, rowBlock));
        }
    }

    /**
     * Batched GEMM over 16-bit weights: each block of 4 weight rows is widened once into a thread-local f32 array
     * (zero rows pad the last block), then 4x4 and 4x1 tiles run over it for each activation row block.
     */
    private static void gemmHalfBlocks(float[] x, int m, WeightMatrix w, MemorySegment bias, MemorySegment y,
                                       int b0, int b1, int rowBlock) {
        int n = w.rows();
        int k = w.cols();
        float[] scratch = SCRATCH.get().weightRows(NR * k);
        MemorySegment scratchView = MemorySegment.ofArray(scratch);
        for (int i0 = 0; i0 < m; i0 += rowBlock) {
            int i1 = Math.min(m, i0 + rowBlock);
            for (int b = b0; b < b1; b++) {
                int j = b * NR;
                int rows = Math.min(NR, n - j);
                if (rows == NR) {
                    VectorConversions.toF32Split4(w.data(), w.rowOffset(j), w.rowOffset(1), w.type(),
                            scratchView, 0, 4L * k, k);
                } else {
                    java.util.Arrays.fill(scratch, 0, NR * k, 0f);
                    for (int r = 0; r < rows; r++) {
                        VectorConversions.toF32Split(w.data(), w.rowOffset(j + r), w.type(), scratchView, 4L * r * k, k);
                    }
                }
                int i = i0;
                for (; i + MR <= i1; i += MR) {
                    tile4x4(scratch, x, i * k, k, y, (long) i * n + j, n, bias, j, rows);
                }
                for (; i < i1; i++) {
                    tile4x1(scratch, x, i * k, k, y, (long) i * n + j, bias, j, rows);
                }
            }
        }
    }

    /**
     * Batched GEMM over bf16 weights, widened in registers (a shift or a mask per vector, cheap next to the 8 FMAs
     * each widened vector feeds), so the weights are never copied: a block of 4 rows is half the bytes of its f32
     * form and stays in L1 across the activation rows.
     */
    private static void gemmBf16Blocks(float[] x, MemorySegment xView, int m, WeightMatrix w, MemorySegment bias,
                                       MemorySegment y, int b0, int b1, int rowBlock) {
        int n = w.rows();
        int k = w.cols();
        for (int i0 = 0; i0 < m; i0 += rowBlock) {
            int i1 = Math.min(m, i0 + rowBlock);
            for (int b = b0; b < b1; b++) {
                int j = b * NR;
                int rows = Math.min(NR, n - j);
                long wOff = w.rowOffset(j);
                int i = i0;
                if (rows == NR) {
                    for (; i + MR <= i1; i += MR) {
                        tile4x4Bf16(w.data(), wOff, x, i * k, k, y, (long) i * n + j, n, bias, j);
                    }
                }
                for (; i < i1; i++) { // leftover activation rows, or all rows of a last block under 4 weight rows
                    for (int r = 0; r < rows; r++) {
                        float s = dotBf16(w.data(), w.rowOffset(j + r), xView, 4L * i * k, k);
                        store(y, (long) i * n + j + r, s, bias, j + r);
                    }
                }
            }
        }
    }

    /** 4 bf16 weight rows (natural order, widened to split order in registers) x 4 split-order activation rows. */
    private static void tile4x4Bf16(MemorySegment w, long w0, float[] x, int x0, int k, MemorySegment y, long y0,
                                    int n, MemorySegment bias, int j) {
        long rb = 2L * k;
        FloatVector a00 = FloatVector.zero(FS), a01 = FloatVector.zero(FS), a02 = FloatVector.zero(FS), a03 = FloatVector.zero(FS);
        FloatVector a10 = FloatVector.zero(FS), a11 = FloatVector.zero(FS), a12 = FloatVector.zero(FS), a13 = FloatVector.zero(FS);
        FloatVector a20 = FloatVector.zero(FS), a21 = FloatVector.zero(FS), a22 = FloatVector.zero(FS), a23 = FloatVector.zero(FS);
        FloatVector a30 = FloatVector.zero(FS), a31 = FloatVector.zero(FS), a32 = FloatVector.zero(FS), a33 = FloatVector.zero(FS);
        int upper = k - k % (2 * L);
        for (int l = 0; l < upper; l += 2 * L) {
            long wo = w0 + 2L * l;
            // Two passes over the block, even halves then odd halves, keep 4 widened weight vectors live, not 8.
            IntVector v0 = IntVector.fromMemorySegment(IS, w, wo, LE);
            IntVector v1 = IntVector.fromMemorySegment(IS, w, wo + rb, LE);
            IntVector v2 = IntVector.fromMemorySegment(IS, w, wo + 2 * rb, LE);
            IntVector v3 = IntVector.fromMemorySegment(IS, w, wo + 3 * rb, LE);
            FloatVector w0v = v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector w1v = v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector w2v = v2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector w3v = v3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector xv = FloatVector.fromArray(FS, x, x0 + l);
            a00 = xv.fma(w0v, a00);
            a01 = xv.fma(w1v, a01);
            a02 = xv.fma(w2v, a02);
            a03 = xv.fma(w3v, a03);
            xv = FloatVector.fromArray(FS, x, x0 + k + l);
            a10 = xv.fma(w0v, a10);
            a11 = xv.fma(w1v, a11);
            a12 = xv.fma(w2v, a12);
            a13 = xv.fma(w3v, a13);
            xv = FloatVector.fromArray(FS, x, x0 + 2 * k + l);
            a20 = xv.fma(w0v, a20);
            a21 = xv.fma(w1v, a21);
            a22 = xv.fma(w2v, a22);
            a23 = xv.fma(w3v, a23);
            xv = FloatVector.fromArray(FS, x, x0 + 3 * k + l);
            a30 = xv.fma(w0v, a30);
            a31 = xv.fma(w1v, a31);
            a32 = xv.fma(w2v, a32);
            a33 = xv.fma(w3v, a33);
            w0v = v0.and(0xffff_0000).reinterpretAsFloats();
            w1v = v1.and(0xffff_0000).reinterpretAsFloats();
            w2v = v2.and(0xffff_0000).reinterpretAsFloats();
            w3v = v3.and(0xffff_0000).reinterpretAsFloats();
            int lo = l + L;
            xv = FloatVector.fromArray(FS, x, x0 + lo);
            a00 = xv.fma(w0v, a00);
            a01 = xv.fma(w1v, a01);
            a02 = xv.fma(w2v, a02);
            a03 = xv.fma(w3v, a03);
            xv = FloatVector.fromArray(FS, x, x0 + k + lo);
            a10 = xv.fma(w0v, a10);
            a11 = xv.fma(w1v, a11);
            a12 = xv.fma(w2v, a12);
            a13 = xv.fma(w3v, a13);
            xv = FloatVector.fromArray(FS, x, x0 + 2 * k + lo);
            a20 = xv.fma(w0v, a20);
            a21 = xv.fma(w1v, a21);
            a22 = xv.fma(w2v, a22);
            a23 = xv.fma(w3v, a23);
            xv = FloatVector.fromArray(FS, x, x0 + 3 * k + lo);
            a30 = xv.fma(w0v, a30);
            a31 = xv.fma(w1v, a31);
            a32 = xv.fma(w2v, a32);
            a33 = xv.fma(w3v, a33);
        }
        float[] s = {
                a00.reduceLanes(VectorOperators.ADD), a01.reduceLanes(VectorOperators.ADD),
                a02.reduceLanes(VectorOperators.ADD), a03.reduceLanes(VectorOperators.ADD),
                a10.reduceLanes(VectorOperators.ADD), a11.reduceLanes(VectorOperators.ADD),
                a12.reduceLanes(VectorOperators.ADD), a13.reduceLanes(VectorOperators.ADD),
                a20.reduceLanes(VectorOperators.ADD), a21.reduceLanes(VectorOperators.ADD),
                a22.reduceLanes(VectorOperators.ADD), a23.reduceLanes(VectorOperators.ADD),
                a30.reduceLanes(VectorOperators.ADD), a31.reduceLanes(VectorOperators.ADD),
                a32.reduceLanes(VectorOperators.ADD), a33.reduceLanes(VectorOperators.ADD)};
        for (int l = upper; l < k; l++) {
            for (int a = 0; a < 4; a++) {
                float xs = x[x0 + a * k + l];
                for (int b = 0; b < 4; b++) {
                    s[a * 4 + b] += xs * Elements.bf16ToFloat(w.get(Elements.U16, w0 + b * rb + 2L * l));
                }
            }
        }
        for (int a = 0; a < 4; a++) {
            for (int b = 0; b < 4; b++) {
                store(y, y0 + (long) a * n + b, s[a * 4 + b], bias, j + b);
            }
        }
    }

    /**
     * The batched product of one block of {@code rows <= 4} weight rows already widened to f32 ({@code w[r * k ..]},
     * rows past {@code rows} zero) with activation rows {@code [i0, i1)} of {@code x} (row stride k, the same element
     * order as w): {@code y[i * n + j + r] (+ bias[j + r])}. The quantized kernels' batched path, which dequantizes
     * each block once and reuses these tiles ({@code VectorQuantKernels}).
     */
    public static void gemmWidenedBlock(float[] w, int rows, float[] x, int i0, int i1, int k, MemorySegment y, int n,
                                        int j, MemorySegment bias) {
        int i = i0;
        for (; i + MR <= i1; i += MR) {
            tile4x4(w, x, i * k, k, y, (long) i * n + j, n, bias, j, rows);
        }
        for (; i < i1; i++) {
            tile4x1(w, x, i * k, k, y, (long) i * n + j, bias, j, rows);
        }
    }

    /** 4 widened weight rows ({@code w[r * k ..]}) x 4 activation rows ({@code x[x0 + a * k ..]}); stores {@code rows} columns. */
    private static void tile4x4(float[] w, float[] x, int x0, int k, MemorySegment y, long y0, int n,
                                MemorySegment bias, int j, int rows) {
        FloatVector a00 = FloatVector.zero(FS), a01 = FloatVector.zero(FS), a02 = FloatVector.zero(FS), a03 = FloatVector.zero(FS);
        FloatVector a10 = FloatVector.zero(FS), a11 = FloatVector.zero(FS), a12 = FloatVector.zero(FS), a13 = FloatVector.zero(FS);
        FloatVector a20 = FloatVector.zero(FS), a21 = FloatVector.zero(FS), a22 = FloatVector.zero(FS), a23 = FloatVector.zero(FS);
        FloatVector a30 = FloatVector.zero(FS), a31 = FloatVector.zero(FS), a32 = FloatVector.zero(FS), a33 = FloatVector.zero(FS);
        int upper = k - k % L;
        int l = 0;
        for (; l < upper; l += L) {
            FloatVector w0v = FloatVector.fromArray(FS, w, l);
            FloatVector w1v = FloatVector.fromArray(FS, w, k + l);
            FloatVector w2v = FloatVector.fromArray(FS, w, 2 * k + l);
            FloatVector w3v = FloatVector.fromArray(FS, w, 3 * k + l);
            FloatVector xv = FloatVector.fromArray(FS, x, x0 + l);
            a00 = xv.fma(w0v, a00);
            a01 = xv.fma(w1v, a01);
            a02 = xv.fma(w2v, a02);
            a03 = xv.fma(w3v, a03);
            xv = FloatVector.fromArray(FS, x, x0 + k + l);
            a10 = xv.fma(w0v, a10);
            a11 = xv.fma(w1v, a11);
            a12 = xv.fma(w2v, a12);
            a13 = xv.fma(w3v, a13);
            xv = FloatVector.fromArray(FS, x, x0 + 2 * k + l);
            a20 = xv.fma(w0v, a20);
            a21 = xv.fma(w1v, a21);
            a22 = xv.fma(w2v, a22);
            a23 = xv.fma(w3v, a23);
            xv = FloatVector.fromArray(FS, x, x0 + 3 * k + l);
            a30 = xv.fma(w0v, a30);
            a31 = xv.fma(w1v, a31);
            a32 = xv.fma(w2v, a32);
            a33 = xv.fma(w3v, a33);
        }
        float[] s = {
                a00.reduceLanes(VectorOperators.ADD), a01.reduceLanes(VectorOperators.ADD),
                a02.reduceLanes(VectorOperators.ADD), a03.reduceLanes(VectorOperators.ADD),
                a10.reduceLanes(VectorOperators.ADD), a11.reduceLanes(VectorOperators.ADD),
                a12.reduceLanes(VectorOperators.ADD), a13.reduceLanes(VectorOperators.ADD),
                a20.reduceLanes(VectorOperators.ADD), a21.reduceLanes(VectorOperators.ADD),
                a22.reduceLanes(VectorOperators.ADD), a23.reduceLanes(VectorOperators.ADD),
                a30.reduceLanes(VectorOperators.ADD), a31.reduceLanes(VectorOperators.ADD),
                a32.reduceLanes(VectorOperators.ADD), a33.reduceLanes(VectorOperators.ADD)};
        for (; l < k; l++) {
            for (int a = 0; a < 4; a++) {
                float xs = x[x0 + a * k + l];
                for (int b = 0; b < 4; b++) {
                    s[a * 4 + b] += xs * w[b * k + l];
                }
            }
        }
        for (int a = 0; a < 4; a++) {
            for (int b = 0; b < rows; b++) {
                store(y, y0 + (long) a * n + b, s[a * 4 + b], bias, j + b);
            }
        }
    }

    /** 4 widened weight rows x 1 activation row: the activation rows left over after the 4x4 tiles. */
    private static void tile4x1(float[] w, float[] x, int x0, int k, MemorySegment y, long y0,
                                MemorySegment bias, int j, int rows) {
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), a2 = FloatVector.zero(FS), a3 = FloatVector.zero(FS);
        int upper = k - k % L;
        int l = 0;
        for (; l < upper; l += L) {
            FloatVector xv = FloatVector.fromArray(FS, x, x0 + l);
            a0 = xv.fma(FloatVector.fromArray(FS, w, l), a0);
            a1 = xv.fma(FloatVector.fromArray(FS, w, k + l), a1);
            a2 = xv.fma(FloatVector.fromArray(FS, w, 2 * k + l), a2);
            a3 = xv.fma(FloatVector.fromArray(FS, w, 3 * k + l), a3);
        }
        float[] s = {a0.reduceLanes(VectorOperators.ADD), a1.reduceLanes(VectorOperators.ADD),
                a2.reduceLanes(VectorOperators.ADD), a3.reduceLanes(VectorOperators.ADD)};
        for (; l < k; l++) {
            float xs = x[x0 + l];
            for (int b = 0; b < 4; b++) {
                s[b] += xs * w[b * k + l];
            }
        }
        for (int b = 0; b < rows; b++) {
            store(y, y0 + b, s[b], bias, j + b);
        }
    }

    /** GEMM over f32 weights, read in place (a weights file mapping or any segment). */
    private static void gemmBlocks(MemorySegment x, int m, WeightMatrix w, MemorySegment bias, MemorySegment y,
                                   int b0, int b1, int rowBlock) {
        int n = w.rows();
        int k = w.cols();
        long rowBytes = 4L * k;
        MemorySegment ws = w.data();
        for (int i0 = 0; i0 < m; i0 += rowBlock) {
            int i1 = Math.min(m, i0 + rowBlock);
            for (int b = b0; b < b1; b++) {
                int j = b * NR;
                int rows = Math.min(NR, n - j);
                long wOff = w.rowOffset(j);
                if (rows == NR) {
                    int i = i0;
                    for (; i + MR <= i1; i += MR) {
                        tile4x4(ws, wOff, x, i * rowBytes, k, y, (long) i * n + j, n, bias, j);
                    }
                    for (; i < i1; i++) {
                        tile4x1(ws, wOff, x, i * rowBytes, k, y, (long) i * n + j, bias, j);
                    }
                } else {
                    for (int r = 0; r < rows; r++) {
                        long rowOff = wOff + r * rowBytes;
                        int i = i0;
                        for (; i + MR <= i1; i += MR) {
                            tile1x4(ws, rowOff, x, i * rowBytes, k, y, (long) i * n + j + r, n, bias, j + r);
                        }
                        for (; i < i1; i++) {
                            float s = dot(ws, rowOff, x, i * rowBytes, k);
                            store(y, (long) i * n + j + r, s, bias, j + r);
                        }
                    }
                }
            }
        }
    }

    /**
     * Decode with 16-bit weights (fewer activation rows than a 4x4 tile): one weight row at a time, widened in
     * registers, so the whole matrix is read as one sequential stream. Interleaving 4 rows (4 streams, each only a
     * 4 KiB page long for k = 2048 bf16) measured 35% slower: the hardware prefetcher retrains on every new page of
     * every stream. The exception is long rows (k >= {@link #PAIR_ROWS_MIN_K}), where the activation row no longer
     * stays in L1 and reusing each activation load for 4 rows wins ({@link #dot4Bf16}). {@code x} is in split order
     * (see {@link VectorConversions}).
     */
    private static void gemvBf16Blocks(MemorySegment x, int m, WeightMatrix w, MemorySegment bias, MemorySegment y,
                                       int b0, int b1) {
        int n = w.rows();
        int k = w.cols();
        int j = b0 * NR;
        int end = Math.min(n, b1 * NR);
        if (k >= PAIR_ROWS_MIN_K) {
            for (; j + 3 < end; j += 4) {
                for (int i = 0; i < m; i++) {
                    dot4Bf16(w.data(), w.rowOffset(j), 2L * k, x, 4L * i * k, k, y, (long) i * n + j, bias, j);
                }
            }
            for (; j + 1 < end; j += 2) {
                for (int i = 0; i < m; i++) {
                    dot2Bf16(w.data(), w.rowOffset(j), 2L * k, x, 4L * i * k, k, y, (long) i * n + j, 1, bias, j);
                }
            }
        } else {
            // Rows in pairs from the range's two halves: two distant weight streams per thread, which the hardware
            // prefetcher serves better than one (2 threads, from DRAM: +6-14% for k = 2048 and 5632, and +60-80%
            // for the int8 kernel, where it was first measured; see VectorQuantKernels.channelRowPairs).
            int half = (end - j) / 2;
            long far = 2L * k * half;
            for (int stop = j + half; j < stop; j++) {
                for (int i = 0; i < m; i++) {
                    dot2Bf16(w.data(), w.rowOffset(j), far, x, 4L * i * k, k, y, (long) i * n + j, half, bias, j);
                }
            }
            j += half;
        }
        for (; j < end; j++) {
            for (int i = 0; i < m; i++) {
                store(y, (long) i * n + j, dotBf16(w.data(), w.rowOffset(j), x, 4L * i * k, k), bias, j);
            }
        }
    }

    /**
     * Row length from which the bf16 GEMV reads four (then two) weight rows per activation load ({@link #dot4Bf16},
     * {@link #dot2Bf16}).
     */
    static final int PAIR_ROWS_MIN_K = 7168;

    /**
     * Four adjacent bf16 rows against one split-order activation row, as {@link #dot2Bf16} with twice the reuse of
     * each activation vector. One thread, 2048 x 8192, load ~1: one row at a time 19.1 GB/s, pairs 21.1, fours 24.2
     * (k = 5632: 24.8 / 22.1 / 19.9, hence the threshold). Stores {@code y[y0 .. y0 + 3]}.
     */
    private static void dot4Bf16(MemorySegment w, long w0, long rowBytes, MemorySegment x, long x0, int k,
                                 MemorySegment y, long y0, MemorySegment bias, int j) {
        FloatVector a0 = FloatVector.zero(FS), c0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), c1 = FloatVector.zero(FS);
        FloatVector a2 = FloatVector.zero(FS), c2 = FloatVector.zero(FS), a3 = FloatVector.zero(FS), c3 = FloatVector.zero(FS);
        long w1 = w0 + rowBytes;
        long w2 = w1 + rowBytes;
        long w3 = w2 + rowBytes;
        int upper = k - k % (2 * L);
        int l = 0;
        for (; l < upper; l += 2 * L) {
            FloatVector xe = FloatVector.fromMemorySegment(FS, x, x0 + 4L * l, LE);
            FloatVector xo = FloatVector.fromMemorySegment(FS, x, x0 + 4L * l + 4L * L, LE);
            IntVector v0 = IntVector.fromMemorySegment(IS, w, w0 + 2L * l, LE);
            IntVector v1 = IntVector.fromMemorySegment(IS, w, w1 + 2L * l, LE);
            IntVector v2 = IntVector.fromMemorySegment(IS, w, w2 + 2L * l, LE);
            IntVector v3 = IntVector.fromMemorySegment(IS, w, w3 + 2L * l, LE);
            a0 = xe.fma(v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a0);
            c0 = xo.fma(v0.and(0xffff_0000).reinterpretAsFloats(), c0);
            a1 = xe.fma(v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a1);
            c1 = xo.fma(v1.and(0xffff_0000).reinterpretAsFloats(), c1);
            a2 = xe.fma(v2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a2);
            c2 = xo.fma(v2.and(0xffff_0000).reinterpretAsFloats(), c2);
            a3 = xe.fma(v3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a3);
            c3 = xo.fma(v3.and(0xffff_0000).reinterpretAsFloats(), c3);
        }
        float s0 = a0.add(c0).reduceLanes(VectorOperators.ADD);
        float s1 = a1.add(c1).reduceLanes(VectorOperators.ADD);
        float s2 = a2.add(c2).reduceLanes(VectorOperators.ADD);
        float s3 = a3.add(c3).reduceLanes(VectorOperators.ADD);
        for (; l < k; l++) {
            float xs = sx(x, x0 + 4L * l);
            s0 += xs * Elements.bf16ToFloat(w.get(Elements.U16, w0 + 2L * l));
            s1 += xs * Elements.bf16ToFloat(w.get(Elements.U16, w1 + 2L * l));
            s2 += xs * Elements.bf16ToFloat(w.get(Elements.U16, w2 + 2L * l));
            s3 += xs * Elements.bf16ToFloat(w.get(Elements.U16, w3 + 2L * l));
        }
        store(y, y0, s0, bias, j);
        store(y, y0 + 1, s1, bias, j + 1);
        store(y, y0 + 2, s2, bias, j + 2);
        store(y, y0 + 3, s3, bias, j + 3);
    }

    /**
     * Two adjacent bf16 rows against one split-order activation row, each activation vector loaded once for both.
     * Why only for long rows: from k ~ 7k on, the f32 activation row (28+ KiB) no longer stays in the 48 KiB L1
     * beside the weight stream, and reloading it per row halved the rate (k = 8192: 19 GB/s on one thread, 23 with
     * pairs, 36 for k = 2048); for shorter rows the single stream is faster (k = 2048: 36 vs 25 GB/s; k = 5632: 28 vs
     * 24). Stores both sums (plus bias) at {@code y[y0]} and {@code y[y0 + 1]}.
     */
    private static void dot2Bf16(MemorySegment w, long w0, long rowDistance, MemorySegment x, long x0, int k,
                                 MemorySegment y, long y0, int rowStep, MemorySegment bias, int j) {
        FloatVector a0 = FloatVector.zero(FS), c0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), c1 = FloatVector.zero(FS);
        long w1 = w0 + rowDistance;
        int upper = k - k % (2 * L);
        int l = 0;
        for (; l < upper; l += 2 * L) {
            IntVector v0 = IntVector.fromMemorySegment(IS, w, w0 + 2L * l, LE);
            IntVector v1 = IntVector.fromMemorySegment(IS, w, w1 + 2L * l, LE);
            long xl = x0 + 4L * l;
            FloatVector xe = FloatVector.fromMemorySegment(FS, x, xl, LE);
            FloatVector xo = FloatVector.fromMemorySegment(FS, x, xl + 4L * L, LE);
            a0 = xe.fma(v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a0);
            c0 = xo.fma(v0.and(0xffff_0000).reinterpretAsFloats(), c0);
            a1 = xe.fma(v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a1);
            c1 = xo.fma(v1.and(0xffff_0000).reinterpretAsFloats(), c1);
        }
        float s0 = a0.add(c0).reduceLanes(VectorOperators.ADD);
        float s1 = a1.add(c1).reduceLanes(VectorOperators.ADD);
        for (; l < k; l++) {
            float xs = sx(x, x0 + 4L * l);
            s0 += xs * Elements.bf16ToFloat(w.get(Elements.U16, w0 + 2L * l));
            s1 += xs * Elements.bf16ToFloat(w.get(Elements.U16, w1 + 2L * l));
        }
        store(y, y0, s0, bias, j);
        store(y, y0 + rowStep, s1, bias, j + rowStep);
    }

    // A separate loop per type, each calling only its own dot kernel: with one loop calling both, C2 compiled the
    // pair into one method over its inlining budget and left part of the f16 vector code unintrinsified (measured
    // 2x slower f16 GEMV once the bf16 path had run first).
    private static void gemvF16Blocks(MemorySegment x, int m, WeightMatrix w, MemorySegment bias, MemorySegment y,
                                      int b0, int b1) {
        int n = w.rows();
        int k = w.cols();
        for (int j = b0 * NR; j < Math.min(n, b1 * NR); j++) {
            for (int i = 0; i < m; i++) {
                store(y, (long) i * n + j, dotF16(w.data(), w.rowOffset(j), x, 4L * i * k, k), bias, j);
            }
        }
    }

    /** One bf16 row against a split-order activation row: the weights are read as one sequential stream. */
    private static float dotBf16(MemorySegment w, long w0, MemorySegment x, long x0, int k) {
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), c0 = FloatVector.zero(FS), c1 = FloatVector.zero(FS);
        int upper2 = k - k % (4 * L);
        int l = 0;
        for (; l < upper2; l += 4 * L) {
            IntVector v0 = IntVector.fromMemorySegment(IS, w, w0 + 2L * l, LE);
            IntVector v1 = IntVector.fromMemorySegment(IS, w, w0 + 2L * l + 4L * L, LE);
            a0 = FloatVector.fromMemorySegment(FS, x, x0 + 4L * l, LE).fma(v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a0);
            c0 = FloatVector.fromMemorySegment(FS, x, x0 + 4L * l + 4L * L, LE).fma(v0.and(0xffff_0000).reinterpretAsFloats(), c0);
            a1 = FloatVector.fromMemorySegment(FS, x, x0 + 4L * l + 8L * L, LE).fma(v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a1);
            c1 = FloatVector.fromMemorySegment(FS, x, x0 + 4L * l + 12L * L, LE).fma(v1.and(0xffff_0000).reinterpretAsFloats(), c1);
        }
        int upper = k - k % (2 * L);
        for (; l < upper; l += 2 * L) {
            IntVector v0 = IntVector.fromMemorySegment(IS, w, w0 + 2L * l, LE);
            a0 = FloatVector.fromMemorySegment(FS, x, x0 + 4L * l, LE).fma(v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a0);
            c0 = FloatVector.fromMemorySegment(FS, x, x0 + 4L * l + 4L * L, LE).fma(v0.and(0xffff_0000).reinterpretAsFloats(), c0);
        }
        float s = a0.add(c0).add(a1.add(c1)).reduceLanes(VectorOperators.ADD);
        for (; l < k; l++) {
            s += sx(x, x0 + 4L * l) * Elements.bf16ToFloat(w.get(Elements.U16, w0 + 2L * l));
        }
        return s;
    }

    /**
     * One f16 row against a split-order activation row. A lane holds two f16 values; an arithmetic shift right by
     * 3 puts a half's sign at bit 31 (smeared over bits 28..30) and its magnitude at bits 13..27, and masking with
     * {@code 0x8fffe000} leaves sign | magnitude << 13, which times 2^112 is the value, normal or subnormal (see
     * {@link VectorConversions#f16ToFloat}). That is wrong only for infinity/NaN (all-ones exponent): such a lane
     * sets a sticky bit, and the row is recomputed by the exact path. Written inline rather than through
     * {@code f16ToFloat}: C2 inlined the helper's extra vector nodes poorly (boxed {@code mul}, measured 3-5x slower).
     */
    private static float dotF16(MemorySegment w, long w0, MemorySegment x, long x0, int k) {
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), c0 = FloatVector.zero(FS), c1 = FloatVector.zero(FS);
        FloatVector rebias = FloatVector.broadcast(FS, 0x1p112f);
        IntVector sticky = IntVector.zero(IS);
        int upper2 = k - k % (4 * L);
        int l = 0;
        for (; l < upper2; l += 4 * L) {
            IntVector v0 = IntVector.fromMemorySegment(IS, w, w0 + 2L * l, LE);
            IntVector v1 = IntVector.fromMemorySegment(IS, w, w0 + 2L * l + 4L * L, LE);
            sticky = sticky.or(v0.and(0x7c00_7c00).add(0x0400_0400)).or(v1.and(0x7c00_7c00).add(0x0400_0400));
            IntVector e0 = v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8fff_e000);
            IntVector o0 = v0.lanewise(VectorOperators.ASHR, 3).and(0x8fff_e000);
            IntVector e1 = v1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8fff_e000);
            IntVector o1 = v1.lanewise(VectorOperators.ASHR, 3).and(0x8fff_e000);
            a0 = FloatVector.fromMemorySegment(FS, x, x0 + 4L * l, LE).fma(e0.reinterpretAsFloats().mul(rebias), a0);
            c0 = FloatVector.fromMemorySegment(FS, x, x0 + 4L * l + 4L * L, LE).fma(o0.reinterpretAsFloats().mul(rebias), c0);
            a1 = FloatVector.fromMemorySegment(FS, x, x0 + 4L * l + 8L * L, LE).fma(e1.reinterpretAsFloats().mul(rebias), a1);
            c1 = FloatVector.fromMemorySegment(FS, x, x0 + 4L * l + 12L * L, LE).fma(o1.reinterpretAsFloats().mul(rebias), c1);
        }
        int upper = k - k % (2 * L);
        for (; l < upper; l += 2 * L) {
            IntVector v0 = IntVector.fromMemorySegment(IS, w, w0 + 2L * l, LE);
            sticky = sticky.or(v0.and(0x7c00_7c00).add(0x0400_0400));
            IntVector e0 = v0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(0x8fff_e000);
            IntVector o0 = v0.lanewise(VectorOperators.ASHR, 3).and(0x8fff_e000);
            a0 = FloatVector.fromMemorySegment(FS, x, x0 + 4L * l, LE).fma(e0.reinterpretAsFloats().mul(rebias), a0);
            c0 = FloatVector.fromMemorySegment(FS, x, x0 + 4L * l + 4L * L, LE).fma(o0.reinterpretAsFloats().mul(rebias), c0);
        }
        float s = sticky.and(0x8000_8000).compare(VectorOperators.NE, 0).anyTrue()
                ? dotF16Exact(w, w0, x, x0, upper)
                : a0.add(c0).add(a1.add(c1)).reduceLanes(VectorOperators.ADD);
        for (; l < k; l++) {
            s += sx(x, x0 + 4L * l) * Float.float16ToFloat(w.get(Elements.U16, w0 + 2L * l));
        }
        return s;
    }

    /** The split-order part of an f16 dot product through the exact widening (rows holding infinity or NaN). */
    private static float dotF16Exact(MemorySegment w, long w0, MemorySegment x, long x0, int upper) {
        FloatVector a = FloatVector.zero(FS);
        for (int l = 0; l < upper; l += 2 * L) {
            IntVector v = IntVector.fromMemorySegment(IS, w, w0 + 2L * l, LE);
            a = FloatVector.fromMemorySegment(FS, x, x0 + 4L * l, LE).fma(VectorConversions.f16ToFloat(v), a);
            a = FloatVector.fromMemorySegment(FS, x, x0 + 4L * l + 4L * L, LE)
                    .fma(VectorConversions.f16ToFloat(v.lanewise(VectorOperators.LSHR, 16)), a);
        }
        return a.reduceLanes(VectorOperators.ADD);
    }

    private static void store(MemorySegment y, long index, float sum, MemorySegment bias, int j) {
        y.setAtIndex(Elements.F32, index, bias == null ? sum : sum + bias.getAtIndex(Elements.F32, j));
    }

    private static float sx(MemorySegment s, long byteOffset) {
        return s.get(Elements.F32, byteOffset);
    }

    /**
     * 4 weight rows x 4 activation rows. Weight rows are {@code 4k} bytes apart starting at {@code w0}, activation
     * rows {@code 4k} bytes apart starting at {@code x0}; results go to {@code y[y0 + a*n + b]}.
     */
    private static void tile4x4(MemorySegment w, long w0, MemorySegment x, long x0, int k,
                                MemorySegment y, long y0, int n, MemorySegment bias, int j) {
        long rb = 4L * k;
        FloatVector a00 = FloatVector.zero(FS), a01 = FloatVector.zero(FS), a02 = FloatVector.zero(FS), a03 = FloatVector.zero(FS);
        FloatVector a10 = FloatVector.zero(FS), a11 = FloatVector.zero(FS), a12 = FloatVector.zero(FS), a13 = FloatVector.zero(FS);
        FloatVector a20 = FloatVector.zero(FS), a21 = FloatVector.zero(FS), a22 = FloatVector.zero(FS), a23 = FloatVector.zero(FS);
        FloatVector a30 = FloatVector.zero(FS), a31 = FloatVector.zero(FS), a32 = FloatVector.zero(FS), a33 = FloatVector.zero(FS);
        int upper = k - k % L;
        int l = 0;
        for (; l < upper; l += L) {
            long o = 4L * l;
            FloatVector w0v = FloatVector.fromMemorySegment(FS, w, w0 + o, LE);
            FloatVector w1v = FloatVector.fromMemorySegment(FS, w, w0 + rb + o, LE);
            FloatVector w2v = FloatVector.fromMemorySegment(FS, w, w0 + 2 * rb + o, LE);
            FloatVector w3v = FloatVector.fromMemorySegment(FS, w, w0 + 3 * rb + o, LE);
            FloatVector xv = FloatVector.fromMemorySegment(FS, x, x0 + o, LE);
            a00 = xv.fma(w0v, a00);
            a01 = xv.fma(w1v, a01);
            a02 = xv.fma(w2v, a02);
            a03 = xv.fma(w3v, a03);
            xv = FloatVector.fromMemorySegment(FS, x, x0 + rb + o, LE);
            a10 = xv.fma(w0v, a10);
            a11 = xv.fma(w1v, a11);
            a12 = xv.fma(w2v, a12);
            a13 = xv.fma(w3v, a13);
            xv = FloatVector.fromMemorySegment(FS, x, x0 + 2 * rb + o, LE);
            a20 = xv.fma(w0v, a20);
            a21 = xv.fma(w1v, a21);
            a22 = xv.fma(w2v, a22);
            a23 = xv.fma(w3v, a23);
            xv = FloatVector.fromMemorySegment(FS, x, x0 + 3 * rb + o, LE);
            a30 = xv.fma(w0v, a30);
            a31 = xv.fma(w1v, a31);
            a32 = xv.fma(w2v, a32);
            a33 = xv.fma(w3v, a33);
        }
        float[] s = {
                a00.reduceLanes(VectorOperators.ADD), a01.reduceLanes(VectorOperators.ADD),
                a02.reduceLanes(VectorOperators.ADD), a03.reduceLanes(VectorOperators.ADD),
                a10.reduceLanes(VectorOperators.ADD), a11.reduceLanes(VectorOperators.ADD),
                a12.reduceLanes(VectorOperators.ADD), a13.reduceLanes(VectorOperators.ADD),
                a20.reduceLanes(VectorOperators.ADD), a21.reduceLanes(VectorOperators.ADD),
                a22.reduceLanes(VectorOperators.ADD), a23.reduceLanes(VectorOperators.ADD),
                a30.reduceLanes(VectorOperators.ADD), a31.reduceLanes(VectorOperators.ADD),
                a32.reduceLanes(VectorOperators.ADD), a33.reduceLanes(VectorOperators.ADD)};
        for (; l < k; l++) {
            long o = 4L * l;
            for (int a = 0; a < 4; a++) {
                float xs = sx(x, x0 + a * rb + o);
                for (int b = 0; b < 4; b++) {
                    s[a * 4 + b] += xs * sx(w, w0 + b * rb + o);
                }
            }
        }
        for (int a = 0; a < 4; a++) {
            for (int b = 0; b < 4; b++) {
                store(y, y0 + (long) a * n + b, s[a * 4 + b], bias, j + b);
            }
        }
    }

    /**
     * 4 weight rows x 1 activation row: the decode (GEMV) kernel. Unrolled twice over k so eight independent FMA
     * chains hide the FMA latency; it is memory-bound, so the point is to keep enough loads in flight.
     */
    private static void tile4x1(MemorySegment w, long w0, MemorySegment x, long x0, int k,
                                MemorySegment y, long y0, MemorySegment bias, int j) {
        long rb = 4L * k;
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), a2 = FloatVector.zero(FS), a3 = FloatVector.zero(FS);
        FloatVector c0 = FloatVector.zero(FS), c1 = FloatVector.zero(FS), c2 = FloatVector.zero(FS), c3 = FloatVector.zero(FS);
        int upper2 = k - k % (2 * L);
        int l = 0;
        for (; l < upper2; l += 2 * L) {
            long o = 4L * l;
            long p = o + 4L * L;
            FloatVector xv = FloatVector.fromMemorySegment(FS, x, x0 + o, LE);
            FloatVector xw = FloatVector.fromMemorySegment(FS, x, x0 + p, LE);
            a0 = xv.fma(FloatVector.fromMemorySegment(FS, w, w0 + o, LE), a0);
            a1 = xv.fma(FloatVector.fromMemorySegment(FS, w, w0 + rb + o, LE), a1);
            a2 = xv.fma(FloatVector.fromMemorySegment(FS, w, w0 + 2 * rb + o, LE), a2);
            a3 = xv.fma(FloatVector.fromMemorySegment(FS, w, w0 + 3 * rb + o, LE), a3);
            c0 = xw.fma(FloatVector.fromMemorySegment(FS, w, w0 + p, LE), c0);
            c1 = xw.fma(FloatVector.fromMemorySegment(FS, w, w0 + rb + p, LE), c1);
            c2 = xw.fma(FloatVector.fromMemorySegment(FS, w, w0 + 2 * rb + p, LE), c2);
            c3 = xw.fma(FloatVector.fromMemorySegment(FS, w, w0 + 3 * rb + p, LE), c3);
        }
        int upper = k - k % L;
        for (; l < upper; l += L) {
            long o = 4L * l;
            FloatVector xv = FloatVector.fromMemorySegment(FS, x, x0 + o, LE);
            a0 = xv.fma(FloatVector.fromMemorySegment(FS, w, w0 + o, LE), a0);
            a1 = xv.fma(FloatVector.fromMemorySegment(FS, w, w0 + rb + o, LE), a1);
            a2 = xv.fma(FloatVector.fromMemorySegment(FS, w, w0 + 2 * rb + o, LE), a2);
            a3 = xv.fma(FloatVector.fromMemorySegment(FS, w, w0 + 3 * rb + o, LE), a3);
        }
        float s0 = a0.add(c0).reduceLanes(VectorOperators.ADD);
        float s1 = a1.add(c1).reduceLanes(VectorOperators.ADD);
        float s2 = a2.add(c2).reduceLanes(VectorOperators.ADD);
        float s3 = a3.add(c3).reduceLanes(VectorOperators.ADD);
        for (; l < k; l++) {
            long o = 4L * l;
            float xs = sx(x, x0 + o);
            s0 += xs * sx(w, w0 + o);
            s1 += xs * sx(w, w0 + rb + o);
            s2 += xs * sx(w, w0 + 2 * rb + o);
            s3 += xs * sx(w, w0 + 3 * rb + o);
        }
        store(y, y0, s0, bias, j);
        store(y, y0 + 1, s1, bias, j + 1);
        store(y, y0 + 2, s2, bias, j + 2);
        store(y, y0 + 3, s3, bias, j + 3);
    }

    /** 1 weight row x 4 activation rows: the last {@code n % 4} output columns of a batched GEMM. */
    private static void tile1x4(MemorySegment w, long w0, MemorySegment x, long x0, int k,
                                MemorySegment y, long y0, int n, MemorySegment bias, int j) {
        long rb = 4L * k;
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), a2 = FloatVector.zero(FS), a3 = FloatVector.zero(FS);
        int upper = k - k % L;
        int l = 0;
        for (; l < upper; l += L) {
            long o = 4L * l;
            FloatVector wv = FloatVector.fromMemorySegment(FS, w, w0 + o, LE);
            a0 = wv.fma(FloatVector.fromMemorySegment(FS, x, x0 + o, LE), a0);
            a1 = wv.fma(FloatVector.fromMemorySegment(FS, x, x0 + rb + o, LE), a1);
            a2 = wv.fma(FloatVector.fromMemorySegment(FS, x, x0 + 2 * rb + o, LE), a2);
            a3 = wv.fma(FloatVector.fromMemorySegment(FS, x, x0 + 3 * rb + o, LE), a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD);
        float s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD);
        float s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; l < k; l++) {
            long o = 4L * l;
            float ws = sx(w, w0 + o);
            s0 += ws * sx(x, x0 + o);
            s1 += ws * sx(x, x0 + rb + o);
            s2 += ws * sx(x, x0 + 2 * rb + o);
            s3 += ws * sx(x, x0 + 3 * rb + o);
        }
        store(y, y0, s0, bias, j);
        store(y, y0 + n, s1, bias, j);
        store(y, y0 + 2L * n, s2, bias, j);
        store(y, y0 + 3L * n, s3, bias, j);
    }

    /** Dot product of {@code k} f32 values at two byte offsets. */
    private static float dot(MemorySegment a, long a0, MemorySegment b, long b0, int k) {
        FloatVector acc = FloatVector.zero(FS);
        int upper = k - k % L;
        int l = 0;
        for (; l < upper; l += L) {
            long o = 4L * l;
            acc = FloatVector.fromMemorySegment(FS, a, a0 + o, LE).fma(FloatVector.fromMemorySegment(FS, b, b0 + o, LE), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; l < k; l++) {
            s += sx(a, a0 + 4L * l) * sx(b, b0 + 4L * l);
        }
        return s;
    }

    // ---- norms and element-wise ops ------------------------------------------------------------------------

    /** Runs {@code task} over rows, in parallel when {@code rows * width} is large enough to pay for a fork/join. */
    private void forRows(int rows, long width, WorkerPool.RangeTask task) {
        if ((long) rows * width < MIN_PARALLEL_ELEMENTS) {
            task.run(0, rows);
        } else {
            pool.parallelFor(rows, (int) Math.max(1, MIN_PARALLEL_ELEMENTS / 4 / width), task);
        }
    }

    /** Runs {@code task} over element ranges whose boundaries are multiples of the vector length. */
    private void forElements(int count, WorkerPool.RangeTask task) {
        if (count < MIN_PARALLEL_ELEMENTS) {
            task.run(0, count);
        } else {
            pool.parallelFor(count, L * 256, task);
        }
    }

    private static FloatVector load(MemorySegment s, long index) {
        return FloatVector.fromMemorySegment(FS, s, 4 * index, LE);
    }

    private static float get(MemorySegment s, long index) {
        return s.getAtIndex(Elements.F32, index);
    }

    private static void put(MemorySegment s, long index, float v) {
        s.setAtIndex(Elements.F32, index, v);
    }

    private static float sumOfSquares(MemorySegment x, long base, int dim) {
        FloatVector acc = FloatVector.zero(FS);
        int upper = dim - dim % L;
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector v = load(x, base + i);
            acc = v.fma(v, acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < dim; i++) {
            float v = get(x, base + i);
            s += v * v;
        }
        return s;
    }

    @Override
    public void rmsNorm(MemorySegment x, MemorySegment weight, float eps, int rows, int dim, MemorySegment y) {
        forRows(rows, dim, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long base = (long) r * dim;
                float inv = (float) (1 / Math.sqrt(sumOfSquares(x, base, dim) / dim + eps));
                int upper = dim - dim % L;
                int i = 0;
                for (; i < upper; i += L) {
                    load(x, base + i).mul(inv).mul(load(weight, i)).intoMemorySegment(y, 4 * (base + i), LE);
                }
                for (; i < dim; i++) {
                    put(y, base + i, get(x, base + i) * inv * get(weight, i));
                }
            }
        });
    }

    @Override
    public void layerNorm(MemorySegment x, MemorySegment weight, MemorySegment bias, float eps, int rows, int dim,
                          MemorySegment y) {
        forRows(rows, dim, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long base = (long) r * dim;
                int upper = dim - dim % L;
                FloatVector acc = FloatVector.zero(FS);
                int i = 0;
                for (; i < upper; i += L) {
                    acc = acc.add(load(x, base + i));
                }
                float sum = acc.reduceLanes(VectorOperators.ADD);
                for (; i < dim; i++) {
                    sum += get(x, base + i);
                }
                float mean = sum / dim;
                // Two passes (mean, then squared deviations) rather than E[x^2] - E[x]^2, which cancels badly.
                acc = FloatVector.zero(FS);
                for (i = 0; i < upper; i += L) {
                    FloatVector d = load(x, base + i).sub(mean);
                    acc = d.fma(d, acc);
                }
                float var = acc.reduceLanes(VectorOperators.ADD);
                for (; i < dim; i++) {
                    float d = get(x, base + i) - mean;
                    var += d * d;
                }
                float inv = (float) (1 / Math.sqrt(var / dim + eps));
                for (i = 0; i < upper; i += L) {
                    FloatVector v = load(x, base + i).sub(mean).mul(inv).mul(load(weight, i));
                    if (bias != null) {
                        v = v.add(load(bias, i));
                    }
                    v.intoMemorySegment(y, 4 * (base + i), LE);
                }
                for (; i < dim; i++) {
                    float b = bias == null ? 0 : get(bias, i);
                    put(y, base + i, (get(x, base + i) - mean) * inv * get(weight, i) + b);
                }
            }
        });
    }

    @Override
    public void rope(MemorySegment x, int tokens, int heads, int headDim, int[] positions, float[] invFreq,
                     RopeLayout layout) {
        int half = invFreq.length;
        ReferenceKernels.checkRope(headDim, half);
        forRows(tokens, (long) heads * headDim, (t0, t1) -> {
            Scratch s = SCRATCH.get();
            s.rope(2 * half);
            float[] cos = s.cos;
            float[] sin = s.sin;
            for (int t = t0; t < t1; t++) {
                // cos/sin once per token, shared by all heads. NEOX keeps them per pair; INTERLEAVED expands them
                // to per-element form with the sign of sin folded in, so a whole vector rotates with one shuffle.
                for (int p = 0; p < half; p++) {
                    double angle = ReferenceKernels.ropeAngle(positions[t], invFreq[p]);
                    float c = (float) Math.cos(angle);
                    float sn = (float) Math.sin(angle);
                    if (layout == RopeLayout.NEOX) {
                        cos[p] = c;
                        sin[p] = sn;
                    } else {
                        cos[2 * p] = c;
                        cos[2 * p + 1] = c;
                        sin[2 * p] = -sn;
                        sin[2 * p + 1] = sn;
                    }
                }
                for (int h = 0; h < heads; h++) {
                    long base = ((long) t * heads + h) * headDim;
                    if (layout == RopeLayout.NEOX) {
                        ropeNeox(x, base, half, cos, sin);
                    } else {
                        ropeInterleaved(x, base, 2 * half, cos, sin);
                    }
                }
            }
        });
    }

    private static void ropeNeox(MemorySegment x, long base, int half, float[] cos, float[] sin) {
        int upper = half - half % L;
        int p = 0;
        for (; p < upper; p += L) {
            FloatVector a = load(x, base + p);
            FloatVector b = load(x, base + half + p);
            FloatVector c = FloatVector.fromArray(FS, cos, p);
            FloatVector s = FloatVector.fromArray(FS, sin, p);
            a.mul(c).sub(b.mul(s)).intoMemorySegment(x, 4 * (base + p), LE);
            b.mul(c).add(a.mul(s)).intoMemorySegment(x, 4 * (base + half + p), LE);
        }
        for (; p < half; p++) {
            float a = get(x, base + p);
            float b = get(x, base + half + p);
            put(x, base + p, a * cos[p] - b * sin[p]);
            put(x, base + half + p, b * cos[p] + a * sin[p]);
        }
    }

    private static void ropeInterleaved(MemorySegment x, long base, int rotary, float[] cos, float[] sin) {
        int upper = rotary - rotary % L;
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector v = load(x, base + i);
            FloatVector partner = v.rearrange(SWAP_PAIRS);
            v.mul(FloatVector.fromArray(FS, cos, i)).add(partner.mul(FloatVector.fromArray(FS, sin, i)))
                    .intoMemorySegment(x, 4 * (base + i), LE);
        }
        for (; i < rotary; i += 2) {
            float a = get(x, base + i);
            float b = get(x, base + i + 1);
            put(x, base + i, a * cos[i] + b * sin[i]);
            put(x, base + i + 1, b * cos[i + 1] + a * sin[i + 1]);
        }
    }

    @Override
    public void swiglu(MemorySegment gate, MemorySegment up, MemorySegment out, int count) {
        forElements(count, (i0, i1) -> {
            int upper = i1 - (i1 - i0) % L;
            int i = i0;
            for (; i < upper; i += L) {
                FloatVector g = load(gate, i);
                FloatVector silu = g.div(g.neg().lanewise(VectorOperators.EXP).add(1f));
                silu.mul(load(up, i)).intoMemorySegment(out, 4L * i, LE);
            }
            for (; i < i1; i++) {
                float g = get(gate, i);
                put(out, i, (float) (g / (1 + Math.exp(-g))) * get(up, i));
            }
        });
    }

    /** {@code 1/sqrt(2)}: GELU's erf argument scale. */
    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));
    private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2 / Math.PI);

    /**
     * {@code erfc(z)} for {@code z = -x/sqrt 2}, so that {@code gelu(x) = x/2 * erfc(-x/sqrt 2)} with no
     * cancellation for negative x. The Chebyshev-fitted form {@code t exp(-z^2 + P(t))}, {@code t = 1/(1 + |z|/2)}
     * (Press et al., Numerical Recipes, {@code erfcc}) has relative error below 1.2e-7 everywhere, i.e. about one
     * f32 ulp; the Vector API has no erf of its own.
     */
    private static FloatVector erfc(FloatVector z) {
        FloatVector az = z.abs();
        FloatVector t = FloatVector.broadcast(FS, 1f).div(az.mul(0.5f).add(1f));
        FloatVector p = t.mul(0.17087277f).add(-0.82215223f);
        p = p.fma(t, FloatVector.broadcast(FS, 1.48851587f));
        p = p.fma(t, FloatVector.broadcast(FS, -1.13520398f));
        p = p.fma(t, FloatVector.broadcast(FS, 0.27886807f));
        p = p.fma(t, FloatVector.broadcast(FS, -0.18628806f));
        p = p.fma(t, FloatVector.broadcast(FS, 0.09678418f));
        p = p.fma(t, FloatVector.broadcast(FS, 0.37409196f));
        p = p.fma(t, FloatVector.broadcast(FS, 1.00002368f));
        p = p.fma(t, FloatVector.broadcast(FS, -1.26551223f));
        FloatVector r = t.mul(az.mul(az).neg().add(p).lanewise(VectorOperators.EXP));
        VectorMask<Float> negative = z.lt(0f);
        return r.blend(FloatVector.broadcast(FS, 2f).sub(r), negative);
    }

    @Override
    public void gelu(MemorySegment x, MemorySegment out, int count, GeluForm form) {
        forElements(count, (i0, i1) -> {
            int upper = i1 - (i1 - i0) % L;
            int i = i0;
            for (; i < upper; i += L) {
                FloatVector v = load(x, i);
                FloatVector g = switch (form) {
                    case ERF -> v.mul(0.5f).mul(erfc(v.mul(-INV_SQRT2)));
                    case TANH -> {
                        FloatVector inner = v.mul(v).mul(0.044715f).fma(v, v).mul(SQRT_2_OVER_PI);
                        yield v.mul(0.5f).mul(inner.lanewise(VectorOperators.TANH).add(1f));
                    }
                };
                g.intoMemorySegment(out, 4L * i, LE);
            }
            for (; i < i1; i++) {
                double v = get(x, i);
                double g = switch (form) {
                    case ERF -> 0.5 * v * (1 + ReferenceKernels.erf(v / Math.sqrt(2)));
                    case TANH -> 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
                };
                put(out, i, (float) g);
            }
        });
    }

    @Override
    public void softmax(MemorySegment x, int rows, int cols, MemorySegment y) {
        forRows(rows, cols, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long base = (long) r * cols;
                int upper = cols - cols % L;
                FloatVector mv = FloatVector.broadcast(FS, Float.NEGATIVE_INFINITY);
                int i = 0;
                for (; i < upper; i += L) {
                    mv = mv.max(load(x, base + i));
                }
                float max = mv.reduceLanes(VectorOperators.MAX);
                for (; i < cols; i++) {
                    max = Math.max(max, get(x, base + i));
                }
                FloatVector sv = FloatVector.zero(FS);
                for (i = 0; i < upper; i += L) {
                    FloatVector e = load(x, base + i).sub(max).lanewise(VectorOperators.EXP);
                    sv = sv.add(e);
                    e.intoMemorySegment(y, 4 * (base + i), LE);
                }
                float sum = sv.reduceLanes(VectorOperators.ADD);
                for (; i < cols; i++) {
                    float e = (float) Math.exp(get(x, base + i) - max);
                    sum += e;
                    put(y, base + i, e);
                }
                float inv = 1 / sum;
                for (i = 0; i < upper; i += L) {
                    load(y, base + i).mul(inv).intoMemorySegment(y, 4 * (base + i), LE);
                }
                for (; i < cols; i++) {
                    put(y, base + i, get(y, base + i) * inv);
                }
            }
        });
    }

    @Override
    public void add(MemorySegment a, MemorySegment b, MemorySegment out, int count) {
        forElements(count, (i0, i1) -> {
            int upper = i1 - (i1 - i0) % L;
            int i = i0;
            for (; i < upper; i += L) {
                load(a, i).add(load(b, i)).intoMemorySegment(out, 4L * i, LE);
            }
            for (; i < i1; i++) {
                put(out, i, get(a, i) + get(b, i));
            }
        });
    }

    // ---- attention -----------------------------------------------------------------------------------------

    /**
     * Online-softmax state of {@code rows} query rows (FlashAttention's running max, running sum and unnormalised
     * output), all in the thread's {@link Scratch}. Queries are stored pre-multiplied by the softmax scale.
     */
    private static void beginRows(Scratch s, int rows, int hd) {
        java.util.Arrays.fill(s.max, 0, rows, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(s.sum, 0, rows, 0f);
        java.util.Arrays.fill(s.o, 0, rows * hd, 0f);
    }

    /**
     * Folds one key/value tile ({@code s.keys}, {@code s.values}: {@code n} rows of {@code hd} f32) into row
     * {@code r}'s state, of which the first {@code visible} keys count (the causal mask, as a count).
     */
    private static void attendTile(Scratch s, int r, int hd, int visible) {
        if (visible <= 0) {
            return;
        }
        float correction = softmaxTile(s, r, hd, visible, 0);
        accumulateValues(s.o, r * hd, correction, s.scores, 0, s.values, visible, hd);
    }

    /**
     * Row {@code r}'s scores against the tile's first {@code visible} keys, exponentiated against its updated running
     * max into {@code s.scores[so ..]}; updates its max and sum and returns the factor its output so far must be
     * scaled by (the online softmax's rescaling).
     */
    private static float softmaxTile(Scratch s, int r, int hd, int visible, int so) {
        float[] q = s.q;
        float[] keys = s.keys;
        float[] sc = s.scores;
        int qo = r * hd;
        int j = 0;
        if (hd == 4 * L) {
            // the common head dim (64 at 16 lanes): the query stays in four registers and a key is four loads, no
            // inner loop (dot4's loop over the head dim, 4 iterations, cost its setup per call): 55 -> 44 us per
            // layer at context 512 in AttnLab
            FloatVector q0 = FloatVector.fromArray(FS, q, qo), q1 = FloatVector.fromArray(FS, q, qo + L);
            FloatVector q2 = FloatVector.fromArray(FS, q, qo + 2 * L), q3 = FloatVector.fromArray(FS, q, qo + 3 * L);
            for (; j + 4 <= visible; j += 4) {
                int k0 = j * hd, k1 = k0 + hd, k2 = k1 + hd, k3 = k2 + hd;
                FloatVector a = dot64(q0, q1, q2, q3, keys, k0), b = dot64(q0, q1, q2, q3, keys, k1);
                FloatVector c = dot64(q0, q1, q2, q3, keys, k2), d = dot64(q0, q1, q2, q3, keys, k3);
                sc[so + j] = a.reduceLanes(VectorOperators.ADD);
                sc[so + j + 1] = b.reduceLanes(VectorOperators.ADD);
                sc[so + j + 2] = c.reduceLanes(VectorOperators.ADD);
                sc[so + j + 3] = d.reduceLanes(VectorOperators.ADD);
            }
        }
        for (; j + 4 <= visible; j += 4) {
            dot4(q, qo, keys, j * hd, hd, sc, so + j);
        }
        for (; j < visible; j++) {
            sc[so + j] = dotArrays(q, qo, keys, j * hd, hd);
        }
        int upper = visible - visible % L;
        FloatVector mv = FloatVector.broadcast(FS, Float.NEGATIVE_INFINITY);
        for (j = 0; j < upper; j += L) {
            mv = mv.max(FloatVector.fromArray(FS, sc, so + j));
        }
        float tileMax = mv.reduceLanes(VectorOperators.MAX);
        for (; j < visible; j++) {
            tileMax = Math.max(tileMax, sc[so + j]);
        }
        float newMax = Math.max(s.max[r], tileMax);
        float correction = (float) Math.exp(s.max[r] - newMax);
        FloatVector pv = FloatVector.zero(FS);
        for (j = 0; j < upper; j += L) {
            FloatVector p = FloatVector.fromArray(FS, sc, so + j).sub(newMax).lanewise(VectorOperators.EXP);
            pv = pv.add(p);
            p.intoArray(sc, so + j);
        }
        float psum = pv.reduceLanes(VectorOperators.ADD);
        for (; j < visible; j++) {
            sc[so + j] = (float) Math.exp(sc[so + j] - newMax);
            psum += sc[so + j];
        }
        s.max[r] = newMax;
        s.sum[r] = s.sum[r] * correction + psum;
        return correction;
    }

    /**
     * Paged decode: one tile of {@code n} keys (all visible) for the {@code rows} query heads that share its KV head.
     * Scores and softmax head by head ({@link #softmaxTile}, head r's weights at {@code s.scores[r * n ..]}), then the
     * values for four heads at a time ({@link #accumulateValues4}): one head at a time, each output vector is a chain
     * of n dependent FMAs (4 cycles each), so a head's value pass was latency-bound; four heads keep 8 chains in
     * flight and load each value vector once for all four.
     */
    private static void attendTileGroup(Scratch s, int rows, int hd, int n) {
        float[] corr = s.correction;
        for (int r = 0; r < rows; r++) {
            corr[r] = softmaxTile(s, r, hd, n, r * n);
        }
        int r = 0;
        if (hd % (2 * L) == 0) {
            for (; r + 4 <= rows; r += 4) {
                accumulateValues4(s.o, r, corr, s.scores, s.values, n, hd);
            }
        }
        for (; r < rows; r++) {
            accumulateValues(s.o, r * hd, corr[r], s.scores, r * n, s.values, n, hd);
        }
    }

    /**
     * {@link #accumulateValues} for heads r0 .. r0 + 3 (weights at {@code p[r * n ..]}), two vectors of the head
     * dimension at a time: eight independent accumulators, each value vector loaded once for the four heads.
     */
    private static void accumulateValues4(float[] o, int r0, float[] corr, float[] p, float[] values, int n, int hd) {
        int o0 = r0 * hd, o1 = o0 + hd, o2 = o1 + hd, o3 = o2 + hd;
        int p0 = r0 * n, p1 = p0 + n, p2 = p1 + n, p3 = p2 + n;
        for (int d = 0; d < hd; d += 2 * L) {
            FloatVector a0 = FloatVector.fromArray(FS, o, o0 + d).mul(corr[r0]);
            FloatVector b0 = FloatVector.fromArray(FS, o, o0 + d + L).mul(corr[r0]);
            FloatVector a1 = FloatVector.fromArray(FS, o, o1 + d).mul(corr[r0 + 1]);
            FloatVector b1 = FloatVector.fromArray(FS, o, o1 + d + L).mul(corr[r0 + 1]);
            FloatVector a2 = FloatVector.fromArray(FS, o, o2 + d).mul(corr[r0 + 2]);
            FloatVector b2 = FloatVector.fromArray(FS, o, o2 + d + L).mul(corr[r0 + 2]);
            FloatVector a3 = FloatVector.fromArray(FS, o, o3 + d).mul(corr[r0 + 3]);
            FloatVector b3 = FloatVector.fromArray(FS, o, o3 + d + L).mul(corr[r0 + 3]);
            for (int j = 0; j < n; j++) {
                FloatVector va = FloatVector.fromArray(FS, values, j * hd + d);
                FloatVector vb = FloatVector.fromArray(FS, values, j * hd + d + L);
                FloatVector w = FloatVector.broadcast(FS, p[p0 + j]);
                a0 = w.fma(va, a0);
                b0 = w.fma(vb, b0);
                w = FloatVector.broadcast(FS, p[p1 + j]);
                a1 = w.fma(va, a1);
                b1 = w.fma(vb, b1);
                w = FloatVector.broadcast(FS, p[p2 + j]);
                a2 = w.fma(va, a2);
                b2 = w.fma(vb, b2);
                w = FloatVector.broadcast(FS, p[p3 + j]);
                a3 = w.fma(va, a3);
                b3 = w.fma(vb, b3);
            }
            a0.intoArray(o, o0 + d);
            b0.intoArray(o, o0 + d + L);
            a1.intoArray(o, o1 + d);
            b1.intoArray(o, o1 + d + L);
            a2.intoArray(o, o2 + d);
            b2.intoArray(o, o2 + d + L);
            a3.intoArray(o, o3 + d);
            b3.intoArray(o, o3 + d + L);
        }
    }

    /** The lane-wise products of a 4L-wide query (q0..q3) and the key at {@code keys[k0 ..]}, summed as a tree. */
    private static FloatVector dot64(FloatVector q0, FloatVector q1, FloatVector q2, FloatVector q3, float[] keys,
            int k0) {
        return q0.mul(FloatVector.fromArray(FS, keys, k0)).add(q1.mul(FloatVector.fromArray(FS, keys, k0 + L)))
                .add(q2.mul(FloatVector.fromArray(FS, keys, k0 + 2 * L)).add(q3.mul(FloatVector.fromArray(FS, keys, k0 + 3 * L))));
    }

    /** Four scores at once so that each query vector loaded serves four keys. */
    private static void dot4(float[] q, int qo, float[] keys, int k0, int hd, float[] out, int j) {
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), a2 = FloatVector.zero(FS), a3 = FloatVector.zero(FS);
        int upper = hd - hd % L;
        int d = 0;
        for (; d < upper; d += L) {
            FloatVector qv = FloatVector.fromArray(FS, q, qo + d);
            a0 = qv.fma(FloatVector.fromArray(FS, keys, k0 + d), a0);
            a1 = qv.fma(FloatVector.fromArray(FS, keys, k0 + hd + d), a1);
            a2 = qv.fma(FloatVector.fromArray(FS, keys, k0 + 2 * hd + d), a2);
            a3 = qv.fma(FloatVector.fromArray(FS, keys, k0 + 3 * hd + d), a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD);
        float s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD);
        float s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; d < hd; d++) {
            float qs = q[qo + d];
            s0 += qs * keys[k0 + d];
            s1 += qs * keys[k0 + hd + d];
            s2 += qs * keys[k0 + 2 * hd + d];
            s3 += qs * keys[k0 + 3 * hd + d];
        }
        out[j] = s0;
        out[j + 1] = s1;
        out[j + 2] = s2;
        out[j + 3] = s3;
    }

    /** {@code sum_d a[ao + d] * b[bo + d]} for d in [0, len); also the quantized kernels' zero-point terms. */
    public static float dotArrays(float[] a, int ao, float[] b, int bo, int len) {
        FloatVector acc = FloatVector.zero(FS);
        int upper = len - len % L;
        int d = 0;
        for (; d < upper; d += L) {
            acc = FloatVector.fromArray(FS, a, ao + d).fma(FloatVector.fromArray(FS, b, bo + d), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; d < len; d++) {
            s += a[ao + d] * b[bo + d];
        }
        return s;
    }

    /**
     * {@code o[oo..oo+hd] = o * correction + sum_j p[j] * values[j]}. The output row is walked in chunks of four
     * vectors held in registers across the whole key loop, so it is loaded and stored once per tile.
     */
    private static void accumulateValues(float[] o, int oo, float correction, float[] p, int po, float[] values, int n,
            int hd) {
        int d = 0;
        for (; d + 4 * L <= hd; d += 4 * L) {
            FloatVector o0 = FloatVector.fromArray(FS, o, oo + d).mul(correction);
            FloatVector o1 = FloatVector.fromArray(FS, o, oo + d + L).mul(correction);
            FloatVector o2 = FloatVector.fromArray(FS, o, oo + d + 2 * L).mul(correction);
            FloatVector o3 = FloatVector.fromArray(FS, o, oo + d + 3 * L).mul(correction);
            for (int j = 0; j < n; j++) {
                FloatVector pj = FloatVector.broadcast(FS, p[po + j]);
                int vo = j * hd + d;
                o0 = pj.fma(FloatVector.fromArray(FS, values, vo), o0);
                o1 = pj.fma(FloatVector.fromArray(FS, values, vo + L), o1);
                o2 = pj.fma(FloatVector.fromArray(FS, values, vo + 2 * L), o2);
                o3 = pj.fma(FloatVector.fromArray(FS, values, vo + 3 * L), o3);
            }
            o0.intoArray(o, oo + d);
            o1.intoArray(o, oo + d + L);
            o2.intoArray(o, oo + d + 2 * L);
            o3.intoArray(o, oo + d + 3 * L);
        }
        for (; d + L <= hd; d += L) {
            FloatVector o0 = FloatVector.fromArray(FS, o, oo + d).mul(correction);
            for (int j = 0; j < n; j++) {
                o0 = FloatVector.broadcast(FS, p[po + j]).fma(FloatVector.fromArray(FS, values, j * hd + d), o0);
            }
            o0.intoArray(o, oo + d);
        }
        for (; d < hd; d++) {
            float acc = o[oo + d] * correction;
            for (int j = 0; j < n; j++) {
                acc += p[po + j] * values[j * hd + d];
            }
            o[oo + d] = acc;
        }
    }

    /** Writes row {@code r}'s normalised output (or zeros for a row that saw no key) to {@code out[outIndex..]}. */
    private static void finishRow(Scratch s, int r, int hd, MemorySegment out, long outIndex) {
        float inv = s.sum[r] == 0 ? 0 : 1 / s.sum[r];
        int upper = hd - hd % L;
        int d = 0;
        for (; d < upper; d += L) {
            FloatVector.fromArray(FS, s.o, r * hd + d).mul(inv).intoMemorySegment(out, 4 * (outIndex + d), LE);
        }
        for (; d < hd; d++) {
            put(out, outIndex + d, s.o[r * hd + d] * inv);
        }
    }

    private static void loadScaledQuery(Scratch s, int r, MemorySegment q, long qIndex, int hd, float scale) {
        MemorySegment.copy(q, Elements.F32, 4 * qIndex, s.q, r * hd, hd);
        int upper = hd - hd % L;
        int d = 0;
        for (; d < upper; d += L) {
            FloatVector.fromArray(FS, s.q, r * hd + d).mul(scale).intoArray(s.q, r * hd + d);
        }
        for (; d < hd; d++) {
            s.q[r * hd + d] *= scale;
        }
    }

    @Override
    public void flashAttention(MemorySegment q, int queries, MemorySegment k, MemorySegment v, int keys,
                               AttentionHeads heads, float scale, MemorySegment out) {
        ReferenceKernels.checkFlash(queries, keys);
        int hd = heads.headDim();
        int group = heads.groupSize();
        int kvHeads = heads.kvHeads();
        int qHeads = heads.qHeads();
        int qTiles = (queries + QUERY_TILE - 1) / QUERY_TILE;
        int offset = keys - queries;
        // Task = (query tile, KV head); its rows are QUERY_TILE tokens x the KV head's query group.
        pool.parallelFor(qTiles * kvHeads, 1, (t0, t1) -> {
            Scratch s = SCRATCH.get();
            for (int task = t0; task < t1; task++) {
                int tile = task / kvHeads;
                int h = task % kvHeads;
                int i0 = tile * QUERY_TILE;
                int tokens = Math.min(QUERY_TILE, queries - i0);
                int rows = tokens * group;
                s.attention(rows, hd, KEY_TILE);
                beginRows(s, rows, hd);
                for (int r = 0; r < rows; r++) {
                    int token = i0 + r / group;
                    loadScaledQuery(s, r, q, ((long) token * qHeads + h * group + r % group) * hd, hd, scale);
                }
                int lastVisible = offset + i0 + tokens; // keys [0, lastVisible) are seen by some row of the tile
                for (int j0 = 0; j0 < lastVisible; j0 += KEY_TILE) {
                    int n = Math.min(KEY_TILE, lastVisible - j0);
                    for (int j = 0; j < n; j++) {
                        long src = 4 * (((long) (j0 + j) * kvHeads + h) * hd);
                        MemorySegment.copy(k, Elements.F32, src, s.keys, j * hd, hd);
                        MemorySegment.copy(v, Elements.F32, src, s.values, j * hd, hd);
                    }
                    for (int r = 0; r < rows; r++) {
                        int visible = offset + i0 + r / group + 1 - j0;
                        attendTile(s, r, hd, Math.min(n, visible));
                    }
                }
                for (int r = 0; r < rows; r++) {
                    int token = i0 + r / group;
                    finishRow(s, r, hd, out, ((long) token * qHeads + h * group + r % group) * hd);
                }
            }
        });
    }

    /** Keys per online-softmax update in paged decode (whole paged blocks): amortises each update's max and exp. */
    static final int DECODE_KEY_TILE = 64;

    @Override
    public void pagedAttention(MemorySegment q, int seqs, PagedKvCache cache, int[][] blockTables, int[] contextLens,
                               AttentionHeads heads, float scale, MemorySegment out) {
        ReferenceKernels.checkPaged(cache, heads);
        int hd = heads.headDim();
        int group = heads.groupSize();
        int kvHeads = heads.kvHeads();
        int qHeads = heads.qHeads();
        int bs = cache.blockSize();
        ElementType type = cache.type();
        // Task = (sequence, KV head): one pass over that head's blocks serves the whole query group.
        int tile = Math.max(bs, DECODE_KEY_TILE / bs * bs);
        pool.parallelFor(seqs * kvHeads, 1, (t0, t1) -> {
            DecodeTiles d = DecodeTiles.forThread(group, hd, tile);
            for (int task = t0; task < t1; task++) {
                int seq = task / kvHeads;
                int h = task % kvHeads;
                int context = contextLens[seq];
                int[] table = blockTables[seq];
                long first = ((long) seq * qHeads + h * group) * hd;
                d.begin(q, first, scale);
                for (int tt = 0; tt < context; tt += tile) {
                    int n = Math.min(tile, context - tt);
                    for (int j = 0; j < n; j++) {
                        int t = tt + j;
                        long off = cache.offset((long) table[t / bs] * bs + t % bs, h);
                        VectorConversions.toF32(cache.keys(), off, type, d.keys(), j * hd, hd);
                        VectorConversions.toF32(cache.values(), off, type, d.values(), j * hd, hd);
                    }
                    d.attend(n);
                }
                d.finish(out, first);
            }
        });
    }

    /**
     * One thread's decode attention of the query heads that share a KV head, over key/value tiles its caller fills
     * in f32 ({@link #keys}, {@link #values}: rows of the head dim): the online softmax of {@link #pagedAttention},
     * for caches it cannot read itself (the quantized ones, {@code VectorQuantKv}). Use: {@link #begin}, then per
     * tile fill and {@link #attend}, then {@link #finish}. Backed by the thread's scratch; not shared.
     */
    public static final class DecodeTiles {
        private final Scratch s;
        private int rows;
        private int hd;

        private DecodeTiles(Scratch s) {
            this.s = s;
        }

        /** The calling thread's instance, sized for {@code group} query heads of {@code hd} and tiles of {@code tile}. */
        public static DecodeTiles forThread(int group, int hd, int tile) {
            Scratch s = SCRATCH.get();
            s.attention(group, hd, tile);
            s.groupScores(group, tile);
            if (s.decode == null) {
                s.decode = new DecodeTiles(s);
            }
            s.decode.rows = group;
            s.decode.hd = hd;
            return s.decode;
        }

        /** Starts the group whose first query row is {@code q[first * 4 ..]} (f32, {@code rows} rows of hd), scaled. */
        public void begin(MemorySegment q, long first, float scale) {
            beginRows(s, rows, hd);
            for (int g = 0; g < rows; g++) {
                loadScaledQuery(s, g, q, first + (long) g * hd, hd, scale);
            }
        }

        /** Key rows of the current tile: row j at {@code keys()[j * hd ..]}. */
        public float[] keys() {
            return s.keys;
        }

        /** Value rows of the current tile, as {@link #keys}. */
        public float[] values() {
            return s.values;
        }

        /** Folds the tile's first {@code n} keys and values (all visible) into every query head of the group. */
        public void attend(int n) {
            attendTileGroup(s, rows, hd, n);
        }

        /** Writes the group's normalised outputs to {@code out} from element {@code first} (zeros for no key). */
        public void finish(MemorySegment out, long first) {
            for (int g = 0; g < rows; g++) {
                finishRow(s, g, hd, out, first + (long) g * hd);
            }
        }
    }

    @Override
    public void kvWrite(MemorySegment k, MemorySegment v, int tokens, int[] slots, PagedKvCache cache) {
        int width = cache.kvHeads() * cache.headDim();
        for (int t = 0; t < tokens; t++) {
            if (slots[t] < 0) {
                continue;
            }
            long dst = cache.offset(slots[t], 0);
            long src = 4L * t * width;
            VectorConversions.fromF32(k, src, cache.keys(), dst, cache.type(), width);
            VectorConversions.fromF32(v, src, cache.values(), dst, cache.type(), width);
        }
    }
}
