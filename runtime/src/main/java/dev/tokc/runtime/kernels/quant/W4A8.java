package dev.tokc.runtime.kernels.quant;

import static dev.tokc.runtime.kernels.Elements.F32;
import static dev.tokc.runtime.kernels.Elements.U16;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The W4A8 format: int4 weights with int8 activations, the scheme of llama.cpp's Q4_0 x Q8_0 dot products. Its
 * weights are int4's numbers ({@link Quantizer}'s {@code int4gG}: {@code w = (q - z) s}, q in [0, 15], an integer
 * zero point z and an f16 scale per row and group of G); what differs is the product and the byte layout.
 *
 * <p><b>Product</b> ({@link #quantizeActivations}): each activation row is cut into blocks of {@value #BLOCK};
 * block b gets the scale {@code d_b = max|x| / 127} (an f32 division) and codes
 * {@code a = clamp(Math.round(x / d_b), -127, 127)} (the division in f32; 0 when {@code d_b = 0}). Then
 * {@code y_n = sum_b d_b sum_{k in b} a_k w_nk}. With 4-bit weights and 8-bit activations a block's integer sum
 * {@code sum (q - 8) a} fits in 16 bits ({@code 32 * 8 * 127 < 2^15}), and so does any part of it, which is what lets
 * {@link W4A8Kernels} accumulate in 16-bit lanes, 32 per 512-bit vector.
 *
 * <p><b>Layout</b> (little-endian; {@link Geometry}): output rows in blocks of {@value #ROWS}, the last block padded
 * with zero rows (scale 0, zero point 8, codes 8). Three regions, each walked front to back by a thread that takes a
 * run of blocks:
 * <pre>
 *   metadata: per block, per group of G along k: [32 x f16 scale s][32 x i8 (z - 8)], rows in the order
 *             0, 16, 1, 17, .. 15, 31 (so that a 32-bit lane holds rows l and l + 16)        ({@link #META_BYTES})
 *   stream 0: per block, per step of 8 along k: rows 0..15, 64 bytes
 *   stream 1: the same for rows 16..31
 * </pre>
 * The 64 bytes of a step j hold 32 u16 words: word {@code 2i} is row i's codes for k = 8j .. 8j+3, word
 * {@code 2i + 1} those for 8j+4 .. 8j+7, each word {@code q0 | q1 << 4 | q2 << 8 | q3 << 12} (codes unsigned).
 * That is 3 + G/2 bytes per row and group (int4 needs 4 + G/2: the zero point is an integer and fits a byte). A
 * 64-byte load is 8 k for 16 rows in 16-bit lanes, and the kernels never isolate a code: with the word v, the
 * shifts {@code v >>> 4}, {@code v >>> 8}, {@code v >>> 12} and activation codes rewritten as differences
 * ({@code W4A8Kernels.stepCodes}) the four products sum to {@code q0 a0 + q1 a1 + q2 a2 + q3 a3}. Even and odd lanes
 * take different k, so one 32-bit broadcast of two activation codes serves a multiply of both. Why two streams, by
 * rows: the batch-1 loop alternates between two distant streams, as the int4 kernel's row pairs do (one sequential
 * stream per core, or streams that restart every block, measured at half the DRAM throughput or less:
 * docs/benchmarks.md, "W4A8"), and both halves of a block multiply the same activation codes.
 */
public final class W4A8 {
    private W4A8() {}

    /** Output rows per block of the layout: one 16-bit lane each in a 512-bit vector. */
    public static final int ROWS = 32;
    /** Activations per int8 quantization block (one scale each). */
    public static final int BLOCK = 32;

    private static final ValueLayout.OfByte I8 = ValueLayout.JAVA_BYTE;

    /** Bytes of one group's metadata in a block: 32 f16 scales, then 32 i8 zero points. */
    public static final long META_BYTES = 3L * ROWS;

    /** Where things are in a W4A8 matrix of {@code rows x cols} with groups of {@code g}. */
    public record Geometry(int rows, int cols, int g) {
        public int blocks() {
            return Math.ceilDiv(rows, ROWS);
        }

        public int groups() {
            return cols / g;
        }

        /** Offset of the metadata of group c of block b. */
        public long metaOffset(int b, int c) {
            return ((long) b * groups() + c) * META_BYTES;
        }

        /** Bytes of one code stream. */
        public long streamBytes() {
            return (long) blocks() * 8 * cols;
        }

        /** Offset of step j (k = 8j .. 8j+7) of rows 16h .. 16h+15 of block b. */
        public long stepOffset(int b, int h, int j) {
            return blocks() * groups() * META_BYTES + h * streamBytes() + ((long) b * (cols / 8) + j) * 2 * ROWS;
        }

        /** Offset of the u16 word holding the code of row {@code lane} of block b at column {@code col}. */
        long wordOffset(int b, int lane, int col) {
            return stepOffset(b, lane / 16, col / 8) + 2L * (2 * (lane % 16) + (col % 8) / 4);
        }
    }

    /** Where row {@code lane} of a block is in its group metadata: 0, 16, 1, 17, .. (see the class comment). */
    static int metaIndex(int lane) {
        return lane < ROWS / 2 ? 2 * lane : 2 * (lane - ROWS / 2) + 1;
    }

    /** The 4-bit code (0..15) of row {@code lane} of block b at column {@code col} of a W4A8 matrix. */
    static int code(MemorySegment d, Geometry geo, int b, int lane, int col) {
        return (Short.toUnsignedInt(d.get(U16, geo.wordOffset(b, lane, col))) >>> (4 * (col % 4))) & 0xf;
    }

    // ---- activations ---------------------------------------------------------------------------------------

    /**
     * Quantizes rows {@code [r0, r1)} of {@code x [m, k]} (f32) per block of {@value #BLOCK}: codes into
     * {@code codes[r * k ..]}, scales into {@code scales[r * k / BLOCK ..]} and each block's code sum into
     * {@code sums[..]} (the zero points' term). {@code k} must be a multiple of {@value #BLOCK}.
     */
    public static void quantizeActivations(MemorySegment x, int k, int r0, int r1, byte[] codes, float[] scales,
            int[] sums) {
        int blocks = k / BLOCK;
        for (int r = r0; r < r1; r++) {
            for (int b = 0; b < blocks; b++) {
                long at = (long) r * k + (long) b * BLOCK;
                float max = 0;
                for (int e = 0; e < BLOCK; e++) {
                    max = Math.max(max, Math.abs(x.getAtIndex(F32, at + e)));
                }
                float d = max / 127f;
                int sum = 0;
                for (int e = 0; e < BLOCK; e++) {
                    int a = code(x.getAtIndex(F32, at + e), d);
                    codes[(int) at + e] = (byte) a;
                    sum += a;
                }
                scales[r * blocks + b] = d;
                sums[r * blocks + b] = sum;
            }
        }
    }

    /** The int8 code of activation {@code v} in a block of scale {@code d} (see the class comment). */
    public static int code(float v, float d) {
        return d == 0 ? 0 : Math.clamp(Math.round(v / d), -127, 127);
    }

    // ---- layout --------------------------------------------------------------------------------------------

    /**
     * Writes the W4A8 layout of an int4 matrix: {@code int4} holds {@code [rows, cols]} in {@code int4gG}'s
     * row-major layout ({@link Quantizer}), {@code dst} receives {@code QuantType(W4A8, G).packedBytes(rows, cols)}
     * bytes. Throws when a zero point is not an integer in [0, 15] or a scale is negative or not finite (int4
     * matrices from {@link Quantizer} never have either).
     */
    public static void interleave(MemorySegment int4, int rows, int cols, int g, MemorySegment dst) {
        QuantType from = QuantType.int4(g);
        QuantType to = new QuantType(QuantFormat.W4A8, g);
        if (int4.byteSize() < from.packedBytes(rows, cols) || dst.byteSize() < to.packedBytes(rows, cols)) {
            throw new IllegalArgumentException("w4a8 layout of " + rows + "x" + cols + " g" + g + ": source holds "
                    + int4.byteSize() + " bytes (needs " + from.packedBytes(rows, cols) + "), destination "
                    + dst.byteSize() + " (needs " + to.packedBytes(rows, cols) + ")");
        }
        long srcRow = from.bytesPerRow(cols);
        long srcGroup = 4 + g / 2;
        Geometry geo = new Geometry(rows, cols, g);
        for (int b = 0; b < geo.blocks(); b++) {
            for (int c = 0; c < geo.groups(); c++) {
                long at = geo.metaOffset(b, c);
                for (int lane = 0; lane < ROWS; lane++) {
                    int r = b * ROWS + lane;
                    short scale = 0;
                    int zero = 8;
                    long src = r * srcRow + c * srcGroup;
                    if (r < rows) {
                        scale = int4.get(ValueLayout.JAVA_SHORT_UNALIGNED, src);
                        float s = Float.float16ToFloat(scale);
                        float z = Float.float16ToFloat(int4.get(ValueLayout.JAVA_SHORT_UNALIGNED, src + 2));
                        if (!(s >= 0) || Float.isInfinite(s) || z != Math.rint(z) || z < 0 || z > 15) {
                            throw new IllegalArgumentException("w4a8 layout: row " + r + " group " + c + " has scale "
                                    + s + " and zero point " + z + "; expected a finite scale >= 0 and an integer zero "
                                    + "point in [0, 15]");
                        }
                        zero = (int) z;
                        if (s == 0) {
                            scale = 0; // not -0: the kernels read the scale bits as non-negative
                        }
                    }
                    dst.set(U16, at + 2L * metaIndex(lane), scale);
                    dst.set(I8, at + 2L * ROWS + metaIndex(lane), (byte) (zero - 8));
                    for (int e = 0; e < g; e += 4) { // one word: 4 codes (g is a multiple of 32)
                        int word = 0;
                        for (int p = 0; p < 4; p++) {
                            word |= (r < rows ? Quantizer.nibble(int4, src + 4, e + p) : 8) << (4 * p);
                        }
                        dst.set(U16, geo.wordOffset(b, lane, c * g + e), (short) word);
                    }
                }
            }
        }
    }

    /** Row {@code row} of a W4A8 matrix as float64 weights {@code (q - z) s} into {@code out[0, cols)}. */
    static void dequantizeRow(QuantizedMatrix w, int row, double[] out) {
        int g = w.type().groupSize();
        int cols = w.cols();
        MemorySegment d = w.data();
        Geometry geo = new Geometry(w.rows(), cols, g);
        int b = row / ROWS;
        int lane = row % ROWS;
        for (int c = 0; c < geo.groups(); c++) {
            long at = geo.metaOffset(b, c);
            double scale = Float.float16ToFloat(d.get(U16, at + 2L * metaIndex(lane)));
            int zero = d.get(I8, at + 2L * ROWS + metaIndex(lane)) + 8;
            for (int e = c * g; e < (c + 1) * g; e++) {
                out[e] = (code(d, geo, b, lane, e) - zero) * scale;
            }
        }
    }
}
