package dev.tokc.runtime.kernels.quant;

import static dev.tokc.runtime.kernels.Elements.F32;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import dev.tokc.runtime.kernels.VectorKernels;
import dev.tokc.runtime.kernels.WorkerPool;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link QuantKernels} with the Vector API ({@link FloatVector#SPECIES_PREFERRED}: 16 lanes on AVX-512) on a
 * {@link WorkerPool}. Checked against {@link ReferenceQuantKernels} in {@code VectorQuantKernelsTest}. Three paths by
 * the number of activation rows m:
 * <ul>
 *   <li>m = 1 (decode): dequantization fused into the dot product, in registers; each thread walks its range of
 *       weight rows as pairs from the range's two halves (two distant streams, one activation load for both:
 *       {@link #channelRowPairs}, {@code int4Dot2}, {@code nf4Dot2}).</li>
 *   <li>1 &lt; m &lt; {@value #BATCHED_MIN_ROWS} (small decode batches): fused as well. int8 pairs distant weight
 *       rows against tiles of {@value #MR} activation rows ({@code channelPairTiles}); int4 and NF4 take each weight-row
 *       pair against every activation row in turn, the packed pair staying in L1; fp8 pairs distant weight rows too,
 *       each row against register tiles of {@value #MR} activation rows (the same {@code channelPairTiles}).</li>
 *   <li>m &ge; {@value #BATCHED_MIN_ROWS} (prefill, large batches): each block of 4 weight rows is dequantized once
 *       into f32 and the dense kernels' 4x4 tiles run over it ({@link #batched}).</li>
 * </ul>
 * Threads own contiguous ranges of output rows (weight rows), so each streams its own part of W.
 *
 * <p>Decoding per format, L lanes per vector:
 * <ul>
 *   <li>int8: L bytes, sign-extended and converted ({@code B2F}); the row's scale multiplies the finished sum.</li>
 *   <li>fp8 E4M3: L bytes sign-extended to int lanes; {@code (v << 20) & 0x87f00000} puts the sign at bit 31 and
 *       exponent|mantissa at bits 20..26, which read as a float is the value times 2^-120 for normal and subnormal
 *       codes alike (an e4m3 subnormal lands on an f32 subnormal with the same significand), so one multiply by
 *       2^120 finishes it, exactly. The NaN codes S.1111.111 decode as 480; the rows holding one are found once per
 *       matrix ({@link QuantizedMatrix#fp8NanRows}) and their outputs set to NaN after the product, as the reference
 *       gives, so the loops carry no NaN test (batch-1 fp8 decode +4-10 %, docs/benchmarks.md).</li>
 *   <li>int4 and NF4: L bytes hold 2L weights; the low nibbles are the even elements and the high nibbles the odd
 *       ones, so one byte load gives two vectors with a mask and a shift and no shuffle. The activations are
 *       permuted the same way once per call ("split order": each block of 2L values as its L even then L odd
 *       values), which leaves every dot product unchanged. This needs the group size to be a multiple of 2L. A row
 *       is walked in {@code g / 2L} passes, pass j over the j-th chunk of every group (see {@code int4Dot}).</li>
 *   <li>int4: {@code sum (q - z) s x = s (sum q x - z sum x)}; the per-group activation sums are computed once per
 *       call, so the inner loop is convert + FMA + one FMA by the group's scale per chunk, and the zero points cost one
 *       scalar term per group (scale and zero point read with one 4-byte load, see {@code f16}).</li>
 *   <li>NF4: the 16 levels are one 16-lane table and a code is looked up with one permute ({@code selectFrom});
 *       with 8 lanes (AVX2) the two-table form; each group's sum is scaled by its absmax.</li>
 * </ul>
 * Group-wise types whose group size is not a multiple of 2L (32 on AVX-512), and NF4 with fewer than 8 lanes,
 * take a scalar path: correct, not fast.
 */
public final class VectorQuantKernels implements QuantKernels {
    static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> IS = VectorSpecies.of(int.class, FS.vectorShape());
    static final int L = FS.length();
    /** L bytes: one byte per float lane. */
    static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class, VectorShape.forBitSize(8 * L));
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfByte I8 = ValueLayout.JAVA_BYTE;

    /**
     * Activation rows from which products take the dequantize-a-block path ({@link #batched}). Not 4: at batch 4
     * the per-format tiles decode each weight vector once anyway, and the f32 round trip made int8 decode slower
     * (TinyLlama-1.1B, 4 sequences: 47.5 tok/s with the tiles, 34.7 batched; int4 29.5 vs 31.8).
     */
    public static final int BATCHED_MIN_ROWS = 8;
    /** Activation rows per register tile. */
    static final int MR = 4;
    /** Activation bytes per row block: a quarter of a 1 MiB L2, leaving room for the weight rows and outputs. */
    static final long ACTIVATION_BLOCK_BYTES = 256 * 1024;
    /** Multiply-adds below which a product runs on one thread (a fork/join costs a few microseconds). */
    static final long MIN_PARALLEL_MACS = 1 << 16;
    /** The NF4 lookup needs one 16-lane table or two 8-lane ones. */
    static final boolean NF4_VECTOR = L == 16 || L == 8;

    /** NF4 levels as f32 bit patterns, the lookup table's contents. */
    private static final int[] NF4_BITS = new int[16];

    static {
        double[] levels = Quantizer.nf4Levels();
        for (int i = 0; i < 16; i++) {
            NF4_BITS[i] = Float.floatToRawIntBits((float) levels[i]);
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final WorkerPool pool;

    /** Kernels running on {@code pool}; the pool stays owned by the caller. */
    public VectorQuantKernels(WorkerPool pool) {
        this.pool = pool;
    }

    /** Per calling thread, grown on demand: the split-order activations and the int4 group sums. */
    private static final class Scratch {
        MemorySegment activations = MemorySegment.NULL;
        float[] groupSums = new float[0];

        /** Read by the pool's threads during one call, hence an automatic (any-thread) arena. */
        MemorySegment activations(long bytes) {
            if (activations.byteSize() < bytes) {
                activations = Arena.ofAuto().allocate(bytes, 64);
            }
            return activations;
        }

        float[] activationRows = new float[0];

        /** Heap activations for the batched path (heap loads keep their bounds checks out of the tile loops). */
        float[] activationRows(int count) {
            if (activationRows.length < count) {
                activationRows = new float[count];
            }
            return activationRows;
        }

        float[] groupSums(int count) {
            if (groupSums.length < count) {
                groupSums = new float[count];
            }
            return groupSums;
        }
    }

    /** True when {@code type} runs the vector path on this machine, false when it takes the scalar fallback. */
    public static boolean vectorized(QuantType type) {
        return switch (type.format()) {
            case INT8, FP8 -> true;
            case INT4 -> chunksPerGroupOk(type.groupSize());
            case NF4 -> NF4_VECTOR && chunksPerGroupOk(type.groupSize());
            case W4A8 -> W4A8Kernels.vectorized();
        };
    }

    /** The 4-bit kernels walk whole 2L-weight chunks of a group. */
    private static boolean chunksPerGroupOk(int g) {
        return g % (2 * L) == 0;
    }

    @Override
    public void gemm(MemorySegment x, int m, QuantizedMatrix w, MemorySegment bias, MemorySegment y) {
        QuantKernels.checkGemm(x, m, w, bias, y);
        int n = w.rows();
        int k = w.cols();
        int grain = (int) Math.max(1, Math.min(n, MIN_PARALLEL_MACS / ((long) k * m)));
        int rowBlock = (int) Math.max(MR, ACTIVATION_BLOCK_BYTES / (4L * k) / MR * MR);
        QuantType t = w.type();
        if (t.format() == QuantFormat.W4A8) { // its own layout and product, vector or scalar
            W4A8Kernels.gemm(pool, x, m, w, bias, y);
            return;
        }
        if (!vectorized(t)) {
            pool.parallelFor(n, grain, (j0, j1) -> scalarRows(x, m, w, bias, y, j0, j1));
            return;
        }
        if (m >= BATCHED_MIN_ROWS) {
            batched(x, m, w, bias, y, rowBlock);
            return;
        }
        switch (t.format()) {
            case INT8 -> pool.parallelFor(n, grain, (j0, j1) -> int8Rows(x, m, w, bias, y, j0, j1));
            case FP8 -> pool.parallelFor(n, grain, (j0, j1) -> fp8Rows(x, m, w, bias, y, j0, j1));
            case INT4 -> {
                Scratch s = SCRATCH.get();
                MemorySegment xs = splitOrder(s, x, m, k);
                int groups = k / t.groupSize();
                float[] sums = s.groupSums(m * groups);
                groupSums(x, m, k, t.groupSize(), sums);
                // The 4-row tiles read the activations from a heap array: segment loads cost C2 so many IR nodes that
                // an 8-accumulator tile hit its inlining cutoff (NodeCountInliningCutoff in -XX:+PrintInlining) and
                // ran with boxed vectors, 20x slower.
                float[] xa = m >= MR && t.groupSize() == 2 * L ? s.activationRows(m * k) : null;
                if (xa != null) {
                    MemorySegment.copy(xs, F32, 0, xa, 0, m * k);
                }
                pool.parallelFor(n, grain, (j0, j1) -> int4Rows(xs, xa, sums, m, w, bias, y, j0, j1));
            }
            case NF4 -> {
                MemorySegment xs = splitOrder(SCRATCH.get(), x, m, k);
                pool.parallelFor(n, grain, (j0, j1) -> nf4Rows(xs, m, w, bias, y, j0, j1));
            }
        }
    }

    /**
     * Batched products (prefill, large decode batches): each block of 4 weight rows is dequantized once into an f32
     * scratch array, then {@link VectorKernels#gemmWidenedBlock}'s 4x4 register tiles run over it for every
     * activation row, as the bf16 GEMM does. The per-format tiles above decode a weight vector again for every 4
     * activation rows; these decode it once per activation block, which measured ~2x faster prefill (see
     * docs/benchmarks.md). 4-bit rows decode in split order, so the activations go in split order too.
     */
    private void batched(MemorySegment x, int m, QuantizedMatrix w, MemorySegment bias, MemorySegment y, int rowBlock) {
        int n = w.rows();
        int k = w.cols();
        QuantType t = w.type();
        boolean split = t.format().groupWise();
        Scratch s = SCRATCH.get();
        float[] xa = s.activationRows(m * k);
        if (split) {
            MemorySegment.copy(splitOrder(s, x, m, k), F32, 0, xa, 0, m * k);
        } else {
            MemorySegment.copy(x, F32, 0, xa, 0, m * k);
        }
        int blocks = (n + 3) / 4;
        int grain = (int) Math.max(1, Math.min(blocks, MIN_PARALLEL_MACS / (4L * k * m)));
        pool.parallelFor(blocks, grain, (b0, b1) -> {
            float[] wf = new float[4 * k];
            for (int i0 = 0; i0 < m; i0 += rowBlock) {
                int i1 = Math.min(m, i0 + rowBlock);
                for (int b = b0; b < b1; b++) {
                    int j = 4 * b;
                    int rows = Math.min(4, n - j);
                    if (rows < 4) {
                        java.util.Arrays.fill(wf, 0f);
                    }
                    for (int r = 0; r < rows; r++) {
                        dequantizeRow(w, j + r, wf, r * k);
                    }
                    VectorKernels.gemmWidenedBlock(wf, rows, xa, i0, i1, k, y, n, j, bias);
                }
            }
        });
    }

    /** Row j of w as f32 into {@code dst[off ..]}: natural order for int8/fp8, split order for the 4-bit formats. */
    private static void dequantizeRow(QuantizedMatrix w, int j, float[] dst, int off) {
        MemorySegment d = w.data();
        int k = w.cols();
        long r = w.rowOffset(j);
        switch (w.type().format()) {
            case INT8 -> {
                float scale = d.get(F32, r);
                int upper = k - k % L;
                int l = 0;
                for (; l < upper; l += L) {
                    int8(d, r + 4 + l).mul(scale).intoArray(dst, off + l);
                }
                for (; l < k; l++) {
                    dst[off + l] = d.get(I8, r + 4 + l) * scale;
                }
            }
            case FP8 -> {
                float scale = d.get(F32, r);
                FloatVector rebias = FloatVector.broadcast(FS, 0x1p120f);
                // a row with a NaN code takes the exact scalar decode (which yields the NaN)
                int upper = w.fp8NanRows().get(j) ? 0 : k - k % L;
                int l = 0;
                for (; l < upper; l += L) {
                    fp8(bytes(d, r + 4 + l), rebias).mul(scale).intoArray(dst, off + l);
                }
                for (; l < k; l++) {
                    dst[off + l] = fp8Scalar(d, r + 4 + l) * scale;
                }
            }
            case INT4 -> {
                int g = w.type().groupSize();
                long gb = 4 + g / 2;
                for (int c = 0; c < k / g; c++) {
                    long at = r + c * gb;
                    float scale = f16(d, at);
                    FloatVector sv = FloatVector.broadcast(FS, scale);
                    FloatVector zs = FloatVector.broadcast(FS, -scale * f16(d, at + 2));
                    for (int e = 0; e < g; e += 2 * L) {
                        IntVector v = bytes(d, at + 4 + e / 2);
                        lowNibbles(v).fma(sv, zs).intoArray(dst, off + c * g + e);
                        highNibbles(v).fma(sv, zs).intoArray(dst, off + c * g + e + L);
                    }
                }
            }
            case NF4 -> {
                IntVector t0 = table0(), t1 = table1();
                int g = w.type().groupSize();
                long gb = 2 + g / 2;
                for (int c = 0; c < k / g; c++) {
                    long at = r + c * gb;
                    float absmax = f16(d, at);
                    for (int e = 0; e < g; e += 2 * L) {
                        IntVector v = bytes(d, at + 2 + e / 2);
                        nf4Low(v, t0, t1).mul(absmax).intoArray(dst, off + c * g + e);
                        nf4High(v, t0, t1).mul(absmax).intoArray(dst, off + c * g + e + L);
                    }
                }
            }
        }
    }

    /** The activations in split order (k is a multiple of 2L here: a multiple of the group size). */
    private static MemorySegment splitOrder(Scratch s, MemorySegment x, int m, int k) {
        MemorySegment xs = s.activations(4L * m * k);
        for (long base = 0; base < (long) m * k; base += 2 * L) {
            for (int i = 0; i < L; i++) {
                xs.setAtIndex(F32, base + i, x.getAtIndex(F32, base + 2 * i));
                xs.setAtIndex(F32, base + L + i, x.getAtIndex(F32, base + 2 * i + 1));
            }
        }
        return xs;
    }

    /** {@code sums[i * groups + g]} = sum of activation row i over group g (natural order; the sum is the same). */
    private static void groupSums(MemorySegment x, int m, int k, int g, float[] sums) {
        int groups = k / g;
        for (int i = 0; i < m; i++) {
            for (int c = 0; c < groups; c++) {
                long at = (long) i * k + (long) c * g;
                FloatVector a = FloatVector.zero(FS);
                int l = 0;
                for (; l + L <= g; l += L) {
                    a = a.add(FloatVector.fromMemorySegment(FS, x, 4 * (at + l), LE));
                }
                float s = a.reduceLanes(VectorOperators.ADD);
                for (; l < g; l++) {
                    s += x.getAtIndex(F32, at + l);
                }
                sums[i * groups + c] = s;
            }
        }
    }

    private static void store(MemorySegment y, long index, float sum, MemorySegment bias, int j) {
        y.setAtIndex(F32, index, bias == null ? sum : sum + bias.getAtIndex(F32, j));
    }

    private static FloatVector xv(MemorySegment x, long byteOffset) {
        return FloatVector.fromMemorySegment(FS, x, byteOffset, LE);
    }

    /** L packed bytes at {@code at}, sign-extended to int lanes. */
    static IntVector bytes(MemorySegment w, long at) {
        return (IntVector) ByteVector.fromMemorySegment(BS, w, at, LE).convertShape(VectorOperators.B2I, IS, 0);
    }

    /**
     * The f16 at byte {@code at} of a packed matrix, read as the low half of an unaligned 4-byte int: a 2-byte
     * segment load in the 4-bit loops cost more than the int load and the cast (int4 decode 28.2 -> 33.2 tok/s end to
     * end with one int load for scale and zero, TinyLlama-1.1B). Every f16 field of the 4-bit layouts is followed by
     * at least 2 more bytes of its row (the next field or the group's codes), so the wider read stays in bounds.
     */
    private static float f16(MemorySegment w, long at) {
        return Float.float16ToFloat((short) w.get(META, at));
    }

    // ---- int8 ----------------------------------------------------------------------------------------------

    // One loop per format, each calling only its own kernels: a shared loop over all formats makes C2 compile them
    // into one method over its inlining budget (the f16 GEMV in VectorKernels lost 2x that way).
    private static void int8Rows(MemorySegment x, int m, QuantizedMatrix w, MemorySegment bias, MemorySegment y,
                                 int j0, int j1) {
        if (m == 1) {
            channelRowPairs(x, w, bias, y, j0, j1, new float[2], VectorQuantKernels::int8Dot2, VectorQuantKernels::int8Dot);
        } else {
            channelPairTiles(x, m, w, bias, y, j0, j1, VectorQuantKernels::int8Tile4Pair, VectorQuantKernels::int8Dot2,
                    VectorQuantKernels::int8Dot);
        }
    }

    /**
     * One activation row (batch-1 decode) against the per-channel-scaled rows {@code [j0, j1)} of an int8 or fp8
     * matrix, walked as pairs from the range's two
     * halves ({@code j} and {@code j + half}): two independent weight streams per thread, each activation vector
     * loaded once for both. Measured against one row at a time on the 2-core Zen 5 machine (int8, 2 threads,
     * 5632x2048 and 2048x11264 from DRAM): 1.6-1.9x, from ~26 to ~42-48 GB/s median; adjacent pairs gained less on
     * the long rows (the hardware prefetcher keeps more lines in flight on two distant streams than on one).
     */
    private static void channelRowPairs(MemorySegment x, QuantizedMatrix w, MemorySegment bias, MemorySegment y,
                                        int j0, int j1, float[] out, ChannelPairDot pair, ChannelDot one) {
        MemorySegment d = w.data();
        int k = w.cols();
        int half = (j1 - j0) / 2;
        long far = half * w.rowBytes();
        for (int j = j0; j < j0 + half; j++) {
            long r = w.rowOffset(j);
            pair.dot(d, r + 4, far, x, 0, k, out);
            store(y, j, out[0] * d.get(F32, r), bias, j);
            store(y, j + half, out[1] * d.get(F32, r + far), bias, j + half);
        }
        for (int j = j0 + 2 * half; j < j1; j++) {
            long r = w.rowOffset(j);
            store(y, j, one.dot(d, r + 4, x, 0, k) * d.get(F32, r), bias, j);
        }
    }

    /**
     * A per-channel format's (int8, fp8) batch-1 pair kernel: the unscaled sums of two rows {@code far} bytes apart
     * (codes of the first at {@code q0}) against activation row 0, into {@code out[0..1]}. Called once per row
     * pair, so the interface call costs nothing next to the row's work, and the kernels stay separate methods.
     */
    @FunctionalInterface
    private interface ChannelPairDot {
        void dot(MemorySegment w, long q0, long far, MemorySegment x, long x0, int k, float[] out);
    }

    /** A per-channel format's one-row kernel: the unscaled sum of the row whose codes start at {@code q0}. */
    @FunctionalInterface
    private interface ChannelDot {
        float dot(MemorySegment w, long q0, MemorySegment x, long x0, int k);
    }

    /**
     * A per-channel format's pair tile: two rows {@code far} bytes apart against {@value #MR} activation rows
     * {@code xStride} bytes apart, unscaled sums of row A into {@code out[0..MR)} and row B into {@code out[MR..2MR)}.
     */
    @FunctionalInterface
    private interface ChannelPairTile {
        void tile(MemorySegment w, long q0, long far, MemorySegment x, long x0, long xStride, int k, float[] out);
    }

    /**
     * Small decode batches of a per-channel format (1 &lt; m &lt; {@value #BATCHED_MIN_ROWS}, all in one activation
     * block): weight rows in pairs from the range's two halves as at m = 1 (two streams per thread), each pair
     * against tiles of {@value #MR} activation rows, then the activation rows left over against the pair, then an
     * odd last weight row alone. One weight row at a time against every activation row read one stream per thread:
     * fp8 at batch 2 ran 23 tok/s that way, 37 in pairs (TinyLlama).
     */
    private static void channelPairTiles(MemorySegment x, int m, QuantizedMatrix w, MemorySegment bias,
                                         MemorySegment y, int j0, int j1, ChannelPairTile tile, ChannelPairDot pair,
                                         ChannelDot one) {
        int n = w.rows();
        int k = w.cols();
        MemorySegment d = w.data();
        float[] out = new float[2 * MR];
        int half = (j1 - j0) / 2;
        long far = half * w.rowBytes();
        for (int j = j0; j < j0 + half; j++) {
            long r = w.rowOffset(j);
            float scaleA = d.get(F32, r);
            float scaleB = d.get(F32, r + far);
            int i = 0;
            for (; i + MR <= m; i += MR) {
                tile.tile(d, r + 4, far, x, 4L * i * k, 4L * k, k, out);
                for (int t = 0; t < MR; t++) {
                    store(y, (long) (i + t) * n + j, out[t] * scaleA, bias, j);
                    store(y, (long) (i + t) * n + j + half, out[MR + t] * scaleB, bias, j + half);
                }
            }
            for (; i < m; i++) {
                pair.dot(d, r + 4, far, x, 4L * i * k, k, out);
                store(y, (long) i * n + j, out[0] * scaleA, bias, j);
                store(y, (long) i * n + j + half, out[1] * scaleB, bias, j + half);
            }
        }
        for (int j = j0 + 2 * half; j < j1; j++) {
            long r = w.rowOffset(j);
            float scale = d.get(F32, r);
            for (int i = 0; i < m; i++) {
                store(y, (long) i * n + j, one.dot(d, r + 4, x, 4L * i * k, k) * scale, bias, j);
            }
        }
    }

    /**
     * Two int8 rows {@code far} bytes apart against 4 activation rows {@code xStride} bytes apart: every decoded
     * vector feeds 4 FMAs. Unscaled sums: row A's to {@code out[0..3]}, row B's to {@code out[4..7]}.
     */
    private static void int8Tile4Pair(MemorySegment w, long q0, long far, MemorySegment x, long x0, long xStride, int k,
                                      float[] out) {
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), a2 = FloatVector.zero(FS), a3 = FloatVector.zero(FS);
        FloatVector b0 = FloatVector.zero(FS), b1 = FloatVector.zero(FS), b2 = FloatVector.zero(FS), b3 = FloatVector.zero(FS);
        int upper = k - k % L;
        int l = 0;
        for (; l < upper; l += L) {
            FloatVector va = int8(w, q0 + l);
            FloatVector vb = int8(w, q0 + far + l);
            long xo = x0 + 4L * l;
            FloatVector x0v = xv(x, xo);
            a0 = va.fma(x0v, a0);
            b0 = vb.fma(x0v, b0);
            FloatVector x1v = xv(x, xo + xStride);
            a1 = va.fma(x1v, a1);
            b1 = vb.fma(x1v, b1);
            FloatVector x2v = xv(x, xo + 2 * xStride);
            a2 = va.fma(x2v, a2);
            b2 = vb.fma(x2v, b2);
            FloatVector x3v = xv(x, xo + 3 * xStride);
            a3 = va.fma(x3v, a3);
            b3 = vb.fma(x3v, b3);
        }
        float[] s = {a0.reduceLanes(VectorOperators.ADD), a1.reduceLanes(VectorOperators.ADD),
                a2.reduceLanes(VectorOperators.ADD), a3.reduceLanes(VectorOperators.ADD),
                b0.reduceLanes(VectorOperators.ADD), b1.reduceLanes(VectorOperators.ADD),
                b2.reduceLanes(VectorOperators.ADD), b3.reduceLanes(VectorOperators.ADD)};
        for (; l < k; l++) {
            float qa = w.get(I8, q0 + l);
            float qb = w.get(I8, q0 + far + l);
            for (int t = 0; t < MR; t++) {
                float xl = x.get(F32, x0 + 4L * l + t * xStride);
                s[t] += qa * xl;
                s[MR + t] += qb * xl;
            }
        }
        System.arraycopy(s, 0, out, 0, 2 * MR);
    }

    /** Two int8 rows {@code far} bytes apart (codes of the first at {@code q0}) against the activation row at byte {@code x0}. */
    private static void int8Dot2(MemorySegment w, long q0, long far, MemorySegment x, long x0, int k, float[] out) {
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), b0 = FloatVector.zero(FS), b1 = FloatVector.zero(FS);
        int upper2 = k - k % (2 * L);
        int l = 0;
        for (; l < upper2; l += 2 * L) {
            long wo = q0 + l;
            long xo = x0 + 4L * l;
            FloatVector xa = xv(x, xo);
            FloatVector xb = xv(x, xo + 4L * L);
            a0 = int8(w, wo).fma(xa, a0);
            b0 = int8(w, wo + far).fma(xa, b0);
            a1 = int8(w, wo + L).fma(xb, a1);
            b1 = int8(w, wo + far + L).fma(xb, b1);
        }
        float sa = a0.add(a1).reduceLanes(VectorOperators.ADD);
        float sb = b0.add(b1).reduceLanes(VectorOperators.ADD);
        for (; l < k; l++) {
            float xl = x.get(F32, x0 + 4L * l);
            sa += w.get(I8, q0 + l) * xl;
            sb += w.get(I8, q0 + far + l) * xl;
        }
        out[0] = sa;
        out[1] = sb;
    }

    static FloatVector int8(MemorySegment w, long at) {
        return (FloatVector) ByteVector.fromMemorySegment(BS, w, at, LE).convertShape(VectorOperators.B2F, FS, 0);
    }

    /** One int8 row (codes at {@code q0}) against one activation row: the unscaled sum of q * x. */
    private static float int8Dot(MemorySegment w, long q0, MemorySegment x, long x0, int k) {
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), a2 = FloatVector.zero(FS), a3 = FloatVector.zero(FS);
        int upper4 = k - k % (4 * L);
        int l = 0;
        for (; l < upper4; l += 4 * L) {
            // Offsets in long arithmetic throughout: an int sum such as (l + L) might overflow as far as C2 knows,
            // which keeps a bounds check on every activation load inside the loop (measured: ~10 instructions per
            // 16 weights instead of ~4).
            long wo = q0 + l;
            long xo = x0 + 4L * l;
            a0 = int8(w, wo).fma(xv(x, xo), a0);
            a1 = int8(w, wo + L).fma(xv(x, xo + 4L * L), a1);
            a2 = int8(w, wo + 2L * L).fma(xv(x, xo + 8L * L), a2);
            a3 = int8(w, wo + 3L * L).fma(xv(x, xo + 12L * L), a3);
        }
        int upper = k - k % L;
        for (; l < upper; l += L) {
            a0 = int8(w, q0 + l).fma(xv(x, x0 + 4L * l), a0);
        }
        float s = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        for (; l < k; l++) {
            s += w.get(I8, q0 + l) * x.get(F32, x0 + 4L * l);
        }
        return s;
    }

    // ---- fp8 E4M3 ------------------------------------------------------------------------------------------

    private static void fp8Rows(MemorySegment x, int m, QuantizedMatrix w, MemorySegment bias, MemorySegment y,
                                int j0, int j1) {
        if (m == 1) {
            channelRowPairs(x, w, bias, y, j0, j1, new float[2], VectorQuantKernels::fp8Dot2, VectorQuantKernels::fp8Dot);
        } else {
            channelPairTiles(x, m, w, bias, y, j0, j1, VectorQuantKernels::fp8Tile4Pair, VectorQuantKernels::fp8Dot2,
                    VectorQuantKernels::fp8Dot);
        }
        nanRows(w, m, y, j0, j1);
    }

    /**
     * Outputs of the fp8 rows in {@code [j0, j1)} that hold a NaN code set to NaN, as the reference computes them:
     * the vector decode reads such a code as 480, so the kernels leave NaN to this pass over the matrix's NaN rows
     * (found once, {@link QuantizedMatrix#fp8NanRows}) instead of testing every vector.
     */
    private static void nanRows(QuantizedMatrix w, int m, MemorySegment y, int j0, int j1) {
        java.util.BitSet nan = w.fp8NanRows();
        for (int j = nan.nextSetBit(j0); j >= 0 && j < j1; j = nan.nextSetBit(j + 1)) {
            for (int i = 0; i < m; i++) {
                y.setAtIndex(F32, (long) i * w.rows() + j, Float.NaN);
            }
        }
    }

    /**
     * E4M3 codes (sign-extended int lanes) to their values, NaN codes to 480 (see {@link #nanRows}); see the class
     * comment. {@code rebias} is 2^120 in every lane, broadcast once by the caller: a scalar {@code mul} here was left
     * boxed by C2 (measured 10-100x slower).
     */
    static FloatVector fp8(IntVector v, FloatVector rebias) {
        return v.lanewise(VectorOperators.LSHL, 20).and(0x87f0_0000).reinterpretAsFloats().mul(rebias);
    }

    private static float fp8Scalar(MemorySegment w, long at) {
        return (float) Quantizer.decodeE4M3(w.get(I8, at));
    }

    /**
     * One fp8 row against one activation row: the unscaled sum (a NaN code counts as 480; {@link #nanRows}). Two
     * accumulators, not four as for int8: with four, the method outgrew C2's node-count inlining cutoff, a vector load
     * helper was left as a call returning a boxed vector, and the GEMV ran 10x slower (measured).
     */
    private static float fp8Dot(MemorySegment w, long q0, MemorySegment x, long x0, int k) {
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS);
        FloatVector rebias = FloatVector.broadcast(FS, 0x1p120f);
        int upper2 = k - k % (2 * L);
        int l = 0;
        for (; l < upper2; l += 2 * L) {
            IntVector v0 = bytes(w, q0 + l), v1 = bytes(w, q0 + l + L);
            a0 = fp8(v0, rebias).fma(xv(x, x0 + 4L * l), a0);
            a1 = fp8(v1, rebias).fma(xv(x, x0 + 4L * l + 4L * L), a1);
        }
        int upper = k - k % L;
        for (; l < upper; l += L) {
            a0 = fp8(bytes(w, q0 + l), rebias).fma(xv(x, x0 + 4L * l), a0);
        }
        float s = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; l < k; l++) {
            s += fp8Scalar(w, q0 + l) * x.get(F32, x0 + 4L * l);
        }
        return s;
    }

    /** Two fp8 rows {@code far} bytes apart against the activation row at {@code x0}, as {@link #int8Dot2}. */
    private static void fp8Dot2(MemorySegment w, long q0, long far, MemorySegment x, long x0, int k, float[] out) {
        // One chunk of each row per iteration: the two-chunk form of fp8Dot, doubled, crossed C2's inlining node
        // budget and left the decode boxed (measured 4x slower than one row at a time end to end).
        FloatVector a = FloatVector.zero(FS), b = FloatVector.zero(FS);
        FloatVector rebias = FloatVector.broadcast(FS, 0x1p120f);
        int upper = k - k % L;
        int l = 0;
        for (; l < upper; l += L) {
            long wo = q0 + l;
            FloatVector xl = xv(x, x0 + 4L * l);
            a = fp8(bytes(w, wo), rebias).fma(xl, a);
            b = fp8(bytes(w, wo + far), rebias).fma(xl, b);
        }
        float sa = a.reduceLanes(VectorOperators.ADD);
        float sb = b.reduceLanes(VectorOperators.ADD);
        for (; l < k; l++) {
            float xl = x.get(F32, x0 + 4L * l);
            sa += fp8Scalar(w, q0 + l) * xl;
            sb += fp8Scalar(w, q0 + far + l) * xl;
        }
        out[0] = sa;
        out[1] = sb;
    }

    /**
     * Two fp8 rows against {@value #MR} activation rows, as {@link #int8Tile4Pair}: one {@link #fp8Tile4} per row (a
     * tile over both rows at once has 8 accumulators, past what fp8's decode fits in C2's inlining budget).
     */
    private static void fp8Tile4Pair(MemorySegment w, long q0, long far, MemorySegment x, long x0, long xStride, int k,
                                     float[] out) {
        fp8Tile4(w, q0, x, x0, xStride, k, out, 0);
        fp8Tile4(w, q0 + far, x, x0, xStride, k, out, MR);
    }

    /** One fp8 row against {@value #MR} activation rows: unscaled sums into {@code out[at..at + MR)}. */
    private static void fp8Tile4(MemorySegment w, long q0, MemorySegment x, long x0, long xStride, int k, float[] out,
                                 int at) {
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), a2 = FloatVector.zero(FS), a3 = FloatVector.zero(FS);
        FloatVector rebias = FloatVector.broadcast(FS, 0x1p120f);
        int upper = k - k % L;
        int l = 0;
        for (; l < upper; l += L) {
            FloatVector v = fp8(bytes(w, q0 + l), rebias);
            long xo = x0 + 4L * l;
            a0 = v.fma(xv(x, xo), a0);
            a1 = v.fma(xv(x, xo + xStride), a1);
            a2 = v.fma(xv(x, xo + 2 * xStride), a2);
            a3 = v.fma(xv(x, xo + 3 * xStride), a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; l < k; l++) {
            float q = fp8Scalar(w, q0 + l);
            long xo = x0 + 4L * l;
            s0 += q * x.get(F32, xo);
            s1 += q * x.get(F32, xo + xStride);
            s2 += q * x.get(F32, xo + 2 * xStride);
            s3 += q * x.get(F32, xo + 3 * xStride);
        }
        out[at] = s0;
        out[at + 1] = s1;
        out[at + 2] = s2;
        out[at + 3] = s3;
    }

    // ---- int4, group-wise asymmetric -------------------------------------------------------------------------

    /**
     * int4 products below {@value #BATCHED_MIN_ROWS} activation rows (decode): weight rows in pairs from the range's
     * two halves, as {@link #channelRowPairs}, each pair against every activation row in turn (the two packed rows
     * stay in L1 meanwhile). This replaced 4-row register tiles over one weight row, which C2 compiled badly
     * (TinyLlama-1.1B int4 g32 at batch 4: 5.5 tok/s with the tiles, 36.1 with pairs; batch 2 20.2 -> 33.9).
     */
    private static void int4Rows(MemorySegment xs, float[] xa, float[] sums, int m, QuantizedMatrix w,
                                 MemorySegment bias, MemorySegment y, int j0, int j1) {
        int n = w.rows();
        int k = w.cols();
        int g = w.type().groupSize();
        int groups = k / g;
        MemorySegment d = w.data();
        float[] out = new float[2 * MR];
        float[] zeros = xa != null ? new float[2 * groups] : null;
        int half = (j1 - j0) / 2;
        long far = half * w.rowBytes();
        for (int j = j0; j < j0 + half; j++) {
            long r = w.rowOffset(j);
            int i = 0;
            if (xa != null) {
                // s_g z_g of both rows, for the zero-point terms of every tile
                for (int c = 0; c < groups; c++) {
                    zeros[c] = f16(d, r + 20L * c) * f16(d, r + 20L * c + 2);
                    zeros[groups + c] = f16(d, r + far + 20L * c) * f16(d, r + far + 20L * c + 2);
                }
                for (; i + MR <= m; i += MR) {
                    int4PairTile4(d, r, far, groups, xa, i * k, k, out);
                    for (int t = 0; t < MR; t++) {
                        float za = VectorKernels.dotArrays(zeros, 0, sums, (i + t) * groups, groups);
                        float zb = VectorKernels.dotArrays(zeros, groups, sums, (i + t) * groups, groups);
                        store(y, (long) (i + t) * n + j, out[t] - za, bias, j);
                        store(y, (long) (i + t) * n + j + half, out[MR + t] - zb, bias, j + half);
                    }
                }
            }
            for (; i < m; i++) {
                int4Dot2(d, r, far, g, groups, xs, 4L * i * k, sums, i * groups, out);
                store(y, (long) i * n + j, out[0], bias, j);
                store(y, (long) i * n + j + half, out[1], bias, j + half);
            }
        }
        for (int j = j0 + 2 * half; j < j1; j++) {
            for (int i = 0; i < m; i++) {
                store(y, (long) i * n + j, int4Dot(d, w.rowOffset(j), g, groups, xs, 4L * i * k, sums, i * groups),
                        bias, j);
            }
        }
    }

    /**
     * Two int4 g32 rows {@code far} bytes apart (the first at {@code r}; one 16-byte chunk per group on 16 lanes)
     * against 4 split-order activation rows of the heap array {@code x} ({@code xStride} floats apart, the first at
     * {@code x0}): each decoded chunk feeds 4 activation rows, 8 accumulators. Writes {@code sum_g s_g sum q x} per
     * (weight row, activation row), row A's to {@code out[0..3]} and row B's to {@code out[4..7]}; the caller
     * subtracts the zero-point terms. Measured at batch 4 (TinyLlama-1.1B int4 g32): ~2.7x cheaper than the pair
     * kernel once per activation row.
     */
    private static void int4PairTile4(MemorySegment w, long r, long far, int groups, float[] x, int x0, int xStride,
                                      float[] out) {
        FloatVector a0 = FloatVector.zero(FS), a1 = FloatVector.zero(FS), a2 = FloatVector.zero(FS), a3 = FloatVector.zero(FS);
        FloatVector b0 = FloatVector.zero(FS), b1 = FloatVector.zero(FS), b2 = FloatVector.zero(FS), b3 = FloatVector.zero(FS);
        for (int c = 0; c < groups; c++) {
            long at = r + 20L * c;
            IntVector va = bytes(w, at + 4);
            IntVector vb = bytes(w, at + far + 4);
            FloatVector loA = lowNibbles(va), hiA = highNibbles(va);
            FloatVector loB = lowNibbles(vb), hiB = highNibbles(vb);
            FloatVector sa = FloatVector.broadcast(FS, f16(w, at));
            FloatVector sb = FloatVector.broadcast(FS, f16(w, at + far));
            int xo = x0 + 2 * L * c;
            FloatVector xe = FloatVector.fromArray(FS, x, xo), xd = FloatVector.fromArray(FS, x, xo + L);
            a0 = loA.fma(xe, hiA.mul(xd)).fma(sa, a0);
            b0 = loB.fma(xe, hiB.mul(xd)).fma(sb, b0);
            xe = FloatVector.fromArray(FS, x, xo + xStride);
            xd = FloatVector.fromArray(FS, x, xo + xStride + L);
            a1 = loA.fma(xe, hiA.mul(xd)).fma(sa, a1);
            b1 = loB.fma(xe, hiB.mul(xd)).fma(sb, b1);
            xe = FloatVector.fromArray(FS, x, xo + 2 * xStride);
            xd = FloatVector.fromArray(FS, x, xo + 2 * xStride + L);
            a2 = loA.fma(xe, hiA.mul(xd)).fma(sa, a2);
            b2 = loB.fma(xe, hiB.mul(xd)).fma(sb, b2);
            xe = FloatVector.fromArray(FS, x, xo + 3 * xStride);
            xd = FloatVector.fromArray(FS, x, xo + 3 * xStride + L);
            a3 = loA.fma(xe, hiA.mul(xd)).fma(sa, a3);
            b3 = loB.fma(xe, hiB.mul(xd)).fma(sb, b3);
        }
        out[0] = a0.reduceLanes(VectorOperators.ADD);
        out[1] = a1.reduceLanes(VectorOperators.ADD);
        out[2] = a2.reduceLanes(VectorOperators.ADD);
        out[3] = a3.reduceLanes(VectorOperators.ADD);
        out[4] = b0.reduceLanes(VectorOperators.ADD);
        out[5] = b1.reduceLanes(VectorOperators.ADD);
        out[6] = b2.reduceLanes(VectorOperators.ADD);
        out[7] = b3.reduceLanes(VectorOperators.ADD);
    }

    /** Low nibbles (even elements) of L bytes as floats. */
    private static FloatVector lowNibbles(IntVector v) {
        return (FloatVector) v.and(0xf).convert(VectorOperators.I2F, 0);
    }

    /** High nibbles (odd elements) of L sign-extended bytes as floats. */
    private static FloatVector highNibbles(IntVector v) {
        return (FloatVector) v.lanewise(VectorOperators.LSHR, 4).and(0xf).convert(VectorOperators.I2F, 0);
    }

    /**
     * One int4 row at {@code r} against one split-order activation row: {@code sum_g s_g (sum q x - z_g sum_g x)}.
     * The row is walked as {@code g / 2L} passes, pass j taking the j-th 2L-weight chunk of every group: each pass is
     * a long loop whose addresses are linear in the group index, so C2 hoists the segment bounds checks out of it.
     * A loop over groups around a loop over a group's 1-4 chunks measured 3x slower (entry, exit and checks per
     * group), and so did one flat loop over chunks that computed each chunk's group (non-linear addresses). The
     * packed row (at most a few KiB) stays in L1 between passes. Two accumulators take alternate groups, so the
     * scale FMAs do not wait on each other.
     */
    private static float int4Dot(MemorySegment w, long r, int g, int groups, MemorySegment x, long x0,
                                 float[] sums, int s0) {
        FloatVector acc0 = FloatVector.zero(FS), acc1 = FloatVector.zero(FS);
        long gb = 4 + g / 2;
        long xg = 4L * g;
        // Pass 0 also accumulates the zero-point terms: scalar work the core overlaps with the vector work of the
        // same iterations (a separate scalar pass measured ~20% slower for int4g32).
        float zeroTerm = 0;
        for (int j = 0; j < g / (2 * L); j++) {
            long q = r + 4 + (long) j * L;
            long xj = x0 + 8L * L * j;
            boolean first = j == 0;
            int c = 0;
            for (; c + 1 < groups; c += 2) {
                long at = r + c * gb;
                IntVector v0 = bytes(w, q + c * gb);
                IntVector v1 = bytes(w, q + c * gb + gb);
                long xo = xj + c * xg;
                float sc0 = f16(w, at);
                float sc1 = f16(w, at + gb);
                FloatVector t0 = lowNibbles(v0).fma(xv(x, xo), highNibbles(v0).mul(xv(x, xo + 4L * L)));
                FloatVector t1 = lowNibbles(v1).fma(xv(x, xo + xg), highNibbles(v1).mul(xv(x, xo + xg + 4L * L)));
                acc0 = t0.fma(FloatVector.broadcast(FS, sc0), acc0);
                acc1 = t1.fma(FloatVector.broadcast(FS, sc1), acc1);
                if (first) {
                    zeroTerm += sc0 * f16(w, at + 2) * sums[s0 + c] + sc1 * f16(w, at + gb + 2) * sums[s0 + c + 1];
                }
            }
            if (c < groups) {
                long at = r + c * gb;
                IntVector v = bytes(w, q + c * gb);
                long xo = xj + c * xg;
                float sc = f16(w, at);
                FloatVector t = lowNibbles(v).fma(xv(x, xo), highNibbles(v).mul(xv(x, xo + 4L * L)));
                acc0 = t.fma(FloatVector.broadcast(FS, sc), acc0);
                if (first) {
                    zeroTerm += sc * f16(w, at + 2) * sums[s0 + c];
                }
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD) - zeroTerm;
    }

    /**
     * Two int4 rows {@code far} bytes apart (the first at {@code r}) against activation row 0, in the passes of
     * {@link #int4Dot}, one group of each row per iteration; each activation vector is loaded once for both rows.
     * Writes the two finished sums (zero-point terms subtracted) to {@code out[0]} and {@code out[1]}.
     */
    private static void int4Dot2(MemorySegment w, long r, long far, int g, int groups, MemorySegment x, long x0,
                                 float[] sums, int s0, float[] out) {
        FloatVector acc0 = FloatVector.zero(FS), acc1 = FloatVector.zero(FS);
        long gb = 4 + g / 2;
        long xg = 4L * g;
        float zero0 = 0;
        float zero1 = 0;
        for (int j = 0; j < g / (2 * L); j++) {
            long q = r + 4 + (long) j * L;
            long xj = x0 + 8L * L * j;
            boolean first = j == 0;
            for (int c = 0; c < groups; c++) {
                long at = r + c * gb;
                IntVector v0 = bytes(w, q + c * gb);
                IntVector v1 = bytes(w, q + c * gb + far);
                long xo = xj + c * xg;
                FloatVector xe = xv(x, xo);
                FloatVector xd = xv(x, xo + 4L * L);
                int meta0 = w.get(META, at); // f16 scale | f16 zero << 16
                int meta1 = w.get(META, at + far);
                float sc0 = Float.float16ToFloat((short) meta0);
                float sc1 = Float.float16ToFloat((short) meta1);
                FloatVector t0 = lowNibbles(v0).fma(xe, highNibbles(v0).mul(xd));
                FloatVector t1 = lowNibbles(v1).fma(xe, highNibbles(v1).mul(xd));
                acc0 = t0.fma(FloatVector.broadcast(FS, sc0), acc0);
                acc1 = t1.fma(FloatVector.broadcast(FS, sc1), acc1);
                if (first) {
                    float sum = sums[s0 + c];
                    zero0 += sc0 * Float.float16ToFloat((short) (meta0 >>> 16)) * sum;
                    zero1 += sc1 * Float.float16ToFloat((short) (meta1 >>> 16)) * sum;
                }
            }
        }
        out[0] = acc0.reduceLanes(VectorOperators.ADD) - zero0;
        out[1] = acc1.reduceLanes(VectorOperators.ADD) - zero1;
    }

    /** A group's f16 scale (low half) and f16 zero point (high half), read as one little-endian int. */
    private static final ValueLayout.OfInt META = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);

    // ---- NF4 -----------------------------------------------------------------------------------------------

    /** NF4 products below {@value #BATCHED_MIN_ROWS} activation rows: weight row pairs, as {@link #int4Rows}. */
    private static void nf4Rows(MemorySegment xs, int m, QuantizedMatrix w, MemorySegment bias, MemorySegment y,
                                int j0, int j1) {
        int n = w.rows();
        int k = w.cols();
        int g = w.type().groupSize();
        int groups = k / g;
        MemorySegment d = w.data();
        float[] out = new float[2];
        int half = (j1 - j0) / 2;
        long far = half * w.rowBytes();
        for (int j = j0; j < j0 + half; j++) {
            for (int i = 0; i < m; i++) {
                nf4Dot2(d, w.rowOffset(j), far, g, groups, xs, 4L * i * k, out);
                store(y, (long) i * n + j, out[0], bias, j);
                store(y, (long) i * n + j + half, out[1], bias, j + half);
            }
        }
        for (int j = j0 + 2 * half; j < j1; j++) {
            for (int i = 0; i < m; i++) {
                store(y, (long) i * n + j, nf4Dot(d, w.rowOffset(j), g, groups, xs, 4L * i * k), bias, j);
            }
        }
    }

    /** The NF4 levels of 4-bit codes (int lanes in [0, 16)); {@code t1} is read only with 8 lanes. */
    private static FloatVector nf4(IntVector codes, IntVector t0, IntVector t1) {
        return (L == 16 ? codes.selectFrom(t0) : codes.selectFrom(t0, t1)).reinterpretAsFloats();
    }

    // The tables are loaded per call rather than held in static final vectors: a static final vector feeding a
    // loop kept C2 from keeping it in a register in VectorKernels (measured there, 10x on the GEMV).
    private static IntVector table0() {
        return IntVector.fromArray(IS, NF4_BITS, 0);
    }

    private static IntVector table1() {
        return L == 16 ? IntVector.fromArray(IS, NF4_BITS, 0) : IntVector.fromArray(IS, NF4_BITS, 8);
    }

    /** The NF4 levels of the low (even) and high (odd) nibbles of a chunk's L bytes. */
    private static FloatVector nf4Low(IntVector v, IntVector t0, IntVector t1) {
        return nf4(v.and(0xf), t0, t1);
    }

    private static FloatVector nf4High(IntVector v, IntVector t0, IntVector t1) {
        return nf4(v.lanewise(VectorOperators.LSHR, 4).and(0xf), t0, t1);
    }

    /** One NF4 row against one split-order activation row: passes and two accumulators, as in int4Dot. */
    private static float nf4Dot(MemorySegment w, long r, int g, int groups, MemorySegment x, long x0) {
        IntVector t0 = table0(), t1 = table1();
        FloatVector acc0 = FloatVector.zero(FS), acc1 = FloatVector.zero(FS);
        long gb = 2 + g / 2;
        long xg = 4L * g;
        for (int j = 0; j < g / (2 * L); j++) {
            long q = r + 2 + (long) j * L;
            long xj = x0 + 8L * L * j;
            int c = 0;
            for (; c + 1 < groups; c += 2) {
                long at = r + c * gb;
                IntVector v0 = bytes(w, q + c * gb);
                IntVector v1 = bytes(w, q + c * gb + gb);
                long xo = xj + c * xg;
                FloatVector p0 = nf4Low(v0, t0, t1).fma(xv(x, xo), nf4High(v0, t0, t1).mul(xv(x, xo + 4L * L)));
                FloatVector p1 = nf4Low(v1, t0, t1).fma(xv(x, xo + xg), nf4High(v1, t0, t1).mul(xv(x, xo + xg + 4L * L)));
                acc0 = p0.fma(FloatVector.broadcast(FS, f16(w, at)), acc0);
                acc1 = p1.fma(FloatVector.broadcast(FS, f16(w, at + gb)), acc1);
            }
            if (c < groups) {
                IntVector v = bytes(w, q + c * gb);
                long xo = xj + c * xg;
                FloatVector p = nf4Low(v, t0, t1).fma(xv(x, xo), nf4High(v, t0, t1).mul(xv(x, xo + 4L * L)));
                acc0 = p.fma(FloatVector.broadcast(FS, f16(w, r + c * gb)), acc0);
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    /** Two NF4 rows {@code far} bytes apart against activation row 0, as {@link #int4Dot2}. */
    private static void nf4Dot2(MemorySegment w, long r, long far, int g, int groups, MemorySegment x, long x0,
                                float[] out) {
        IntVector t0 = table0(), t1 = table1();
        FloatVector acc0 = FloatVector.zero(FS), acc1 = FloatVector.zero(FS);
        long gb = 2 + g / 2;
        long xg = 4L * g;
        for (int j = 0; j < g / (2 * L); j++) {
            long q = r + 2 + (long) j * L;
            long xj = x0 + 8L * L * j;
            for (int c = 0; c < groups; c++) {
                long at = r + c * gb;
                IntVector v0 = bytes(w, q + c * gb);
                IntVector v1 = bytes(w, q + c * gb + far);
                long xo = xj + c * xg;
                FloatVector xe = xv(x, xo);
                FloatVector xd = xv(x, xo + 4L * L);
                FloatVector p0 = nf4Low(v0, t0, t1).fma(xe, nf4High(v0, t0, t1).mul(xd));
                FloatVector p1 = nf4Low(v1, t0, t1).fma(xe, nf4High(v1, t0, t1).mul(xd));
                acc0 = p0.fma(FloatVector.broadcast(FS, f16(w, at)), acc0);
                acc1 = p1.fma(FloatVector.broadcast(FS, f16(w, at + far)), acc1);
            }
        }
        out[0] = acc0.reduceLanes(VectorOperators.ADD);
        out[1] = acc1.reduceLanes(VectorOperators.ADD);
    }

    // ---- scalar fallback -----------------------------------------------------------------------------------

    /** Rows of a type without a vector path: dequantize element by element, accumulate in float64. */
    private static void scalarRows(MemorySegment x, int m, QuantizedMatrix w, MemorySegment bias, MemorySegment y,
                                   int j0, int j1) {
        int n = w.rows();
        int k = w.cols();
        double[] row = new double[k];
        for (int j = j0; j < j1; j++) {
            Quantizer.dequantizeRow(w, j, row);
            for (int i = 0; i < m; i++) {
                double s = 0;
                for (int c = 0; c < k; c++) {
                    s += x.getAtIndex(F32, (long) i * k + c) * row[c];
                }
                store(y, (long) i * n + j, (float) s, bias, j);
            }
        }
    }

    /** {@link QuantKernels#gatherKv} with the vector decodes of {@link VectorQuantKv}, positions split over the pool. */
    @Override
    public void gatherKv(QuantKvCache cache, int[] table, int ctx, MemorySegment k, MemorySegment v) {
        VectorQuantKv.gather(pool, cache, table, ctx, k, v);
    }

    /** Quantized-KV decode attention on this pool ({@link VectorQuantKv}). */
    @Override
    public void pagedAttention(MemorySegment q, int rows, QuantKvCache cache, int[][] blockTables, int[] contextLens,
            dev.tokc.runtime.kernels.AttentionHeads heads, float scale, MemorySegment out) {
        VectorQuantKv.attention(pool, q, rows, cache, blockTables, contextLens, heads, scale, out);
    }
}
