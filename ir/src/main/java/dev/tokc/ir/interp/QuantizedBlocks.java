package dev.tokc.ir.interp;

import dev.tokc.ir.DType;
import dev.tokc.ir.FloatFormats;
import dev.tokc.ir.QuantFormat;
import dev.tokc.ir.QuantType;
import dev.tokc.ir.Tensor;

/**
 * The packed byte layout of quantized weight matrices {@code [rows = out, cols = in]}, with a reference quantizer and
 * dequantizer. This layout is what a {@link WeightSource} returns for a weight of a {@link QuantType} (as a 1-D u8
 * tensor) and what kernels must read. All multi-byte fields are little-endian. Rows are stored one after another;
 * within a row, blocks follow the {@code in} axis:
 * <ul>
 *   <li>{@code int8} (per channel): per row {@code [f32 scale][cols x i8 q]}; {@code w = q * scale}, symmetric,
 *       {@code scale = absmax / 127}, q in [-127, 127].</li>
 *   <li>{@code fp8} (per channel): per row {@code [f32 scale][cols x e4m3 byte]}; {@code w = e4m3(q) * scale},
 *       {@code scale = absmax / 448}, encoded with saturation.</li>
 *   <li>{@code int4gG} (group-wise, asymmetric): per group of G columns {@code [f16 scale][f16 zero][G/2 bytes]};
 *       element 2j of the group in the low nibble of byte j, element 2j+1 in the high nibble; q in [0, 15] and
 *       {@code w = (q - zero) * scale}. The zero point is an integer in [0, 15] stored as f16 (GPTQ/AWQ style); the
 *       group range is widened to include 0 so that 0 is exact.</li>
 *   <li>{@code nf4gG}: per group {@code [f16 absmax][G/2 bytes]}, nibbles as int4; {@code w = NF4[q] * absmax}.</li>
 *   <li>{@code w4a8gG}: as {@code int4gG} here (its product quantizes the activations, not its weights).</li>
 * </ul>
 * A row length that is not a multiple of G is an error for the group-wise formats. Scales are rounded to their
 * storage type before the weights are quantized against them, so dequantization sees what quantization assumed.
 */
public final class QuantizedBlocks {
    private QuantizedBlocks() {}

    /** The 16 NF4 levels (QLoRA): quantiles of a standard normal, normalised to [-1, 1], with an exact 0. */
    static final double[] NF4 = {
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
        -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
        0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
    };

    /** The 16 NF4 levels, indexed by the 4-bit code (a copy: kernels bake it into their lookup tables). */
    public static double[] nf4Levels() {
        return NF4.clone();
    }

    /** Bytes of one row of {@code cols} weights. */
    public static long bytesPerRow(QuantType t, long cols) {
        QuantFormat f = t.format();
        if (!f.groupWise()) {
            return f.metaBytesPerGroup() + cols;
        }
        if (cols % t.groupSize() != 0) {
            throw new IllegalArgumentException(t + " needs a row length divisible by " + t.groupSize() + ", got " + cols);
        }
        return cols / t.groupSize() * (f.metaBytesPerGroup() + t.groupSize() / 2);
    }

    /** Total packed bytes of a {@code [rows, cols]} matrix. */
    public static long packedBytes(QuantType t, long rows, long cols) {
        return Math.multiplyExact(rows, bytesPerRow(t, cols));
    }

    /** The packed bytes as the 1-D u8 tensor a {@link WeightSource} returns. */
    public static Tensor asTensor(byte[] packed) {
        long[] l = new long[packed.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = packed[i] & 0xFF;
        }
        return Tensor.ofLongs(DType.U8, new long[] {l.length}, l);
    }

