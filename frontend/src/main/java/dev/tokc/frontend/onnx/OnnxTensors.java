package dev.tokc.frontend.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.tokc.frontend.ModelFormatException;
import dev.tokc.frontend.onnx.proto.TensorProto;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Converts {@link TensorProto}s into {@link OnnxTensor}s, applying ONNX's storage rules:
 * <ul>
 *   <li>{@code raw_data}: every type but STRING, little-endian, fixed-size elements; BOOL one byte each;
 *       4-bit types packed two per byte and 2-bit types four per byte, the first element in the least
 *       significant bits, the last byte padded;</li>
 *   <li>external data ({@code data_location = EXTERNAL}): the same layout as {@code raw_data}, read from the
 *       file range {@link OnnxExternalData} resolves;</li>
 *   <li>typed fields: FLOAT and COMPLEX64 in {@code float_data}; DOUBLE and COMPLEX128 in {@code double_data};
 *       INT64 in {@code int64_data}; UINT32 and UINT64 in {@code uint64_data}; STRING in {@code string_data};
 *       everything else in {@code int32_data}, one element per entry (16-bit floats and 8-bit floats as their
 *       bit patterns), except that each entry holds one packed byte for the sub-byte types.</li>
 * </ul>
 * Every count is checked against the shape; a mismatch, an unknown data type or a segmented tensor is a
 * {@link ModelFormatException} that names the tensor.
 */
public final class OnnxTensors {
    private OnnxTensors() {}

    /**
     * Decodes a tensor whose data is inside the proto.
     *
     * @throws ModelFormatException also when the tensor's data is external (use {@link #decode(TensorProto, Path)})
     */
    public static OnnxTensor decode(TensorProto tensor) {
        return decode(tensor, null);
    }

    /**
     * Decodes a tensor, reading external data relative to {@code externalDataDirectory} (the directory of the
     * model file the tensor came from; may be null when the tensor cannot have external data).
     */
    public static OnnxTensor decode(TensorProto tensor, Path externalDataDirectory) {
        String what = "tensor '" + tensor.getName() + "'";
        OnnxDataType dtype = OnnxDataType.fromCode(tensor.getDataType())
                .orElseThrow(() -> new ModelFormatException(what + " has unknown data type " + tensor.getDataType()));
        if (dtype == OnnxDataType.UNDEFINED) throw new ModelFormatException(what + " has data type UNDEFINED");
        if (tensor.hasSegment()) {
            throw new ModelFormatException(what + " is a segment of a larger tensor; segmented tensors are not supported");
        }
        long[] shape = shapeOf(tensor);
        int count = elementCount(shape, dtype, what);

        Object data;
        if (tensor.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            if (externalDataDirectory == null) {
                throw new ModelFormatException(what + " has external data but no model directory to resolve it in");
            }
            if (dtype == OnnxDataType.STRING) throw new ModelFormatException(what + ": STRING tensors cannot be external");
            OnnxExternalData external = OnnxExternalData.resolve(tensor, externalDataDirectory);
            data = fromLittleEndian(ByteBuffer.wrap(external.read()), dtype, count, what + " (external '" + external.location() + "')");
        } else if (tensor.hasRawData()) {
            if (dtype == OnnxDataType.STRING) throw new ModelFormatException(what + ": STRING tensors cannot use raw_data");
            data = fromLittleEndian(tensor.getRawData().asReadOnlyByteBuffer(), dtype, count, what + " raw_data");
        } else {
            data = fromTypedField(tensor, dtype, count, what);
        }
        return OnnxTensor.of(tensor.getName(), dtype, shape, data);
    }

    /**
     * Reads and decodes a file holding one serialized TensorProto (the {@code input_K.pb} / {@code output_K.pb}
     * files of ONNX's test data sets); external data is resolved next to the file.
     */
    public static OnnxTensor load(Path file) {
        TensorProto tensor = readTensorProto(file);
        try {
            return decode(tensor, file.toAbsolutePath().getParent());
        } catch (ModelFormatException e) {
            throw new ModelFormatException(file + ": " + e.getMessage(), e);
        }
    }

