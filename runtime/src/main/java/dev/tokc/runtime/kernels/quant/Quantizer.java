package dev.tokc.runtime.kernels.quant;

import static dev.tokc.runtime.kernels.Elements.F32;
import static dev.tokc.runtime.kernels.Elements.U16;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The packed byte layout of quantized weight matrices {@code [rows = out, cols = in]}, its quantizer (f32 to packed
 * bytes) and its scalar dequantizer. The layout and the rounding rules are those of the compiler's reference
 * interpreter ({@code dev.tokc.ir.interp.QuantizedBlocks}), re-stated here because the runtime does not depend on
 * the compiler; {@code QuantLayoutCrossCheckTest} in {@code tests/} checks that both produce and read the same bytes.
 *
 * <p>All multi-byte fields are little-endian. Rows follow one another; within a row, groups follow the {@code in}
 * axis:
 * <ul>
 *   <li>{@code int8} (per channel): per row {@code [f32 scale][cols x i8 q]}; {@code w = q * scale}, symmetric,
 *       {@code scale = absmax / 127} rounded to f32, q in [-127, 127].</li>
 *   <li>{@code fp8} (per channel): per row {@code [f32 scale][cols x e4m3 byte]}; {@code w = e4m3(q) * scale},
 *       {@code scale = absmax / 448}, encoded round-to-nearest-even with saturation to +-448.</li>
 *   <li>{@code int4gG} (group-wise, asymmetric): per group of G columns {@code [f16 scale][f16 zero][G/2 bytes]};
 *       element 2j of the group in the low nibble of byte j, element 2j+1 in the high nibble; q in [0, 15] and
 *       {@code w = (q - zero) * scale}, {@code scale = (max - min) / 15} over the group's range widened to include 0
 *       (so 0 is exact), {@code zero = round(-min / scale)}, an integer stored as f16.</li>
 *   <li>{@code nf4gG}: per group {@code [f16 absmax][G/2 bytes]}, nibbles as int4; {@code w = NF4[q] * absmax},
 *       q the nearest level (the lower code on a tie).</li>
 *   <li>{@code w4a8gG}: int4's numbers in blocks of 32 interleaved rows, for the integer product ({@link W4A8}); the
 *       compiler's reference interpreter keeps them in int4's layout.</li>
 * </ul>
 * Scales are rounded to their storage type before the weights are quantized against them, so dequantization sees
 * what quantization assumed. All arithmetic is in float64 on the f32 inputs, as in the reference interpreter, so
 * both quantizers emit identical bytes for identical inputs.
 */
public final class Quantizer {
    private Quantizer() {
    }

    /** Signed bytes. */
    private static final ValueLayout.OfByte I8 = ValueLayout.JAVA_BYTE;

    /** The largest finite e4m3 value (S.1111.110); S.1111.111 is NaN and e4m3 has no infinity. */
    public static final double E4M3_MAX = 448.0;

    /** The 16 NF4 levels (QLoRA): quantiles of a standard normal, normalised to [-1, 1], with an exact 0. */
    private static final double[] NF4 = {
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
        -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
        0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
    };

    /** The 16 NF4 levels indexed by the 4-bit code (a copy). */
    public static double[] nf4Levels() {
        return NF4.clone();
    }

    // ---- quantization --------------------------------------------------------------------------------------

