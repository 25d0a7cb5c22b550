package dev.tokc.frontend.onnx;

import java.util.Optional;

/**
 * The element types of ONNX tensors, mirroring {@code TensorProto.DataType} code for code.
 *
 * <p>Besides the code, each constant knows its width in bits (as stored in {@code raw_data}; 0 for STRING,
 * whose elements have no fixed size) and how it is stored when it is not in {@code raw_data}, which is what
 * {@link OnnxTensors} needs to apply ONNX's packing rules. The generated {@code TensorProto.DataType} is not
 * used directly because {@code data_type} is an int32 on the wire: a file may carry a code newer than the
 * generated enum, and tokc wants to say so by number rather than see {@code null}.
 */
public enum OnnxDataType {
    UNDEFINED(0, 0, Storage.NONE),
    FLOAT(1, 32, Storage.FLOAT_DATA),
    UINT8(2, 8, Storage.INT32_DATA),
    INT8(3, 8, Storage.INT32_DATA),
    UINT16(4, 16, Storage.INT32_DATA),
    INT16(5, 16, Storage.INT32_DATA),
    INT32(6, 32, Storage.INT32_DATA),
    INT64(7, 64, Storage.INT64_DATA),
    STRING(8, 0, Storage.STRING_DATA),
    BOOL(9, 8, Storage.INT32_DATA),
    FLOAT16(10, 16, Storage.INT32_DATA),
    DOUBLE(11, 64, Storage.DOUBLE_DATA),
    UINT32(12, 32, Storage.UINT64_DATA),
    UINT64(13, 64, Storage.UINT64_DATA),
    /** Two float32 per element (real, imaginary). */
    COMPLEX64(14, 64, Storage.FLOAT_DATA),
    /** Two float64 per element (real, imaginary). */
    COMPLEX128(15, 128, Storage.DOUBLE_DATA),
    BFLOAT16(16, 16, Storage.INT32_DATA),
    FLOAT8E4M3FN(17, 8, Storage.INT32_DATA),
    FLOAT8E4M3FNUZ(18, 8, Storage.INT32_DATA),
    FLOAT8E5M2(19, 8, Storage.INT32_DATA),
    FLOAT8E5M2FNUZ(20, 8, Storage.INT32_DATA),
    UINT4(21, 4, Storage.INT32_DATA),
    INT4(22, 4, Storage.INT32_DATA),
    FLOAT4E2M1(23, 4, Storage.INT32_DATA),
    FLOAT8E8M0(24, 8, Storage.INT32_DATA),
    UINT2(25, 2, Storage.INT32_DATA),
    INT2(26, 2, Storage.INT32_DATA);

    /** Which typed field of TensorProto holds the elements when {@code raw_data} is not used. */
    public enum Storage { NONE, FLOAT_DATA, INT32_DATA, STRING_DATA, INT64_DATA, DOUBLE_DATA, UINT64_DATA }

    private static final OnnxDataType[] BY_CODE = new OnnxDataType[27];
    static {
        for (OnnxDataType t : values()) BY_CODE[t.code] = t;
    }

    private final int code;
    private final int bits;
    private final Storage storage;

    OnnxDataType(int code, int bits, Storage storage) {
        this.code = code;
        this.bits = bits;
        this.storage = storage;
    }

    /** The {@code TensorProto.DataType} number. */
    public int code() {return code;}

    /** Bits per element in {@code raw_data}; 0 for STRING and UNDEFINED. */
    public int bits() {return bits;}

    /** The typed field that holds the elements when {@code raw_data} is absent. */
    public Storage storage() {return storage;}

    /** Whether elements are packed several to a byte (4- and 2-bit types). */
    public boolean isSubByte() {return bits > 0 && bits < 8;}

    /** Whether the type is a real floating-point type of any width (not complex). */
    public boolean isFloatingPoint() {
        return switch (this) {
            case FLOAT, DOUBLE, FLOAT16, BFLOAT16, FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ,
                 FLOAT4E2M1, FLOAT8E8M0 -> true;
            default -> false;
        };
    }

    /** Whether the type is a signed or unsigned integer type (BOOL excluded). */
    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, INT32, INT64, UINT32, UINT64, UINT4, INT4, UINT2, INT2 -> true;
            default -> false;
        };
    }

    /** Whether an integer type is unsigned. */
    public boolean isUnsigned() {
        return switch (this) {
            case UINT8, UINT16, UINT32, UINT64, UINT4, UINT2 -> true;
            default -> false;
        };
    }

    /** The type with this {@code TensorProto.DataType} number, or empty for a code tokc does not know. */
    public static Optional<OnnxDataType> fromCode(int code) {
        return code >= 0 && code < BY_CODE.length ? Optional.ofNullable(BY_CODE[code]) : Optional.empty();
    }
}
