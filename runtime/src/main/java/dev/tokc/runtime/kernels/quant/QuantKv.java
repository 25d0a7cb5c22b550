package dev.tokc.runtime.kernels.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Scalar quantization and dequantization of KV vectors in a {@link KvQuantFormat}: the write path of every
 * {@link QuantKernels} implementation (a step writes a few vectors per token; it is not worth a vector kernel) and
 * the decoder the reference attention uses. Rounding matches {@code dev.tokc.ir.interp.QuantizedKv}: scales in f32,
 * codes from float64 division.
 */
public final class QuantKv {
    private QuantKv() {}

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The 256 E4M3 values by code (NaN codes decode to NaN; the quantizer never writes them). */
    static final float[] E4M3 = new float[256];

    static {
        for (int c = 0; c < 256; c++) {
            E4M3[c] = (float) Quantizer.decodeE4M3(c);
        }
    }

    /** Quantizes the {@code n} f32 values at byte {@code srcOff} of {@code src} into the vector at {@code dst[dstOff]}. */
    public static void quantize(KvQuantFormat f, MemorySegment src, long srcOff, int n, MemorySegment dst, long dstOff) {
        switch (f) {
            case FP8 -> {
                float scale = (float) (absmax(src, srcOff, n) / Quantizer.E4M3_MAX);
                dst.set(F32, dstOff, scale);
                for (int i = 0; i < n; i++) {
                    double x = scale == 0 ? 0 : src.get(F32, srcOff + 4L * i) / (double) scale;
                    dst.set(ValueLayout.JAVA_BYTE, dstOff + 4 + i, (byte) Quantizer.encodeE4M3(x));
                }
            }
            case INT8 -> {
                float scale = (float) (absmax(src, srcOff, n) / 127);
                dst.set(F32, dstOff, scale);
                for (int i = 0; i < n; i++) {
                    long q = scale == 0 ? 0 : Math.clamp(Math.round(src.get(F32, srcOff + 4L * i) / (double) scale), -127, 127);
                    dst.set(ValueLayout.JAVA_BYTE, dstOff + 4 + i, (byte) q);
                }
            }
            case INT4 -> {
                double lo = Double.POSITIVE_INFINITY;
                double hi = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < n; i++) {
                    double x = src.get(F32, srcOff + 4L * i);
                    lo = Math.min(lo, x);
                    hi = Math.max(hi, x);
                }
                float flo = (float) lo;
                float scale = (float) ((hi - flo) / 15);
                dst.set(F32, dstOff, scale);
                dst.set(F32, dstOff + 4, flo);
                for (int i = 0; i < n; i += 2) {
                    int q0 = code4(src.get(F32, srcOff + 4L * i), flo, scale);
                    int q1 = i + 1 < n ? code4(src.get(F32, srcOff + 4L * (i + 1)), flo, scale) : 0;
                    dst.set(ValueLayout.JAVA_BYTE, dstOff + 8 + i / 2, (byte) (q0 | q1 << 4));
                }
            }
        }
    }

    private static int code4(double x, float lo, float scale) {
        return scale == 0 ? 0 : (int) Math.clamp(Math.round((x - lo) / scale), 0, 15);
    }

    /** Dequantizes the vector at {@code seg[off]} into {@code out[outOff .. outOff + n)}. */
    public static void dequantize(KvQuantFormat f, MemorySegment seg, long off, int n, float[] out, int outOff) {
        float scale = seg.get(F32, off);
        switch (f) {
            case FP8 -> {
                for (int i = 0; i < n; i++) {
                    out[outOff + i] = E4M3[seg.get(ValueLayout.JAVA_BYTE, off + 4 + i) & 0xFF] * scale;
                }
            }
            case INT8 -> {
                for (int i = 0; i < n; i++) {
                    out[outOff + i] = seg.get(ValueLayout.JAVA_BYTE, off + 4 + i) * scale;
                }
            }
            case INT4 -> {
                float lo = seg.get(F32, off + 4);
                for (int i = 0; i < n; i++) {
                    int b = seg.get(ValueLayout.JAVA_BYTE, off + 8 + i / 2) & 0xFF;
                    out[outOff + i] = ((i & 1) == 0 ? b & 0xF : b >>> 4) * scale + lo;
                }
            }
        }
    }

    /**
     * Writes {@code k, v : [tokens, kvHeads, headDim]} (f32) at flat {@code slots}; a negative slot is a padding token
     * and is skipped (the float cache's convention).
     */
    public static void write(QuantKvCache c, MemorySegment k, MemorySegment v, int tokens, int[] slots) {
        int hd = c.headDim();
        for (int t = 0; t < tokens; t++) {
            if (slots[t] < 0) {
                continue;
            }
            if ((long) slots[t] >= (long) c.numBlocks() * c.blockSize()) {
                throw new IllegalArgumentException("slot " + slots[t] + " is outside the cache's "
                        + (long) c.numBlocks() * c.blockSize() + " slots");
            }
            for (int h = 0; h < c.kvHeads(); h++) {
                long src = ((long) t * c.kvHeads() + h) * hd * 4;
                quantize(c.format(), k, src, hd, c.keys(), c.offset(slots[t], h));
                quantize(c.format(), v, src, hd, c.values(), c.offset(slots[t], h));
            }
        }
    }

    private static double absmax(MemorySegment s, long off, int n) {
        double m = 0;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, Math.abs(s.get(F32, off + 4L * i)));
        }
        return m;
    }
}
