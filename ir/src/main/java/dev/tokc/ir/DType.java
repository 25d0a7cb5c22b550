package dev.tokc.ir;

import java.util.HashMap;
import java.util.Map;

/**
 * Scalar element types of the IR. Sub-byte types pack into bytes in storage: the 4-bit ones ({@link #I4},
 * {@link #U4}, {@link #FP4E2M1}) two per byte, the 2-bit ones ({@link #I2}, {@link #U2}) four per byte, the first
 * element in the lowest bits ({@link #bitsPerElement}); {@link Tensor} holds them one value per element.
 *
 * <p>The narrow floats, with their values and conversion rules in {@link FloatFormats}:
 * <ul>
 *   <li>{@link #FP8E4M3}, {@link #FP8E5M2}: the OCP 8-bit floats (e4m3 is the "fn" variant: no infinities, NaN is
 *       S.1111.111; e5m2 has IEEE infinities and NaNs);</li>
 *   <li>{@link #FP8E4M3FNUZ}, {@link #FP8E5M2FNUZ}: the "fnuz" variants (exponent bias 8 and 16, one larger than
 *       OCP's): no infinities and no negative zero, the single NaN is 0x80;</li>
 *   <li>{@link #FP8E8M0}: the MX scale type, an unsigned biased exponent and nothing else (2^-127 .. 2^127, NaN
 *       0xFF, no zero);</li>
 *   <li>{@link #FP4E2M1}: the OCP 4-bit float, +-{0, 0.5, 1, 1.5, 2, 3, 4, 6}, no infinities or NaN.</li>
 * </ul>
 */
public enum DType implements ElementType {
    F64("f64", 64, Kind.FLOAT),
    F32("f32", 32, Kind.FLOAT),
    F16("f16", 16, Kind.FLOAT),
    BF16("bf16", 16, Kind.FLOAT),
    FP8E4M3("fp8e4m3", 8, Kind.FLOAT),
    FP8E5M2("fp8e5m2", 8, Kind.FLOAT),
    FP8E4M3FNUZ("fp8e4m3fnuz", 8, Kind.FLOAT),
    FP8E5M2FNUZ("fp8e5m2fnuz", 8, Kind.FLOAT),
    FP8E8M0("fp8e8m0", 8, Kind.FLOAT),
    FP4E2M1("fp4e2m1", 4, Kind.FLOAT),
    I64("i64", 64, Kind.SIGNED),
    I32("i32", 32, Kind.SIGNED),
    I16("i16", 16, Kind.SIGNED),
    I8("i8", 8, Kind.SIGNED),
    I4("i4", 4, Kind.SIGNED),
    I2("i2", 2, Kind.SIGNED),
    U64("u64", 64, Kind.UNSIGNED),
    U32("u32", 32, Kind.UNSIGNED),
    U16("u16", 16, Kind.UNSIGNED),
    U8("u8", 8, Kind.UNSIGNED),
    U4("u4", 4, Kind.UNSIGNED),
    U2("u2", 2, Kind.UNSIGNED),
    BOOL("bool", 8, Kind.BOOL);

    enum Kind { FLOAT, SIGNED, UNSIGNED, BOOL }

    private static final Map<String, DType> BY_NAME = new HashMap<>();

    static {
        for (DType d : values()) {
            BY_NAME.put(d.name, d);
        }
    }

    private final String name;
    private final int bits;
    private final Kind kind;

    DType(String name, int bits, Kind kind) {
        this.name = name;
        this.bits = bits;
        this.kind = kind;
    }

    /** The dtype with this text name, or null. */
    public static DType byName(String name) {
        return BY_NAME.get(name);
    }

    @Override
    public String textName() {
        return name;
    }

    @Override
    public double bitsPerElement() {
        return bits;
    }

    public int bits() {
        return bits;
    }

    public boolean isFloat() {
        return kind == Kind.FLOAT;
    }

    /** Signed or unsigned integer (bool excluded). */
    public boolean isInteger() {
        return kind == Kind.SIGNED || kind == Kind.UNSIGNED;
    }

    public boolean isUnsigned() {
        return kind == Kind.UNSIGNED;
    }

    public boolean isBool() {
        return kind == Kind.BOOL;
    }

    /** Bytes per element, rounded up for the sub-byte types. */
    public int byteSize() {
        return Math.max(1, bits / 8);
    }

    @Override
    public String toString() {
        return name;
    }
}