    /** Parses a file holding one serialized TensorProto. */
    public static TensorProto readTensorProto(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file, e);
        }
        try {
            return TensorProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new ModelFormatException(file + ": not a serialized ONNX TensorProto (truncated or another format): "
                    + e.getMessage(), e);
        }
    }

    /** The tensor's dims as a long array. */
    public static long[] shapeOf(TensorProto tensor) {
        long[] shape = new long[tensor.getDimsCount()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = tensor.getDims(i);
            if (shape[i] < 0) {
                throw new ModelFormatException("tensor '" + tensor.getName() + "' has negative dimension " + shape[i]);
            }
        }
        return shape;
    }

    /**
     * The number of bytes the tensor's elements take in {@code raw_data} or external data (sub-byte types
     * rounded up to whole bytes).
     *
     * @throws ModelFormatException for STRING and unknown types, which have no fixed-size layout
     */
    public static long rawByteSize(TensorProto tensor) {
        OnnxDataType dtype = OnnxDataType.fromCode(tensor.getDataType()).orElse(OnnxDataType.UNDEFINED);
        if (dtype.bits() == 0) {
            throw new ModelFormatException("tensor '" + tensor.getName() + "' of " + dtype + " has no fixed-size layout");
        }
        long count = 1;
        for (long d : shapeOf(tensor)) count = Math.multiplyExact(count, d);
        return ceilDiv(Math.multiplyExact(count, dtype.bits()), 8);
    }

    private static int elementCount(long[] shape, OnnxDataType dtype, String what) {
        long count = 1;
        try {
            for (long d : shape) count = Math.multiplyExact(count, d);
        } catch (ArithmeticException e) {
            throw new ModelFormatException(what + ": element count overflows");
        }
        boolean complex = dtype == OnnxDataType.COMPLEX64 || dtype == OnnxDataType.COMPLEX128;
        if (count > (complex ? Integer.MAX_VALUE / 2 : Integer.MAX_VALUE - 8)) {
            throw new ModelFormatException(what + " has " + count + " elements, too many to decode into a Java array");
        }
        return (int) count;
    }

    private static long ceilDiv(long a, long b) {return (a + b - 1) / b;}

    private static Object fromLittleEndian(ByteBuffer in, OnnxDataType dtype, int count, String what) {
        long expected = ceilDiv((long) count * dtype.bits(), 8);
        if (in.remaining() != expected) {
            throw new ModelFormatException(what + ": " + count + " elements of " + dtype + " need " + expected
                    + " bytes, found " + in.remaining());
        }
        in = in.slice().order(ByteOrder.LITTLE_ENDIAN);
        return switch (dtype) {
            case FLOAT, COMPLEX64 -> {
                float[] a = new float[dtype == OnnxDataType.COMPLEX64 ? 2 * count : count];
                in.asFloatBuffer().get(a);
                yield a;
            }
            case DOUBLE, COMPLEX128 -> {
                double[] a = new double[dtype == OnnxDataType.COMPLEX128 ? 2 * count : count];
                in.asDoubleBuffer().get(a);
                yield a;
            }
            case FLOAT16, BFLOAT16, INT16, UINT16 -> {
                short[] a = new short[count];
                in.asShortBuffer().get(a);
                yield a;
            }
            case INT32, UINT32 -> {
                int[] a = new int[count];
                in.asIntBuffer().get(a);
                yield a;
            }
            case INT64, UINT64 -> {
                long[] a = new long[count];
                in.asLongBuffer().get(a);
                yield a;
            }
            case INT8, UINT8, FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ, FLOAT8E8M0 -> {
                byte[] a = new byte[count];
                in.get(a);
                yield a;
            }
            case BOOL -> {
                boolean[] a = new boolean[count];
                for (int i = 0; i < count; i++) a[i] = in.get(i) != 0;
                yield a;
            }
            case INT4, UINT4, FLOAT4E2M1, INT2, UINT2 -> {
                byte[] packed = new byte[in.remaining()];
                in.get(packed);
                yield unpack(packed, dtype, count);
            }
            case STRING, UNDEFINED -> throw new ModelFormatException(what + ": " + dtype + " has no binary layout");
        };
    }

    /** Splits bytes holding 8 / bits elements each (first element in the low bits) into one element per byte. */
    private static byte[] unpack(byte[] packed, OnnxDataType dtype, int count) {
        int bits = dtype.bits();
        int perByte = 8 / bits;
        int mask = (1 << bits) - 1;
        boolean signed = dtype == OnnxDataType.INT4 || dtype == OnnxDataType.INT2;
        byte[] out = new byte[count];
        for (int i = 0; i < count; i++) {
            int v = (packed[i / perByte] >> ((i % perByte) * bits)) & mask;
            // Sign-extend from the element's top bit: shift it to bit 31, then arithmetically back.
            out[i] = (byte) (signed ? (v << (32 - bits)) >> (32 - bits) : v);
        }
        return out;
    }

    private static Object fromTypedField(TensorProto t, OnnxDataType dtype, int count, String what) {
        return switch (dtype.storage()) {
            case FLOAT_DATA -> {
                int n = dtype == OnnxDataType.COMPLEX64 ? 2 * count : count;
                checkCount(t.getFloatDataCount(), n, "float_data", what);
                float[] a = new float[n];
                for (int i = 0; i < n; i++) a[i] = t.getFloatData(i);
                yield a;
            }
            case DOUBLE_DATA -> {
                int n = dtype == OnnxDataType.COMPLEX128 ? 2 * count : count;
                checkCount(t.getDoubleDataCount(), n, "double_data", what);
                double[] a = new double[n];
                for (int i = 0; i < n; i++) a[i] = t.getDoubleData(i);
                yield a;
            }
            case INT64_DATA -> {
                checkCount(t.getInt64DataCount(), count, "int64_data", what);
                long[] a = new long[count];
                for (int i = 0; i < count; i++) a[i] = t.getInt64Data(i);
                yield a;
            }
            case UINT64_DATA -> {
                checkCount(t.getUint64DataCount(), count, "uint64_data", what);
                if (dtype == OnnxDataType.UINT64) {
                    long[] a = new long[count];
                    for (int i = 0; i < count; i++) a[i] = t.getUint64Data(i);
                    yield a;
                }
                int[] a = new int[count];
                for (int i = 0; i < count; i++) a[i] = (int) t.getUint64Data(i); // UINT32: the low 32 bits
                yield a;
            }
            case STRING_DATA -> {
                checkCount(t.getStringDataCount(), count, "string_data", what);
                List<ByteString> strings = t.getStringDataList();
                byte[][] a = new byte[count][];
                for (int i = 0; i < count; i++) a[i] = strings.get(i).toByteArray();
                yield a;
            }
            case INT32_DATA -> fromInt32Data(t, dtype, count, what);
            case NONE -> throw new ModelFormatException(what + ": " + dtype + " has no storage");
        };
    }

    private static Object fromInt32Data(TensorProto t, OnnxDataType dtype, int count, String what) {
        if (dtype.isSubByte()) {
            // One int32 entry per packed byte, so the same unpacking as raw_data applies to the low bytes.
            int bytes = (int) ceilDiv((long) count * dtype.bits(), 8);
            checkCount(t.getInt32DataCount(), bytes, "int32_data (packed " + dtype + ")", what);
            byte[] packed = new byte[bytes];
            for (int i = 0; i < bytes; i++) packed[i] = (byte) t.getInt32Data(i);
            return unpack(packed, dtype, count);
        }
        checkCount(t.getInt32DataCount(), count, "int32_data", what);
        return switch (dtype) {
            case INT32 -> {
                int[] a = new int[count];
                for (int i = 0; i < count; i++) a[i] = t.getInt32Data(i);
                yield a;
            }
            case INT16, UINT16, FLOAT16, BFLOAT16 -> {
                short[] a = new short[count];
                for (int i = 0; i < count; i++) a[i] = (short) t.getInt32Data(i);
                yield a;
            }
            case BOOL -> {
                boolean[] a = new boolean[count];
                for (int i = 0; i < count; i++) a[i] = t.getInt32Data(i) != 0;
                yield a;
            }
            default -> { // INT8, UINT8 and the 8-bit floats
                byte[] a = new byte[count];
                for (int i = 0; i < count; i++) a[i] = (byte) t.getInt32Data(i);
                yield a;
            }
        };
    }

    private static void checkCount(int found, int expected, String field, String what) {
        if (found != expected) {
            throw new ModelFormatException(what + ": expected " + expected + " values in " + field + ", found " + found);
        }
    }
}