    /**
     * Quantizes the row-major f32 matrix {@code src [rows, cols]} (little-endian) into {@code dst}, which must hold
     * {@code type.packedBytes(rows, cols)} bytes. Every byte of the packed range is written.
     */
    public static void quantize(QuantType type, MemorySegment src, int rows, int cols, MemorySegment dst) {
        long need = type.packedBytes(rows, cols);
        if (src.byteSize() < 4L * rows * cols) {
            throw new IllegalArgumentException("source holds " + src.byteSize() + " bytes, " + rows + "x" + cols
                    + " f32 needs " + 4L * rows * cols);
        }
        if (dst.byteSize() < need) {
            throw new IllegalArgumentException("destination holds " + dst.byteSize() + " bytes, " + type + " "
                    + rows + "x" + cols + " needs " + need);
        }
        long rowBytes = type.bytesPerRow(cols);
        int g = type.groupSize();
        if (type.format() == QuantFormat.W4A8) { // int4's numbers, re-laid out
            QuantType int4 = QuantType.int4(g);
            try (Arena scratch = Arena.ofConfined()) {
                MemorySegment rowMajor = scratch.allocate(int4.packedBytes(rows, cols), 8);
                quantize(int4, src, rows, cols, rowMajor);
                W4A8.interleave(rowMajor, rows, cols, g, dst);
            }
            return;
        }
        for (int r = 0; r < rows; r++) {
            long in = 4L * r * cols;
            long out = r * rowBytes;
            switch (type.format()) {
                case INT8 -> quantizeInt8Row(src, in, cols, dst, out);
                case FP8 -> quantizeFp8Row(src, in, cols, dst, out);
                case INT4 -> {
                    for (int c = 0; c < cols; c += g) {
                        quantizeInt4Group(src, in + 4L * c, g, dst, out + (long) c / g * (4 + g / 2));
                    }
                }
                case NF4 -> {
                    for (int c = 0; c < cols; c += g) {
                        quantizeNf4Group(src, in + 4L * c, g, dst, out + (long) c / g * (2 + g / 2));
                    }
                }
                case W4A8 -> throw new AssertionError("handled above");
            }
        }
    }

    /** Quantizes row-major {@code w [rows, cols]} into a new byte array in the packed layout. */
    public static byte[] quantize(QuantType type, float[] w, int rows, int cols) {
        checkLength(w.length, rows, cols);
        byte[] out = new byte[Math.toIntExact(type.packedBytes(rows, cols))];
        quantize(type, MemorySegment.ofArray(w), rows, cols, MemorySegment.ofArray(out));
        return out;
    }

    /**
     * Quantizes row-major {@code w [rows, cols]} into a new 64-byte-aligned segment of {@code arena}, returned as the
     * matrix view the kernels take.
     */
    public static QuantizedMatrix quantize(QuantType type, float[] w, int rows, int cols, Arena arena) {
        checkLength(w.length, rows, cols);
        MemorySegment dst = arena.allocate(type.packedBytes(rows, cols), 64);
        quantize(type, MemorySegment.ofArray(w), rows, cols, dst);
        return new QuantizedMatrix(dst, type, rows, cols);
    }

    private static void checkLength(int length, int rows, int cols) {
        if (length != (long) rows * cols) {
            throw new IllegalArgumentException("matrix of " + rows + "x" + cols + " needs " + (long) rows * cols
                    + " values, got " + length);
        }
    }

    private static void quantizeInt8Row(MemorySegment src, long in, int n, MemorySegment dst, long at) {
        float scale = (float) (absmax(src, in, n) / 127);
        dst.set(F32, at, scale);
        for (int i = 0; i < n; i++) {
            long q = scale == 0 ? 0 : Math.round(src.get(F32, in + 4L * i) / (double) scale);
            dst.set(I8, at + 4 + i, (byte) Math.clamp(q, -127, 127));
        }
    }

    private static void quantizeFp8Row(MemorySegment src, long in, int n, MemorySegment dst, long at) {
        float scale = (float) (absmax(src, in, n) / E4M3_MAX);
        dst.set(F32, at, scale);
        for (int i = 0; i < n; i++) {
            double x = scale == 0 ? 0 : src.get(F32, in + 4L * i) / (double) scale;
            dst.set(I8, at + 4 + i, (byte) encodeE4M3(x));
        }
    }

