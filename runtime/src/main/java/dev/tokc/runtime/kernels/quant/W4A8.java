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
 * {@code sum (q - 8) a} fits in 16 bits ({@code 32 * 8 * 127 < 2^15}), which is what lets {@link W4A8Kernels} run
 * 32 rows per 512-bit vector in 16-bit lanes.
 *
 * <p><b>Layout</b> (little-endian; {@link Geometry}): output rows in blocks of {@value #ROWS}, the last block padded
 * with zero rows (scale 0, zero point 8, codes 8). Three regions, each walked front to back by a thread that takes a
 * run of blocks:
 * <pre>
 *   metadata: per block, per group of G along k: [32 x f16 scale s_r][32 x i8 (z_r - 8)]       ({@link #META_BYTES})
 *   stream 0: per block, per activation block of 32 along k: k pairs 0..7, 32 bytes each
 *   stream 1: the same for k pairs 8..15
 * </pre>
 * The 32 bytes of a k pair p hold one byte per row r: {@code q_r,2p | (q_r,2p+1 - 8) << 4}. That is 3 + G/2 bytes
 * per row and group (int4 needs 4 + G/2: the zero point is an integer and fits a byte). A load of 32 code bytes is
 * one k pair for all 32 rows, widened to 16-bit lanes: {@code v = q0 + 16 (q1 - 8)}, the odd code (stored minus 8)
 * is the arithmetic shift {@code v >> 4}, and the kernels never isolate the even one ({@code W4A8Kernels.pairCodes}
 * folds it into the activation codes). Why regions and two code streams: the batch-1 loop
 * alternates between two distant streams, as the int4 kernel's row pairs do; one sequential stream per core, or
 * streams that restart every block, measured at half the DRAM throughput or less (docs/benchmarks.md, "W4A8").
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

        /** Offset of k pair p (0..15) of activation block s (0..cols/32-1) of block b. */
        public long pairOffset(int b, int s, int p) {
            return blocks() * groups() * META_BYTES + (p >= 8 ? streamBytes() : 0)
                    + (((long) b * (cols / BLOCK) + s) * 8 + (p & 7)) * ROWS;
        }
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
                    dst.set(U16, at + 2L * lane, scale);
                    dst.set(I8, at + 2L * ROWS + lane, (byte) (zero - 8));
                    for (int p = 0; p < g / 2; p++) {
                        int q0 = r < rows ? Quantizer.nibble(int4, src + 4, 2 * p) : 8;
                        int q1 = r < rows ? Quantizer.nibble(int4, src + 4, 2 * p + 1) : 8;
                        dst.set(I8, geo.pairOffset(b, (c * g + 2 * p) / BLOCK, p % (BLOCK / 2)) + lane,
                                (byte) (q0 | (q1 - 8) << 4));
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
            double scale = Float.float16ToFloat(d.get(U16, at + 2L * lane));
            int zero = d.get(I8, at + 2L * ROWS + lane) + 8;
            for (int p = 0; p < g / 2; p++) {
                int v = d.get(I8, geo.pairOffset(b, (c * g + 2 * p) / BLOCK, p % (BLOCK / 2)) + lane);
                int q0 = v & 0xf;
                int q1 = (v >> 4) + 8;
                out[c * g + 2 * p] = (q0 - zero) * scale;
                out[c * g + 2 * p + 1] = (q1 - zero) * scale;
            }
        }
    }
}
