package dev.tokc.runtime.kernels.quant;

import java.util.Locale;
import java.util.Optional;

/**
 * Quantized KV-cache formats (issue 7): every (token, KV head) vector of {@code headDim} values is stored with its own
 * scale, the layout the compiler's {@code dev.tokc.ir.interp.QuantizedKv} defines (this enum re-states it: the runtime
 * does not depend on the compiler; {@code QuantKvTest} checks both against each other):
 * <ul>
 *   <li>{@link #FP8}: {@code [f32 scale][headDim x e4m3]}, {@code x = e4m3(q) * scale}, scale = absmax / 448;</li>
 *   <li>{@link #INT8}: {@code [f32 scale][headDim x i8]}, {@code x = q * scale}, scale = absmax / 127;</li>
 *   <li>{@link #INT4}: {@code [f32 scale][f32 lo][headDim / 2 bytes]} (element 2j in the low nibble of byte j),
 *       {@code x = q * scale + lo}, asymmetric over [min, max].</li>
 * </ul>
 */
public enum KvQuantFormat {
    FP8("fp8e4m3"),
    INT8("i8"),
    INT4("i4");

    private final String dtype;

    KvQuantFormat(String dtype) {
        this.dtype = dtype;
    }

    /** The cache dtype as the manifest and the IR spell it. */
    public String dtype() {
        return dtype;
    }

    /** The format of a manifest KV dtype, empty for the plain float ones. */
    public static Optional<KvQuantFormat> of(String dtype) {
        String d = dtype.toLowerCase(Locale.ROOT);
        for (KvQuantFormat f : values()) {
            if (f.dtype.equals(d)) {
                return Optional.of(f);
            }
        }
        return Optional.empty();
    }

    /** Metadata bytes in front of each vector's codes. */
    public int metaBytes() {
        return this == INT4 ? 8 : 4;
    }

    /** Bytes of one stored (token, head) vector. */
    public long vectorBytes(int headDim) {
        return metaBytes() + (this == INT4 ? (headDim + 1) / 2 : headDim);
    }
}