    private static void quantizeInt4Group(MemorySegment src, long in, int g, MemorySegment dst, long at) {
        double lo = 0;
        double hi = 0;
        for (int i = 0; i < g; i++) {
            double v = src.get(F32, in + 4L * i);
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        double scale = roundToF16((hi - lo) / 15);
        long zero = scale == 0 ? 0 : Math.clamp(Math.round(-lo / scale), 0, 15);
        dst.set(U16, at, f16Bits(scale));
        dst.set(U16, at + 2, f16Bits(zero));
        for (int i = 0; i < g; i += 2) {
            int q0 = int4Code(src.get(F32, in + 4L * i), scale, zero);
            int q1 = int4Code(src.get(F32, in + 4L * (i + 1)), scale, zero);
            dst.set(I8, at + 4 + i / 2, (byte) (q0 | q1 << 4));
        }
    }

    private static int int4Code(double v, double scale, long zero) {
        return scale == 0 ? 0 : (int) Math.clamp(Math.round(v / scale) + zero, 0, 15);
    }

    private static void quantizeNf4Group(MemorySegment src, long in, int g, MemorySegment dst, long at) {
        double absmax = roundToF16(absmax(src, in, g));
        dst.set(U16, at, f16Bits(absmax));
        for (int i = 0; i < g; i += 2) {
            int q0 = nf4Code(src.get(F32, in + 4L * i), absmax);
            int q1 = nf4Code(src.get(F32, in + 4L * (i + 1)), absmax);
            dst.set(I8, at + 2 + i / 2, (byte) (q0 | q1 << 4));
        }
    }

    /** The nearest NF4 level to {@code v / absmax}; the first (lowest) code wins a tie. */
    private static int nf4Code(double v, double absmax) {
        double x = absmax == 0 ? 0 : v / absmax;
        int best = 0;
        for (int q = 1; q < NF4.length; q++) {
            if (Math.abs(NF4[q] - x) < Math.abs(NF4[best] - x)) {
                best = q;
            }
        }
        return best;
    }

    private static double absmax(MemorySegment src, long in, int n) {
        double m = 0;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, Math.abs((double) src.get(F32, in + 4L * i)));
        }
        return m;
    }

    // ---- dequantization ------------------------------------------------------------------------------------

    /** Dequantizes row {@code row} of {@code w} into {@code out[0, cols)}, in float64 (the reference's values). */
    public static void dequantizeRow(QuantizedMatrix w, int row, double[] out) {
        QuantType t = w.type();
        int cols = w.cols();
        MemorySegment d = w.data();
        long base = t.format() == QuantFormat.W4A8 ? 0 : w.rowOffset(row);
        switch (t.format()) {
            case INT8 -> {
                double scale = d.get(F32, base);
                for (int c = 0; c < cols; c++) {
                    out[c] = d.get(I8, base + 4 + c) * scale;
                }
            }
            case FP8 -> {
                double scale = d.get(F32, base);
                for (int c = 0; c < cols; c++) {
                    out[c] = decodeE4M3(d.get(I8, base + 4 + c) & 0xFF) * scale;
                }
            }
            case INT4 -> {
                int g = t.groupSize();
                for (int c = 0; c < cols; c += g) {
                    long at = base + (long) c / g * (4 + g / 2);
                    double scale = Float.float16ToFloat(d.get(U16, at));
                    double zero = Float.float16ToFloat(d.get(U16, at + 2));
                    for (int j = 0; j < g; j++) {
                        out[c + j] = (nibble(d, at + 4, j) - zero) * scale;
                    }
                }
            }
            case W4A8 -> W4A8.dequantizeRow(w, row, out);
            case NF4 -> {
                int g = t.groupSize();
                for (int c = 0; c < cols; c += g) {
                    long at = base + (long) c / g * (2 + g / 2);
                    double absmax = Float.float16ToFloat(d.get(U16, at));
                    for (int j = 0; j < g; j++) {
                        out[c + j] = NF4[nibble(d, at + 2, j)] * absmax;
                    }
                }
            }
        }
    }

    /** Dequantizes all of {@code w} into row-major doubles {@code [rows, cols]}. */
    public static double[] dequantize(QuantizedMatrix w) {
        double[] all = new double[Math.multiplyExact(w.rows(), w.cols())];
        double[] row = new double[w.cols()];
        for (int r = 0; r < w.rows(); r++) {
            dequantizeRow(w, r, row);
            System.arraycopy(row, 0, all, r * w.cols(), w.cols());
        }
        return all;
    }

    /** The 4-bit code of element {@code j} of the nibble array at {@code at}: even elements in the low nibble. */
    static int nibble(MemorySegment d, long at, int j) {
        int v = d.get(I8, at + j / 2) & 0xFF;
        return (j & 1) == 0 ? v & 0xF : v >>> 4;
    }

    // ---- scalar number formats -----------------------------------------------------------------------------

    /**
     * The e4m3 code (1 sign, 4 exponent bits with bias 7, 3 mantissa bits) nearest to {@code v}, ties to even,
     * saturating: magnitudes above 448 (infinity included) give +-448 (S.1111.110). NaN gives 0x7F. The sign of a
     * zero is kept.
     */
    public static int encodeE4M3(double v) {
        if (Double.isNaN(v)) {
            return 0x7F;
        }
        int sign = Double.doubleToRawLongBits(v) < 0 ? 0x80 : 0;
        double a = Math.abs(v);
        if (a > E4M3_MAX) {
            return sign | 0x7E;
        }
        if (a == 0) {
            return sign;
        }
        int e = Math.getExponent(a);
        if (e < -6) {
            // Subnormal: a = q * 2^-9. A q that rounds up to 8 is the smallest normal, whose code is 8 as well.
            return sign | (int) Math.rint(Math.scalb(a, 9));
        }
        long q = (long) Math.rint(Math.scalb(a, 3 - e)); // in [8, 16]
        if (q == 16) {
            q = 8;
            e++;
        }
        // a <= 448 cannot round past 1.75 * 2^8, so the exponent stays within 15 and the code is never NaN.
        return sign | (e + 7) << 3 | (int) (q & 7);
    }

    /** The value of an e4m3 code (low 8 bits of {@code code}); S.1111.111 is NaN. */
    public static double decodeE4M3(int code) {
        int e = (code >> 3) & 0xF;
        int m = code & 0x7;
        if (e == 0xF && m == 0x7) {
            return Double.NaN;
        }
        double mag = e == 0 ? Math.scalb((double) m, -9) : Math.scalb(8.0 + m, e - 10);
        return (code & 0x80) != 0 ? -mag : mag;
    }

    /**
     * The binary16 bits nearest to {@code v}, rounding once from the double (going through float could round
     * twice), ties to even; overflow gives infinity, NaN the quiet NaN 0x7e00 with v's sign.
     */
    public static short f16Bits(double v) {
        int sign = Double.doubleToRawLongBits(v) < 0 ? 0x8000 : 0;
        if (Double.isNaN(v)) {
            return (short) (sign | 0x7e00);
        }
        double a = Math.abs(v);
        if (a == 0) {
            return (short) sign;
        }
        if (Double.isInfinite(a)) {
            return (short) (sign | 0x7c00);
        }
        int e = Math.getExponent(a);
        if (e < -14) {
            // Subnormal: a = q * 2^-24; q = 1024 is the smallest normal, whose bits are 0x400 as well.
            return (short) (sign | (int) Math.rint(Math.scalb(a, 24)));
        }
        long q = (long) Math.rint(Math.scalb(a, 10 - e)); // in [1024, 2048]
        if (q == 2048) {
            q = 1024;
            e++;
        }
        if (e > 15) {
            return (short) (sign | 0x7c00);
        }
        return (short) (sign | (e + 15) << 10 | (int) (q & 0x3ff));
    }

    /** {@code v} rounded to the nearest binary16 value. */
    static double roundToF16(double v) {
        return Float.float16ToFloat(f16Bits(v));
    }
}
