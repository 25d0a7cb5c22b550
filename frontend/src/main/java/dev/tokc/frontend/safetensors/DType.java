package dev.tokc.frontend.safetensors;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The element types a safetensors file may declare that tokc reads, with their size in bytes.
 *
 * <p>The constant names are exactly the strings of the format's {@code dtype} field. Types the format knows but
 * tokc does not (U16, U32, U64, F8_E8M0, F4, ...) are deliberately absent: a header that uses them is rejected
 * instead of being read with a guessed layout.
 */
public enum DType {
    F32(4, true),
    F16(2, true),
    BF16(2, true),
    F64(8, true),
    I64(8, false),
    I32(4, false),
    I16(2, false),
    I8(1, false),
    U8(1, false),
    BOOL(1, false),
    /** FP8 "e4m3fn": 4 exponent bits (bias 7), 3 mantissa bits, no infinities, a single NaN pattern per sign. */
    F8_E4M3(1, true),
    /** FP8 e5m2: IEEE-like, 5 exponent bits (bias 15), 2 mantissa bits, with infinities and NaNs. */
    F8_E5M2(1, true);

    private final int byteSize;
    private final boolean floatingPoint;

    DType(int byteSize, boolean floatingPoint) {
        this.byteSize = byteSize;
        this.floatingPoint = floatingPoint;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** True for the floating-point types (their elements convert to float exactly, except F64). */
    public boolean isFloatingPoint() {
        return floatingPoint;
    }

    /** The type named {@code name} exactly as in a safetensors header ("F32", "BF16", ...), if tokc supports it. */
    public static Optional<DType> fromName(String name) {
        for (DType t : values()) {
            if (t.name().equals(name)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /** The supported names, for error messages. */
    public static List<String> names() {
        return Arrays.stream(values()).map(Enum::name).toList();
    }
}