    /** The bytes of a u8 tensor. */
    public static byte[] bytesOf(Tensor u8) {
        long[] l = u8.longs();
        byte[] b = new byte[l.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) l[i];
        }
        return b;
    }

    /** Quantizes row-major {@code w [rows, cols]} into the packed layout. */
    public static byte[] quantize(QuantType t, double[] w, int rows, int cols) {
        if (w.length != (long) rows * cols) {
            throw new IllegalArgumentException("matrix of " + rows + "x" + cols + " needs " + (long) rows * cols
                    + " values, got " + w.length);
        }
        byte[] out = new byte[Math.toIntExact(packedBytes(t, rows, cols))];
        int rowBytes = (int) bytesPerRow(t, cols);
        for (int r = 0; r < rows; r++) {
            int base = r * rowBytes;
            int src = r * cols;
            switch (t.format()) {
                case INT8 -> quantizeInt8Row(w, src, cols, out, base);
                case FP8 -> quantizeFp8Row(w, src, cols, out, base);
                case INT4, W4A8 -> {
                    int g = t.groupSize();
                    for (int c = 0; c < cols; c += g) {
                        quantizeInt4Group(w, src + c, g, out, base + c / g * (4 + g / 2));
                    }
                }
                case NF4 -> {
                    int g = t.groupSize();
                    for (int c = 0; c < cols; c += g) {
                        quantizeNf4Group(w, src + c, g, out, base + c / g * (2 + g / 2));
                    }
                }
            }
        }
        return out;
    }

    /** Dequantizes the packed layout into row-major doubles {@code [rows, cols]}. */
    public static double[] dequantize(QuantType t, byte[] packed, int rows, int cols) {
        long expected = packedBytes(t, rows, cols);
        if (packed.length != expected) {
            throw new IllegalArgumentException(t + " matrix " + rows + "x" + cols + " needs " + expected
                    + " packed bytes, got " + packed.length);
        }
        double[] w = new double[Math.multiplyExact(rows, cols)];
        int rowBytes = (int) bytesPerRow(t, cols);
        for (int r = 0; r < rows; r++) {
            int base = r * rowBytes;
            int dst = r * cols;
            switch (t.format()) {
                case INT8 -> {
                    double scale = readF32(packed, base);
                    for (int c = 0; c < cols; c++) {
                        w[dst + c] = packed[base + 4 + c] * scale;
                    }
                }
                case FP8 -> {
                    double scale = readF32(packed, base);
                    for (int c = 0; c < cols; c++) {
                        w[dst + c] = FloatFormats.decodeE4M3(packed[base + 4 + c] & 0xFF) * scale;
                    }
                }
                case INT4, W4A8 -> {
                    int g = t.groupSize();
                    for (int c = 0; c < cols; c += g) {
                        int at = base + c / g * (4 + g / 2);
                        double scale = readF16(packed, at);
                        double zero = readF16(packed, at + 2);
                        for (int j = 0; j < g; j++) {
                            w[dst + c + j] = (nibble(packed, at + 4, j) - zero) * scale;
                        }
                    }
                }
                case NF4 -> {
                    int g = t.groupSize();
                    for (int c = 0; c < cols; c += g) {
                        int at = base + c / g * (2 + g / 2);
                        double absmax = readF16(packed, at);
                        for (int j = 0; j < g; j++) {
                            w[dst + c + j] = NF4[nibble(packed, at + 2, j)] * absmax;
                        }
                    }
                }
            }
        }
        return w;
    }

    /**
     * The activations a {@code w4a8} product reads, read back: rows of {@code cols} values cut into blocks of
     * {@value QuantFormat#W4A8_BLOCK}, block b scaled by {@code d = max|x| / 127} and rounded,
     * {@code a = clamp(Math.round(x / d), -127, 127)} (0 when d = 0), each value replaced by {@code a * d}. All in
     * f32 arithmetic on f32-rounded inputs, as the runtime's kernels compute it, so both round every activation the
     * same way. {@code cols} must be a multiple of the block (the weight's group size is).
     */
    public static double[] quantizeActivationBlocks(double[] x, int cols) {
        int block = QuantFormat.W4A8_BLOCK;
        if (cols % block != 0 || x.length % cols != 0) {
            throw new IllegalArgumentException("w4a8 activations need rows of a multiple of " + block + " values, got "
                    + cols + " (" + x.length + " values)");
        }
        double[] out = new double[x.length];
        for (int b0 = 0; b0 < x.length; b0 += block) {
            float max = 0;
            for (int e = 0; e < block; e++) {
                max = Math.max(max, Math.abs((float) x[b0 + e]));
            }
            float d = max / 127f;
            for (int e = 0; e < block; e++) {
                int a = d == 0 ? 0 : Math.clamp(Math.round((float) x[b0 + e] / d), -127, 127);
                out[b0 + e] = a * (double) d;
            }
        }
        return out;
    }

    private static void quantizeInt8Row(double[] w, int src, int n, byte[] out, int at) {
        float scale = (float) (absmax(w, src, n) / 127);
        writeF32(out, at, scale);
        for (int i = 0; i < n; i++) {
            long q = scale == 0 ? 0 : Math.round(w[src + i] / scale);
            out[at + 4 + i] = (byte) Math.clamp(q, -127, 127);
        }
    }

    private static void quantizeFp8Row(double[] w, int src, int n, byte[] out, int at) {
        float scale = (float) (absmax(w, src, n) / FloatFormats.E4M3_MAX);
        writeF32(out, at, scale);
        for (int i = 0; i < n; i++) {
            double x = scale == 0 ? 0 : w[src + i] / scale;
            out[at + 4 + i] = (byte) FloatFormats.encodeE4M3(x, true);
        }
    }

    private static void quantizeInt4Group(double[] w, int src, int g, byte[] out, int at) {
        double lo = 0;
        double hi = 0;
        for (int i = 0; i < g; i++) {
            lo = Math.min(lo, w[src + i]);
            hi = Math.max(hi, w[src + i]);
        }
        double scale = f16((hi - lo) / 15);
        long zero = scale == 0 ? 0 : Math.clamp(Math.round(-lo / scale), 0, 15);
        writeF16(out, at, scale);
        writeF16(out, at + 2, zero);
        for (int i = 0; i < g; i++) {
            long q = scale == 0 ? 0 : Math.clamp(Math.round(w[src + i] / scale) + zero, 0, 15);
            setNibble(out, at + 4, i, (int) q);
        }
    }

    private static void quantizeNf4Group(double[] w, int src, int g, byte[] out, int at) {
        double absmax = f16(absmax(w, src, g));
        writeF16(out, at, absmax);
        for (int i = 0; i < g; i++) {
            double x = absmax == 0 ? 0 : w[src + i] / absmax;
            int best = 0;
            for (int q = 1; q < NF4.length; q++) {
                if (Math.abs(NF4[q] - x) < Math.abs(NF4[best] - x)) {
                    best = q;
                }
            }
            setNibble(out, at + 2, i, best);
        }
    }

    private static double absmax(double[] w, int src, int n) {
        double m = 0;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, Math.abs(w[src + i]));
        }
        return m;
    }

    private static double f16(double v) {
        return Float.float16ToFloat(FloatFormats.toF16Bits(v));
    }

    private static int nibble(byte[] b, int at, int j) {
        int v = b[at + j / 2] & 0xFF;
        return (j & 1) == 0 ? v & 0xF : v >>> 4;
    }

    private static void setNibble(byte[] b, int at, int j, int q) {
        int i = at + j / 2;
        b[i] = (byte) ((j & 1) == 0 ? (b[i] & 0xF0) | q : (b[i] & 0x0F) | (q << 4));
    }

    private static double readF32(byte[] b, int at) {
        int bits = (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16 | (b[at + 3] & 0xFF) << 24;
        return Float.intBitsToFloat(bits);
    }

    private static void writeF32(byte[] b, int at, float v) {
        int bits = Float.floatToRawIntBits(v);
        for (int i = 0; i < 4; i++) {
            b[at + i] = (byte) (bits >>> (8 * i));
        }
    }

    private static double readF16(byte[] b, int at) {
        return Float.float16ToFloat((short) ((b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8));
    }

    private static void writeF16(byte[] b, int at, double v) {
        short bits = FloatFormats.toF16Bits(v);
        b[at] = (byte) bits;
        b[at + 1] = (byte) (bits >>> 8);
    }
}
