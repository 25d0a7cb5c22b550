package dev.tokc.ir;

import java.util.HashMap;
import java.util.Map;

/**
 * Scalar element types of the IR. Sub-byte integers ({@link #I4}, {@link #U4}) pack two per byte; the two fp8
 * formats follow the OCP 8-bit float spec (e4m3 is the "fn" variant: no infinities, one NaN pattern).
 */
public enum DType implements ElementType {
    F64("f64", 64, Kind.FLOAT),
    F32("f32", 32, Kind.FLOAT),
    F16("f16", 16, Kind.FLOAT),
    BF16("bf16", 16, Kind.FLOAT),
    FP8E4M3("fp8e4m3", 8, Kind.FLOAT),
    FP8E5M2("fp8e5m2", 8, Kind.FLOAT),
    I64("i64", 64, Kind.SIGNED),
    I32("i32", 32, Kind.SIGNED),
    I16("i16", 16, Kind.SIGNED),
    I8("i8", 8, Kind.SIGNED),
    I4("i4", 4, Kind.SIGNED),
    U64("u64", 64, Kind.UNSIGNED),
    U32("u32", 32, Kind.UNSIGNED),
    U16("u16", 16, Kind.UNSIGNED),
    U8("u8", 8, Kind.UNSIGNED),
    U4("u4", 4, Kind.UNSIGNED),
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
