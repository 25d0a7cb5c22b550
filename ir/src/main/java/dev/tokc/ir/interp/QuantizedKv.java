package dev.tokc.ir.interp;

import dev.tokc.ir.DType;
import dev.tokc.ir.FloatFormats;

/**
 * The meaning of a quantized KV cache ({@code KvCacheSpec.dtype} {@code fp8e4m3}, {@code i8} or {@code i4}): every
 * (token, KV head) vector of {@code head_dim} values is quantized on write with its own scale (per-head scales,
 * computed from that vector alone, so a write never touches other tokens' bytes), and attention reads the
 * dequantized values. Scales and offsets are rounded to f32, as the runtime stores them.
 * <ul>
 *   <li>{@code fp8e4m3}: {@code scale = absmax / 448}, {@code q = e4m3(x / scale)} (saturating), {@code x' = q * scale};</li>
 *   <li>{@code i8}: {@code scale = absmax / 127}, {@code q = clamp(round(x / scale), -127, 127)}, {@code x' = q * scale};</li>
 *   <li>{@code i4}: asymmetric, {@code lo = min}, {@code scale = (max - min) / 15},
 *       {@code q = clamp(round((x - lo) / scale), 0, 15)}, {@code x' = q * scale + lo}.</li>
 * </ul>
 * An all-zero vector has scale 0 and reads back as zeros. The runtime's {@code QuantKvCache} stores exactly these
 * codes; its tests compare against this class.
 */
public final class QuantizedKv {
    private QuantizedKv() {}

    /** Whether {@code dtype} is a scaled quantized cache type (as opposed to a plain float cache). */
    public static boolean isQuantized(DType dtype) {
        return dev.tokc.ir.KvCacheSpec.isQuantized(dtype);
    }

    /** Quantizes {@code n} values from {@code src[off..]} and writes their dequantized values to {@code dst[dOff..]}. */
    public static void roundTrip(DType dtype, double[] src, int off, int n, double[] dst, int dOff) {
        switch (dtype) {
            case FP8E4M3 -> {
                float scale = (float) (absmax(src, off, n) / FloatFormats.E4M3_MAX);
                for (int i = 0; i < n; i++) {
                    double x = scale == 0 ? 0 : src[off + i] / scale;
                    dst[dOff + i] = FloatFormats.decodeE4M3(FloatFormats.encodeE4M3(x, true)) * (double) scale;
                }
            }
            case I8 -> {
                float scale = (float) (absmax(src, off, n) / 127);
                for (int i = 0; i < n; i++) {
                    long q = scale == 0 ? 0 : Math.clamp(Math.round(src[off + i] / scale), -127, 127);
                    dst[dOff + i] = q * (double) scale;
                }
            }
            case I4 -> {
                double lo = Double.POSITIVE_INFINITY;
                double hi = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < n; i++) {
                    lo = Math.min(lo, src[off + i]);
                    hi = Math.max(hi, src[off + i]);
                }
                float flo = (float) lo;
                float scale = (float) ((hi - flo) / 15);
                for (int i = 0; i < n; i++) {
                    long q = scale == 0 ? 0 : Math.clamp(Math.round((src[off + i] - flo) / scale), 0, 15);
                    dst[dOff + i] = q * (double) scale + flo;
                }
            }
            default -> throw new IllegalArgumentException(dtype + " is not a quantized KV cache type");
        }
    }

    private static double absmax(double[] v, int off, int n) {
        double m = 0;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, Math.abs(v[off + i]));
        }
        return m;
    }
}
