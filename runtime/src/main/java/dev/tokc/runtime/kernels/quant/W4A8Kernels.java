package dev.tokc.runtime.kernels.quant;

import static dev.tokc.runtime.kernels.Elements.F32;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import dev.tokc.runtime.kernels.WorkerPool;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The W4A8 product ({@link W4A8}) with the Vector API: {@code y[m, n] = A8(x)[m, k] . W[n, k]^T (+ bias)}, in
 * integers up to one conversion per row block and activation block. Checked against {@link ReferenceQuantKernels}
 * in {@code VectorQuantKernelsTest}; {@link VectorQuantKernels} routes W4A8 matrices here.
 *
 * <p>Per call the activation rows are quantized once ({@link #quantizeActivations}, the vector form of
 * {@link W4A8#quantizeActivations}), with per row and weight group the zero points' multiplier
 * {@code D_g = sum_{b in g} d_b A_b}, and rewritten as the step codes the kernels multiply ({@link #stepCodes}).
 * Then each thread takes runs of blocks of 32 weight rows. One loop walks an activation row's k against one block
 * in 16-bit lanes, two lanes per weight row (even lanes k = 8j..8j+3, odd lanes 8j+4..8j+7): per step of 8 k one
 * 64-byte load from each code stream (rows 0..15 and 16..31) as 32 shorts v, and per stream the products
 * {@code v c0 + (v >>> 4) c1 + (v >>> 8) c2 + (v >>> 12) c3} (no mask, no subtraction: see {@link #stepCodes}),
 * each c a 32-bit broadcast of two activation codes (a load, no shuffle), summed as a tree. A lane's 16-bit sum
 * over its half of activation block b is exact (see {@link W4A8}); at the block's end a row's two lanes are summed
 * in 32 bits (the low and high halves of an int lane, with shifts), converted once, scaled by d_b and summed over
 * the group, and the group finishes in f32 with its metadata (f16 scales widened with a shift and a multiply, zero
 * points converted from bytes; the shift-and-2^112 trick is {@code VectorConversions.f16ToFloat}'s, without its
 * sign, infinity and NaN handling, which the layout rules out: {@link W4A8#interleave} writes finite scales >= 0):
 * {@code y += s_g (sum_b d_b T_b - (z_g - 8) D_g)}. Activation rows go in tiles of 2 that share each weight vector
 * ({@link #tile2}); an odd last one alone ({@link #row1}). Against the previous form (one 32-byte load per stream
 * and step widened byte to short, one byte per row holding two codes, 16-bit broadcasts): 22 vector operations per
 * 256 weights instead of 32, none of them a shuffle; +20 % from L2 and L3 (docs/benchmarks.md, "W4A8, third pass").
 *
 * <p>What the loop shape is for (each measured, docs/benchmarks.md "W4A8"): a 512-bit add's latency here is two
 * cycles, so the step's four products go into the running sum as a tree (one dependent add per step), not as a
 * chain of four (8 cycles per step in an assembly loop, 3.5 as a tree); one loop per row and block, not one per
 * activation block, because C2 sets up its range-check elimination (pre-, main and post-loop, ~80 scalar
 * instructions) at every entry to a loop, which an 8-step loop paid per 8 steps; the shift count is a vector, since
 * C2 re-materialises a scalar shift count before every shift of an unrolled loop. Every vector expression is written
 * out inline, no helper methods (in an engine C2 once left a load helper out of line, returning boxed vectors: 58 %
 * of a decode step went to that call), so that the metadata decode fits in the same compiled method under C2's
 * inlining node budget: decoded in a separate pass into a heap array, as an earlier version had to, it was read as
 * bursts from DRAM and cost a quarter of the batch-1 throughput. A 4-row tile did not fit the budget in an earlier
 * loop shape (3x slower than rows one by one) and in a later one ran no faster than two tiles of 2, hence tiles of 2.
 *
 * <p>The kernels above need 512-bit vectors (32 short lanes, AVX-512BW). With 256-bit vectors (AVX2) each step's
 * 64-byte loads are taken as two halves of 8 rows ({@link #row1Narrow}, rows one at a time); without either,
 * {@link #gemm} runs a scalar loop over the same integers ({@link #scalarRow}, ~0.5 G weights/s: a fallback, not a
 * kernel). {@link #path} picks one.
 */
final class W4A8Kernels {
    private W4A8Kernels() {}

    private static final VectorSpecies<Short> SS = ShortVector.SPECIES_512;
    private static final VectorSpecies<Byte> B32 = ByteVector.SPECIES_256;
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_512;
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_512;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int R = W4A8.ROWS;
    private static final int B = W4A8.BLOCK;
    /** Multiply-adds below which a product runs on one thread. */
    private static final long MIN_PARALLEL_MACS = 1 << 16;

    /** Which loop runs the product: 512-bit vectors, 256-bit vectors, or scalar code. */
    enum Path { WIDE, NARROW, SCALAR }

    /** This machine's path: by the lanes of its preferred short species (32: WIDE, 16: NARROW). */
    static Path path() {
        int lanes = ShortVector.SPECIES_PREFERRED.length();
        return lanes >= R ? Path.WIDE : lanes >= R / 2 ? Path.NARROW : Path.SCALAR;
    }

    /** True when this machine runs a vector kernel. */
    static boolean vectorized() {
        return path() != Path.SCALAR;
    }

    private static final VectorSpecies<Short> SS16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Integer> IS8 = IntVector.SPECIES_256;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;

    /**
     * The quantized activations of one call: codes (int8 values in shorts), block scales d_b and block code sums
     * A_b, per row and weight group the zero points' multiplier {@code sum_{b in g} d_b A_b}, and for the vector
     * kernels (null on the scalar path) the step codes and per block the start of its 16-bit sums
     * ({@link #stepCodes}).
     */
    private record Activations(short[] codes, float[] scales, int[] sums, float[] zeroTerms, int[] stepCodes,
            int[] blockStarts) {}

    /** Per pool thread: the output tile, reused across calls. */
    private static final class Scratch {
        final float[] out = new float[2 * R];
        /** The calling thread's activation buffers for decode-sized calls ({@link #activations}). */
        short[] codes = new short[0];
        float[] scales = new float[0], zeroTerms = new float[0];
        int[] sums = new int[0], stepCodes = new int[0], blockStarts = new int[0];

        /**
         * Buffers for one call's quantized activations: reused for decode-sized calls (a step makes one call per
         * projection, ~90 on TinyLlama, each of which allocated ~25 KB), fresh for prefill-sized ones so that a
         * thread does not keep megabytes. Every array but {@code zeroTerms} is fully written by the quantizer.
         */
        Activations activations(int m, int k, int g, boolean vector) {
            int n = m * k;
            if (n > REUSE_MAX) {
                return new Activations(new short[n], new float[n / B], new int[n / B], new float[n / g],
                        vector ? new int[n / 2] : null, vector ? new int[n / B] : null);
            }
            if (codes.length < n) {
                codes = new short[n];
                stepCodes = new int[n / 2];
                scales = new float[n / B];
                sums = new int[n / B];
                blockStarts = new int[n / B];
                zeroTerms = new float[n / 32];
            }
            java.util.Arrays.fill(zeroTerms, 0, n / g, 0f);
            return new Activations(codes, scales, sums, zeroTerms, vector ? stepCodes : null, vector ? blockStarts : null);
        }
    }

    /** Activation values per call up to which the calling thread's buffers are reused. */
    private static final int REUSE_MAX = 1 << 16;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    static void gemm(WorkerPool pool, MemorySegment x, int m, QuantizedMatrix w, MemorySegment bias, MemorySegment y) {
        gemm(pool, x, m, w, bias, y, path());
    }

    /** {@link #gemm} on the given path (tests run all three here). */
    static void gemm(WorkerPool pool, MemorySegment x, int m, QuantizedMatrix w, MemorySegment bias, MemorySegment y,
            Path path) {
        boolean vector = path != Path.SCALAR;
        int n = w.rows();
        int k = w.cols();
        int g = w.type().groupSize();
        Activations a = SCRATCH.get().activations(m, k, g, vector);
        if (m >= VectorQuantKernels.BATCHED_MIN_ROWS) {
            pool.parallelFor(m, 1, (r0, r1) -> quantize(x, k, g, r0, r1, a, path));
        } else {
            quantize(x, k, g, 0, m, a, path);
        }
        int blocks = Math.ceilDiv(n, R);
        int grain = (int) Math.max(1, Math.min(blocks, MIN_PARALLEL_MACS / ((long) R * k * m)));
        W4A8.Geometry geo = new W4A8.Geometry(n, k, g);
        long streams = geo.streamBytes();
        pool.parallelForFrontLoaded(blocks, grain, (b0, b1) -> {
            Scratch scratch = SCRATCH.get();
            float[] out = scratch.out;
            if (path != Path.WIDE) {
                for (int b = b0; b < b1; b++) {
                    long base = geo.stepOffset(b, 0, 0), meta = geo.metaOffset(b, 0);
                    for (int i = 0; i < m; i++) {
                        if (path == Path.NARROW) {
                            row1Narrow(w.data(), base, streams, meta, k, g, a, i, out);
                        } else {
                            scalarRow(w.data(), geo, b, a, i, out);
                        }
                        store(out, 1, i, b, n, bias, y);
                    }
                }
                return;
            }
            for (int b = b0; b < b1; b++) {
                long base = geo.stepOffset(b, 0, 0), meta = geo.metaOffset(b, 0);
                int i = 0;
                for (; i + 2 <= m; i += 2) {
                    tile2(w.data(), base, streams, meta, k, g, a, i, out);
                    store(out, 2, i, b, n, bias, y);
                }
                for (; i < m; i++) {
                    row1(w.data(), base, streams, meta, k, g, a, i, out);
                    store(out, 1, i, b, n, bias, y);
                }
            }
        });
    }

    private static void quantize(MemorySegment x, int k, int g, int r0, int r1, Activations a, Path path) {
        if (path == Path.WIDE) { // the vector quantizer is written for 512-bit vectors
            quantizeActivations(x, k, r0, r1, a.codes, a.scales, a.sums);
        } else {
            byte[] codes = new byte[r1 * k]; // the definition writes bytes; the kernels read shorts
            W4A8.quantizeActivations(x, k, r0, r1, codes, a.scales, a.sums);
            for (int i = r0 * k; i < r1 * k; i++) {
                a.codes[i] = codes[i];
            }
        }
        for (int b = r0 * k / B; b < r1 * k / B; b++) {
            a.zeroTerms[b / (g / B)] += a.scales[b] * a.sums[b];
        }
        if (path == Path.WIDE) {
            stepCodesWide(a.codes, r0 * k, r1 * k, a.stepCodes, a.blockStarts);
        } else if (path == Path.NARROW) {
            stepCodes(a.codes, r0 * k, r1 * k, a.stepCodes, a.blockStarts);
        }
    }

    /**
     * The activation codes as the vector kernels multiply them. A weight word v holds four codes,
     * {@code v = q0 + 16 q1 + 256 q2 + 4096 q3} ({@link W4A8}), so with logical shifts
     * {@code v a0 + (v >>> 4)(a1 - 16 a0) + (v >>> 8)(a2 - 16 a1) + (v >>> 12)(a3 - 16 a2) = q0 a0 + q1 a1 + q2 a2 + q3 a3}:
     * the codes are stored as those differences (|.| <= 2159), and the kernels need no mask and no subtraction per
     * weight. The zero offset's {@code -8 sum a} is one constant per block and lane parity where its 16-bit sum
     * starts ({@code blockStarts}). The partial sums may wrap in 16 bits; products and additions are exact modulo 2^16
     * and each lane's total {@code sum (q - 8) a} over its 16 k of the block fits in 16 bits (see {@link W4A8}), so
     * the wrapped sum is that total exactly.
     *
     * <p>Stored as the loop steps through them: per step of 8 k, four ints, int p holding in its low half the code
     * for the even lanes (k = 8j + p) and in its high half the one for the odd lanes (8j + 4 + p), so that one 32-bit
     * broadcast feeds a multiply of both; per block the low half of {@code blockStarts} starts the even lanes, the
     * high half the odd ones.
     */
    static void stepCodes(short[] codes, int from, int to, int[] stepCodes, int[] blockStarts) {
        for (int blockStart = from; blockStart < to; blockStart += B) {
            int even = 0, odd = 0;
            for (int e = blockStart; e < blockStart + B; e += 8) { // one step: k = e .. e+7
                for (int p = 0; p < 4; p++) {
                    int lo = codes[e + p] - (p == 0 ? 0 : 16 * codes[e + p - 1]);
                    int hi = codes[e + 4 + p] - (p == 0 ? 0 : 16 * codes[e + 3 + p]);
                    stepCodes[e / 2 + p] = (lo & 0xffff) | hi << 16;
                    even += codes[e + p];
                    odd += codes[e + 4 + p];
                }
            }
            blockStarts[blockStart / B] = (-8 * even & 0xffff) | (-8 * odd) << 16;
        }
    }

    /** Lane i takes code i - 1 (lane 0 takes lane 31, which {@link #NOT_FIRST_OF_FOUR} discards). */
    private static final VectorShuffle<Short> PREVIOUS = VectorShuffle.fromOp(SS, i -> (i + 31) % 32);
    /** Lanes whose difference uses the previous code: p = k mod 4 is not 0. */
    private static final VectorMask<Short> NOT_FIRST_OF_FOUR = VectorMask.fromLong(SS, 0xEEEEEEEEL);
    /** Lanes read by the even 16-bit lanes of the product: k mod 8 below 4. */
    private static final VectorMask<Short> EVEN_LANE_CODES = VectorMask.fromLong(SS, 0x0F0F0F0FL);
    /** Step order: in each step of 8, shorts (p, 4 + p) for p = 0..3, so that int p holds both halves. */
    private static final VectorShuffle<Short> STEP_ORDER = VectorShuffle.fromOp(SS,
            i -> i / 8 * 8 + (i % 8) / 2 + 4 * (i % 2));

    /**
     * {@link #stepCodes} with 512-bit vectors, a block of 32 codes per iteration, the same ints (W4A8Test checks
     * it): the differences are one shuffle, shift and masked subtraction, the step order one more shuffle. It runs on
     * the calling thread alone before the product starts; for k = 5632 the scalar loop took 5.7-8.3 us and this one
     * 0.75 us, which is ~0.3 ms of a TinyLlama decode step (88 calls).
     */
    static void stepCodesWide(short[] codes, int from, int to, int[] stepCodes, int[] blockStarts) {
        for (int at = from; at < to; at += B) {
            ShortVector c = ShortVector.fromArray(SS, codes, at);
            ShortVector previous = c.rearrange(PREVIOUS).lanewise(VectorOperators.LSHL, 4);
            c.sub(previous, NOT_FIRST_OF_FOUR).rearrange(STEP_ORDER).reinterpretAsInts().intoArray(stepCodes, at / 2);
            // |sum| <= 16 x 127: exact in 16 bits
            int even = c.reduceLanes(VectorOperators.ADD, EVEN_LANE_CODES);
            int odd = c.reduceLanes(VectorOperators.ADD, EVEN_LANE_CODES.not());
            blockStarts[at / B] = (-8 * even & 0xffff) | (-8 * odd) << 16;
        }
    }

    /**
     * {@link W4A8#quantizeActivations} with vectors, the same codes, scales and sums bit for bit (W4A8Test checks
     * it): the division is the same IEEE division; {@code Math.round} (nearest, ties up) is a truncating conversion
     * corrected by the exact remainder {@code q - trunc(q)}: +1 when it is at least 1/2, -1 when it is below -1/2.
     */
    static void quantizeActivations(MemorySegment x, int k, int r0, int r1, short[] codes, float[] scales, int[] sums) {
        int blocks = k / B;
        for (int r = r0; r < r1; r++) {
            for (int b = 0; b < blocks; b++) {
                long at = (long) r * k + (long) b * B;
                FloatVector v0 = FloatVector.fromMemorySegment(FS, x, 4 * at, LE);
                FloatVector v1 = FloatVector.fromMemorySegment(FS, x, 4 * at + 64, LE);
                float max = v0.abs().max(v1.abs()).reduceLanes(VectorOperators.MAX);
                float d = max / 127f;
                int sum = 0;
                if (d != 0) {
                    IntVector c0 = roundClamped(v0.div(d));
                    IntVector c1 = roundClamped(v1.div(d));
                    ((ShortVector) c0.convertShape(VectorOperators.I2S, ShortVector.SPECIES_256, 0))
                            .intoArray(codes, (int) at);
                    ((ShortVector) c1.convertShape(VectorOperators.I2S, ShortVector.SPECIES_256, 0))
                            .intoArray(codes, (int) at + 16);
                    sum = c0.add(c1).reduceLanes(VectorOperators.ADD);
                } else {
                    java.util.Arrays.fill(codes, (int) at, (int) at + B, (short) 0);
                }
                scales[r * blocks + b] = d;
                sums[r * blocks + b] = sum;
            }
        }
    }

    /** {@code clamp(Math.round(q), -127, 127)} per lane (NaN gives 0, as Math.round does). */
    private static IntVector roundClamped(FloatVector q) {
        IntVector t = (IntVector) q.convert(VectorOperators.F2I, 0);
        FloatVector frac = q.sub((FloatVector) t.convert(VectorOperators.I2F, 0));
        t = t.add(1, frac.compare(VectorOperators.GE, 0.5f).cast(IS))
                .sub(1, frac.compare(VectorOperators.LT, -0.5f).cast(IS));
        return t.max(-127).min(127);
    }

    /** {@code out[t * 32 + lane]} for activation rows i0 .. i0 + rows - 1 into y, with the bias, real rows only. */
    private static void store(float[] out, int rows, int i0, int block, int n, MemorySegment bias, MemorySegment y) {
        int j0 = block * R;
        int lanes = Math.min(R, n - j0);
        for (int t = 0; t < rows; t++) {
            long at = (long) (i0 + t) * n + j0;
            for (int r = 0; r < lanes; r++) {
                float v = out[t * R + r];
                y.setAtIndex(F32, at + r, bias == null ? v : v + bias.getAtIndex(F32, j0 + r));
            }
        }
    }

    /**
     * One activation row i against the 32 weight rows of one block (rows 0..15 from {@code base} in stream 0, rows
     * 16..31 {@code streams} bytes further; group metadata at {@code metaBase}) into out[0, 32).
     */
    private static void row1(MemorySegment w, long base, long streams, long metaBase, int k, int g, Activations a,
            int i, float[] out) {
        int[] codes = a.stepCodes;
        ShortVector four = ShortVector.broadcast(SS, (short) 4), eight = ShortVector.broadcast(SS, (short) 8);
        ShortVector twelve = ShortVector.broadcast(SS, (short) 12);
        IntVector sixteen = IntVector.broadcast(IS, 16), three = IntVector.broadcast(IS, 3);
        IntVector thirteen = IntVector.broadcast(IS, 13);
        FloatVector acc0 = FloatVector.zero(FS), acc1 = FloatVector.zero(FS);
        FloatVector f0 = FloatVector.zero(FS), f1 = FloatVector.zero(FS);
        int xb = i * (k / B), xc = i * (k / 2);
        int blocks = k / B, blocksPerGroup = g / B, zBase = i * (k / g);
        int inGroup = 0, c = 0; // counters, not divisions (C2 emitted three idiv per block end for them)
        ShortVector t0 = IntVector.broadcast(IS, a.blockStarts[xb]).reinterpretAsShorts(), t1 = t0;
        long cb1 = base + streams;
        // One loop over the row (not one per block): C2's range-check elimination then sets up once per row, not
        // once per block.
        for (int j = 0; j < k / 8; j++) {
            long o = (long) j * 2 * R;
            ShortVector v = ShortVector.fromMemorySegment(SS, w, base + o, LE); // rows 0..15
            ShortVector u = ShortVector.fromMemorySegment(SS, w, cb1 + o, LE); // rows 16..31
            int e = xc + 4 * j;
            ShortVector c0 = IntVector.broadcast(IS, codes[e]).reinterpretAsShorts();
            ShortVector c1 = IntVector.broadcast(IS, codes[e + 1]).reinterpretAsShorts();
            ShortVector c2 = IntVector.broadcast(IS, codes[e + 2]).reinterpretAsShorts();
            ShortVector c3 = IntVector.broadcast(IS, codes[e + 3]).reinterpretAsShorts();
            t0 = t0.add(v.mul(c0).add(v.lanewise(VectorOperators.LSHR, four).mul(c1))
                    .add(v.lanewise(VectorOperators.LSHR, eight).mul(c2).add(v.lanewise(VectorOperators.LSHR, twelve).mul(c3))));
            t1 = t1.add(u.mul(c0).add(u.lanewise(VectorOperators.LSHR, four).mul(c1))
                    .add(u.lanewise(VectorOperators.LSHR, eight).mul(c2).add(u.lanewise(VectorOperators.LSHR, twelve).mul(c3))));
            if ((j & 3) == 3) { // the end of activation block s: a row's two 16-bit lanes summed, to f32
                // (w + (w << 16)) >> 16 is the sum of an int lane's halves: it fits 16 bits (the block's sum)
                int s = j >> 2;
                float d = a.scales[xb + s];
                IntVector w0 = t0.reinterpretAsInts(), w1 = t1.reinterpretAsInts();
                f0 = ((FloatVector) w0.add(w0.lanewise(VectorOperators.LSHL, sixteen))
                        .lanewise(VectorOperators.ASHR, sixteen).convert(VectorOperators.I2F, 0)).mul(d).add(f0);
                f1 = ((FloatVector) w1.add(w1.lanewise(VectorOperators.LSHL, sixteen))
                        .lanewise(VectorOperators.ASHR, sixteen).convert(VectorOperators.I2F, 0)).mul(d).add(f1);
                t0 = IntVector.broadcast(IS, s + 1 < blocks ? a.blockStarts[xb + s + 1] : 0).reinterpretAsShorts();
                t1 = t0;
                if (++inGroup == blocksPerGroup) { // and of group c: f16 scales and zero points split with shifts
                    inGroup = 0;
                    float zt = -a.zeroTerms[zBase + c];
                    long at = metaBase + c * W4A8.META_BYTES;
                    IntVector sb = IntVector.fromMemorySegment(IS, w, at, LE); // int l: rows l (low half), l + 16
                    IntVector zb = ((ShortVector) ByteVector.fromMemorySegment(B32, w, at + 2L * R, LE)
                            .convertShape(VectorOperators.B2S, SS, 0)).reinterpretAsInts();
                    FloatVector s0 = sb.lanewise(VectorOperators.LSHL, sixteen).lanewise(VectorOperators.LSHR, three)
                            .reinterpretAsFloats().mul(0x1p112f);
                    FloatVector s1 = sb.lanewise(VectorOperators.LSHR, sixteen).lanewise(VectorOperators.LSHL, thirteen)
                            .reinterpretAsFloats().mul(0x1p112f);
                    FloatVector z0 = (FloatVector) zb.lanewise(VectorOperators.LSHL, sixteen)
                            .lanewise(VectorOperators.ASHR, sixteen).convert(VectorOperators.I2F, 0);
                    FloatVector z1 = (FloatVector) zb.lanewise(VectorOperators.ASHR, sixteen).convert(VectorOperators.I2F, 0);
                    acc0 = z0.mul(zt).add(f0).fma(s0, acc0);
                    acc1 = z1.mul(zt).add(f1).fma(s1, acc1);
                    f0 = FloatVector.zero(FS);
                    f1 = FloatVector.zero(FS);
                    c++;
                }
            }
        }
        acc0.intoArray(out, 0);
        acc1.intoArray(out, 16);
    }

    /**
     * Activation rows i0 and i0 + 1 against one block (as {@link #row1}), each weight vector serving both: out[0, 32)
     * for row i0, out[32, 64) for i0 + 1. Two rows, not four: a 4-row tile pushed C2 past its inlining node budget
     * (NodeCountInliningCutoff) and ran 3x slower than one row at a time.
     */
    private static void tile2(MemorySegment w, long base, long streams, long metaBase, int k, int g,
            Activations a, int i0, float[] out) {
        int[] codes = a.stepCodes;
        ShortVector four = ShortVector.broadcast(SS, (short) 4), eight = ShortVector.broadcast(SS, (short) 8);
        ShortVector twelve = ShortVector.broadcast(SS, (short) 12);
        FloatVector a00 = FloatVector.zero(FS), a01 = a00, a10 = a00, a11 = a00;
        FloatVector f00 = a00, f01 = a00, f10 = a00, f11 = a00;
        int groups = k / g, blocks = k / B, xb0 = i0 * blocks, xb1 = xb0 + blocks, blocksPerGroup = g / B;
        int xc0 = i0 * (k / 2), xc1 = xc0 + k / 2;
        int zt = i0 * groups; // the zero-point terms of row i0's current group (row i0 + 1: zt + groups)
        int inGroup = 0, c = 0; // as in row1
        ShortVector t00 = IntVector.broadcast(IS, a.blockStarts[xb0]).reinterpretAsShorts(), t01 = t00;
        ShortVector t10 = IntVector.broadcast(IS, a.blockStarts[xb1]).reinterpretAsShorts(), t11 = t10;
        long cb1 = base + streams;
        for (int j = 0; j < k / 8; j++) { // as in row1
            long o = (long) j * 2 * R;
            ShortVector v = ShortVector.fromMemorySegment(SS, w, base + o, LE);
            ShortVector u = ShortVector.fromMemorySegment(SS, w, cb1 + o, LE);
            ShortVector v1 = v.lanewise(VectorOperators.LSHR, four), v2 = v.lanewise(VectorOperators.LSHR, eight);
            ShortVector v3 = v.lanewise(VectorOperators.LSHR, twelve), u1 = u.lanewise(VectorOperators.LSHR, four);
            ShortVector u2 = u.lanewise(VectorOperators.LSHR, eight), u3 = u.lanewise(VectorOperators.LSHR, twelve);
            int e0 = xc0 + 4 * j, e1 = xc1 + 4 * j;
            ShortVector c0 = IntVector.broadcast(IS, codes[e0]).reinterpretAsShorts();
            ShortVector c1 = IntVector.broadcast(IS, codes[e0 + 1]).reinterpretAsShorts();
            ShortVector c2 = IntVector.broadcast(IS, codes[e0 + 2]).reinterpretAsShorts();
            ShortVector c3 = IntVector.broadcast(IS, codes[e0 + 3]).reinterpretAsShorts();
            t00 = t00.add(v.mul(c0).add(v1.mul(c1)).add(v2.mul(c2).add(v3.mul(c3))));
            t01 = t01.add(u.mul(c0).add(u1.mul(c1)).add(u2.mul(c2).add(u3.mul(c3))));
            c0 = IntVector.broadcast(IS, codes[e1]).reinterpretAsShorts();
            c1 = IntVector.broadcast(IS, codes[e1 + 1]).reinterpretAsShorts();
            c2 = IntVector.broadcast(IS, codes[e1 + 2]).reinterpretAsShorts();
            c3 = IntVector.broadcast(IS, codes[e1 + 3]).reinterpretAsShorts();
            t10 = t10.add(v.mul(c0).add(v1.mul(c1)).add(v2.mul(c2).add(v3.mul(c3))));
            t11 = t11.add(u.mul(c0).add(u1.mul(c1)).add(u2.mul(c2).add(u3.mul(c3))));
            if ((j & 3) == 3) {
                int s = j >> 2;
                float d0 = a.scales[xb0 + s], d1 = a.scales[xb1 + s];
                IntVector w00 = t00.reinterpretAsInts(), w01 = t01.reinterpretAsInts();
                IntVector w10 = t10.reinterpretAsInts(), w11 = t11.reinterpretAsInts();
                f00 = ((FloatVector) w00.add(w00.lanewise(VectorOperators.LSHL, 16))
                        .lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(d0).add(f00);
                f01 = ((FloatVector) w01.add(w01.lanewise(VectorOperators.LSHL, 16))
                        .lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(d0).add(f01);
                f10 = ((FloatVector) w10.add(w10.lanewise(VectorOperators.LSHL, 16))
                        .lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(d1).add(f10);
                f11 = ((FloatVector) w11.add(w11.lanewise(VectorOperators.LSHL, 16))
                        .lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).mul(d1).add(f11);
                boolean more = s + 1 < blocks;
                t00 = IntVector.broadcast(IS, more ? a.blockStarts[xb0 + s + 1] : 0).reinterpretAsShorts();
                t01 = t00;
                t10 = IntVector.broadcast(IS, more ? a.blockStarts[xb1 + s + 1] : 0).reinterpretAsShorts();
                t11 = t10;
                if (++inGroup == blocksPerGroup) {
                    inGroup = 0;
                    // the group metadata as in row1, written out again on purpose (see the class comment)
                    long at = metaBase + c * W4A8.META_BYTES;
                    IntVector sb = IntVector.fromMemorySegment(IS, w, at, LE); // int l: rows l (low half), l + 16
                    IntVector zb = ((ShortVector) ByteVector.fromMemorySegment(B32, w, at + 2L * R, LE)
                            .convertShape(VectorOperators.B2S, SS, 0)).reinterpretAsInts();
                    FloatVector s0 = sb.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.LSHR, 3)
                            .reinterpretAsFloats().mul(0x1p112f);
                    FloatVector s1 = sb.lanewise(VectorOperators.LSHR, 16).lanewise(VectorOperators.LSHL, 13)
                            .reinterpretAsFloats().mul(0x1p112f);
                    FloatVector z0 = (FloatVector) zb.lanewise(VectorOperators.LSHL, 16)
                            .lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
                    FloatVector z1 = (FloatVector) zb.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
                    a00 = z0.mul(-a.zeroTerms[zt]).add(f00).fma(s0, a00);
                    a01 = z1.mul(-a.zeroTerms[zt]).add(f01).fma(s1, a01);
                    a10 = z0.mul(-a.zeroTerms[zt + groups]).add(f10).fma(s0, a10);
                    a11 = z1.mul(-a.zeroTerms[zt + groups]).add(f11).fma(s1, a11);
                    f00 = FloatVector.zero(FS);
                    f01 = f00;
                    f10 = f00;
                    f11 = f00;
                    c++;
                    zt++;
                }
            }
        }
        a00.intoArray(out, 0);
        a01.intoArray(out, 16);
        a10.intoArray(out, 32);
        a11.intoArray(out, 48);
    }

    /**
     * {@link #row1} with 256-bit vectors (AVX2): each 64-byte step of a stream is two loads of 8 rows (lanes 2i and
     * 2i + 1 of a load are row i, as in the wide loop), so four 16-bit accumulators (rows 0-7, 8-15, 16-23, 24-31);
     * the metadata's 32-bit lanes hold rows l and l + 16 as there, in two loads of 8. Same integers, same order of
     * the f32 sums; out[0, 32) in row order. Shift counts are constants here, not vectors: AVX2 has no per-lane
     * 16-bit shift (vpsrlvw is AVX-512), and with vector counts this loop ran 6x slower than the 512-bit one.
     */
    private static void row1Narrow(MemorySegment w, long base, long streams, long metaBase, int k, int g,
            Activations a, int i, float[] out) {
        int[] codes = a.stepCodes;
        FloatVector acc0 = FloatVector.zero(FloatVector.SPECIES_256), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        FloatVector f0 = acc0, f1 = acc0, f2 = acc0, f3 = acc0;
        int xb = i * (k / B), xc = i * (k / 2);
        int blocks = k / B, blocksPerGroup = g / B, zBase = i * (k / g);
        int inGroup = 0, c = 0;
        ShortVector t0 = IntVector.broadcast(IS8, a.blockStarts[xb]).reinterpretAsShorts(), t1 = t0, t2 = t0, t3 = t0;
        long cb1 = base + streams;
        for (int j = 0; j < k / 8; j++) {
            long o = (long) j * 2 * R;
            ShortVector v0 = ShortVector.fromMemorySegment(SS16, w, base + o, LE); // rows 0..7
            ShortVector v1 = ShortVector.fromMemorySegment(SS16, w, base + o + R, LE); // rows 8..15
            ShortVector u0 = ShortVector.fromMemorySegment(SS16, w, cb1 + o, LE); // rows 16..23
            ShortVector u1 = ShortVector.fromMemorySegment(SS16, w, cb1 + o + R, LE); // rows 24..31
            int e = xc + 4 * j;
            ShortVector c0 = IntVector.broadcast(IS8, codes[e]).reinterpretAsShorts();
            ShortVector c1 = IntVector.broadcast(IS8, codes[e + 1]).reinterpretAsShorts();
            ShortVector c2 = IntVector.broadcast(IS8, codes[e + 2]).reinterpretAsShorts();
            ShortVector c3 = IntVector.broadcast(IS8, codes[e + 3]).reinterpretAsShorts();
            t0 = t0.add(v0.mul(c0).add(v0.lanewise(VectorOperators.LSHR, 4).mul(c1))
                    .add(v0.lanewise(VectorOperators.LSHR, 8).mul(c2).add(v0.lanewise(VectorOperators.LSHR, 12).mul(c3))));
            t1 = t1.add(v1.mul(c0).add(v1.lanewise(VectorOperators.LSHR, 4).mul(c1))
                    .add(v1.lanewise(VectorOperators.LSHR, 8).mul(c2).add(v1.lanewise(VectorOperators.LSHR, 12).mul(c3))));
            t2 = t2.add(u0.mul(c0).add(u0.lanewise(VectorOperators.LSHR, 4).mul(c1))
                    .add(u0.lanewise(VectorOperators.LSHR, 8).mul(c2).add(u0.lanewise(VectorOperators.LSHR, 12).mul(c3))));
            t3 = t3.add(u1.mul(c0).add(u1.lanewise(VectorOperators.LSHR, 4).mul(c1))
                    .add(u1.lanewise(VectorOperators.LSHR, 8).mul(c2).add(u1.lanewise(VectorOperators.LSHR, 12).mul(c3))));
            if ((j & 3) == 3) { // as in row1
                int s = j >> 2;
                float d = a.scales[xb + s];
                IntVector w0 = t0.reinterpretAsInts(), w1 = t1.reinterpretAsInts();
                IntVector w2 = t2.reinterpretAsInts(), w3 = t3.reinterpretAsInts();
                f0 = ((FloatVector) w0.add(w0.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                        .convert(VectorOperators.I2F, 0)).mul(d).add(f0);
                f1 = ((FloatVector) w1.add(w1.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                        .convert(VectorOperators.I2F, 0)).mul(d).add(f1);
                f2 = ((FloatVector) w2.add(w2.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                        .convert(VectorOperators.I2F, 0)).mul(d).add(f2);
                f3 = ((FloatVector) w3.add(w3.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                        .convert(VectorOperators.I2F, 0)).mul(d).add(f3);
                t0 = IntVector.broadcast(IS8, s + 1 < blocks ? a.blockStarts[xb + s + 1] : 0).reinterpretAsShorts();
                t1 = t0;
                t2 = t0;
                t3 = t0;
                if (++inGroup == blocksPerGroup) {
                    inGroup = 0;
                    float zt = -a.zeroTerms[zBase + c];
                    long at = metaBase + c * W4A8.META_BYTES;
                    // int l of the first load: rows l (low half) and l + 16, l = 0..7; of the second: l = 8..15
                    IntVector sa = IntVector.fromMemorySegment(IS8, w, at, LE);
                    IntVector sb = IntVector.fromMemorySegment(IS8, w, at + R, LE);
                    IntVector za = ((ShortVector) ByteVector.fromMemorySegment(B16, w, at + 2L * R, LE)
                            .convertShape(VectorOperators.B2S, SS16, 0)).reinterpretAsInts();
                    IntVector zb = ((ShortVector) ByteVector.fromMemorySegment(B16, w, at + 2L * R + 16, LE)
                            .convertShape(VectorOperators.B2S, SS16, 0)).reinterpretAsInts();
                    acc0 = ((FloatVector) za.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                            .convert(VectorOperators.I2F, 0)).mul(zt).add(f0).fma(sa.lanewise(VectorOperators.LSHL, 16)
                            .lanewise(VectorOperators.LSHR, 3).reinterpretAsFloats().mul(0x1p112f), acc0);
                    acc1 = ((FloatVector) zb.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                            .convert(VectorOperators.I2F, 0)).mul(zt).add(f1).fma(sb.lanewise(VectorOperators.LSHL, 16)
                            .lanewise(VectorOperators.LSHR, 3).reinterpretAsFloats().mul(0x1p112f), acc1);
                    acc2 = ((FloatVector) za.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                            .mul(zt).add(f2).fma(sa.lanewise(VectorOperators.LSHR, 16).lanewise(VectorOperators.LSHL, 13)
                            .reinterpretAsFloats().mul(0x1p112f), acc2);
                    acc3 = ((FloatVector) zb.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                            .mul(zt).add(f3).fma(sb.lanewise(VectorOperators.LSHR, 16).lanewise(VectorOperators.LSHL, 13)
                            .reinterpretAsFloats().mul(0x1p112f), acc3);
                    f0 = FloatVector.zero(FloatVector.SPECIES_256);
                    f1 = f0;
                    f2 = f0;
                    f3 = f0;
                    c++;
                }
            }
        }
        acc0.intoArray(out, 0);
        acc1.intoArray(out, 8);
        acc2.intoArray(out, 16);
        acc3.intoArray(out, 24);
    }

    /** {@link #row1} in scalar code, for machines without 512-bit vectors: the same integer sums. */
    private static void scalarRow(MemorySegment w, W4A8.Geometry geo, int b, Activations a, int i, float[] out) {
        int k = geo.cols();
        int g = geo.g();
        for (int lane = 0; lane < R; lane++) {
            float acc = 0;
            for (int c = 0; c < geo.groups(); c++) {
                long at = geo.metaOffset(b, c);
                float scale = Float.float16ToFloat(w.get(ValueLayout.JAVA_SHORT_UNALIGNED, at + 2L * W4A8.metaIndex(lane)));
                int z = w.get(ValueLayout.JAVA_BYTE, at + 2L * R + W4A8.metaIndex(lane));
                float f = 0;
                for (int sub = 0; sub < g / B; sub++) {
                    int x0 = i * k + c * g + sub * B;
                    int t = 0;
                    for (int e = 0; e < B; e++) {
                        t += (W4A8.code(w, geo, b, lane, c * g + sub * B + e) - 8) * a.codes[x0 + e];
                    }
                    int blk = x0 / B;
                    f += a.scales[blk] * (float) (t - z * a.sums[blk]);
                }
                acc += scale * f;
            }
            out[lane] = acc;
        }
    }
}
