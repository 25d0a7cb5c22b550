package dev.tokc.frontend.onnx;

import com.google.protobuf.ByteString;
import dev.tokc.frontend.ModelFormatException;
import dev.tokc.frontend.onnx.proto.TensorProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TensorProto to OnnxTensor for every data type, from raw_data and from the typed fields, with ONNX's packing
 * rules; the expected values are written out by hand from the format definitions.
 */
class OnnxTensorsTest {

    private static TensorProto.Builder tensor(OnnxDataType dtype, long... dims) {
        TensorProto.Builder b = TensorProto.newBuilder().setName("t").setDataType(dtype.code());
        for (long d : dims) b.addDims(d);
        return b;
    }

    private static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static TensorProto raw(TensorProto.Builder b, ByteBuffer data) {
        return b.setRawData(ByteString.copyFrom(data.array())).build();
    }

    @Test
    void floatFromRawAndFromFloatData() {
        ByteBuffer buf = le(16).putFloat(1f).putFloat(-2.5f).putFloat(Float.NaN).putFloat(Float.NEGATIVE_INFINITY);
        OnnxTensor fromRaw = OnnxTensors.decode(raw(tensor(OnnxDataType.FLOAT, 2, 2), buf));
        assertArrayEquals(new float[] {1f, -2.5f, Float.NaN, Float.NEGATIVE_INFINITY}, fromRaw.floats());
        assertArrayEquals(new long[] {2, 2}, fromRaw.shape());
        OnnxTensor typed = OnnxTensors.decode(tensor(OnnxDataType.FLOAT, 4)
                .addFloatData(1f).addFloatData(-2.5f).addFloatData(Float.NaN).addFloatData(Float.NEGATIVE_INFINITY).build());
        assertArrayEquals(fromRaw.floats(), typed.floats());
        assertTrue(Double.isNaN(typed.getDouble(2)));
    }

    @Test
    void scalarHasOneElement() {
        OnnxTensor t = OnnxTensors.decode(tensor(OnnxDataType.INT64).addInt64Data(42).build());
        assertEquals(0, t.rank());
        assertEquals(1, t.elementCount());
        assertEquals(42, t.getLong(0));
    }

    @Test
    void emptyTensorNeedsNoData() {
        OnnxTensor t = OnnxTensors.decode(tensor(OnnxDataType.FLOAT, 3, 0).build());
        assertEquals(0, t.elementCount());
        assertEquals(0, t.floats().length);
    }

    @Test
    void doubleAndComplex() {
        OnnxTensor d = OnnxTensors.decode(raw(tensor(OnnxDataType.DOUBLE, 2), le(16).putDouble(Math.PI).putDouble(-0.0)));
        assertArrayEquals(new double[] {Math.PI, -0.0}, d.doubles());
        OnnxTensor typed = OnnxTensors.decode(tensor(OnnxDataType.DOUBLE, 1).addDoubleData(1e300).build());
        assertEquals(1e300, typed.getDouble(0));

        OnnxTensor c64 = OnnxTensors.decode(tensor(OnnxDataType.COMPLEX64, 2)
                .addFloatData(1).addFloatData(2).addFloatData(3).addFloatData(4).build());
        assertEquals(2, c64.elementCount());
        assertArrayEquals(new float[] {1, 2, 3, 4}, c64.floats());
        OnnxTensor c128 = OnnxTensors.decode(raw(tensor(OnnxDataType.COMPLEX128, 1), le(16).putDouble(5).putDouble(-6)));
        assertArrayEquals(new double[] {5, -6}, c128.doubles());
        assertThrows(IllegalStateException.class, () -> c128.getDouble(0));
    }

    @Test
    void float16AndBfloat16AreBitPatternsInInt32DataAndRaw() {
        // 1.0 = 0x3C00, -2.0 = 0xC000 in binary16; 1.0 = 0x3F80, -2.0 = 0xC000 in bfloat16.
        OnnxTensor h = OnnxTensors.decode(tensor(OnnxDataType.FLOAT16, 2).addInt32Data(0x3C00).addInt32Data(0xC000).build());
        assertArrayEquals(new short[] {0x3C00, (short) 0xC000}, h.shorts());
        assertArrayEquals(new double[] {1.0, -2.0}, h.toDoubleArray());
        OnnxTensor hRaw = OnnxTensors.decode(raw(tensor(OnnxDataType.FLOAT16, 2), le(4).putShort((short) 0x3C00).putShort((short) 0xC000)));
        assertArrayEquals(h.shorts(), hRaw.shorts());

        OnnxTensor b = OnnxTensors.decode(tensor(OnnxDataType.BFLOAT16, 2).addInt32Data(0x3F80).addInt32Data(0xC000).build());
        assertArrayEquals(new double[] {1.0, -2.0}, b.toDoubleArray());
        OnnxTensor bRaw = OnnxTensors.decode(raw(tensor(OnnxDataType.BFLOAT16, 1), le(2).putShort((short) 0x7FC0)));
        assertTrue(Double.isNaN(bRaw.getDouble(0)));
    }

    @Test
    void integersOfEveryWidthKeepSignedness() {
        OnnxTensor i8 = OnnxTensors.decode(tensor(OnnxDataType.INT8, 3).addInt32Data(-128).addInt32Data(127).addInt32Data(-1).build());
        assertArrayEquals(new byte[] {-128, 127, -1}, i8.bytes());
        assertEquals(-128, i8.getLong(0));
        OnnxTensor u8 = OnnxTensors.decode(raw(tensor(OnnxDataType.UINT8, 2), le(2).put((byte) 0xFF).put((byte) 7)));
        assertEquals(255, u8.getLong(0));
        assertEquals(255.0, u8.getDouble(0));
        OnnxTensor u8typed = OnnxTensors.decode(tensor(OnnxDataType.UINT8, 1).addInt32Data(200).build());
        assertEquals(200, u8typed.getLong(0));

        OnnxTensor i16 = OnnxTensors.decode(raw(tensor(OnnxDataType.INT16, 2), le(4).putShort((short) -300).putShort((short) 300)));
        assertArrayEquals(new short[] {-300, 300}, i16.shorts());
        OnnxTensor u16 = OnnxTensors.decode(tensor(OnnxDataType.UINT16, 1).addInt32Data(65535).build());
        assertEquals(65535, u16.getLong(0));

        OnnxTensor i32 = OnnxTensors.decode(tensor(OnnxDataType.INT32, 2).addInt32Data(Integer.MIN_VALUE).addInt32Data(5).build());
        assertArrayEquals(new int[] {Integer.MIN_VALUE, 5}, i32.ints());
        OnnxTensor i32raw = OnnxTensors.decode(raw(tensor(OnnxDataType.INT32, 1), le(4).putInt(-7)));
        assertEquals(-7, i32raw.getLong(0));

        OnnxTensor u32 = OnnxTensors.decode(tensor(OnnxDataType.UINT32, 1).addUint64Data(4_000_000_000L).build());
        assertEquals(4_000_000_000L, u32.getLong(0));
        OnnxTensor u32raw = OnnxTensors.decode(raw(tensor(OnnxDataType.UINT32, 1), le(4).putInt(-1)));
        assertEquals(0xFFFF_FFFFL, u32raw.getLong(0));

        OnnxTensor i64 = OnnxTensors.decode(raw(tensor(OnnxDataType.INT64, 2), le(16).putLong(Long.MIN_VALUE).putLong(3)));
        assertArrayEquals(new long[] {Long.MIN_VALUE, 3}, i64.longs());
        OnnxTensor u64 = OnnxTensors.decode(tensor(OnnxDataType.UINT64, 1).addUint64Data(-1L).build());
        assertEquals(-1L, u64.getLong(0), "UINT64 keeps its bits");
        assertEquals(18446744073709551615.0, u64.getDouble(0));
    }

    @Test
    void boolFromInt32DataAndOneBytePerElementRaw() {
        OnnxTensor typed = OnnxTensors.decode(tensor(OnnxDataType.BOOL, 3).addInt32Data(1).addInt32Data(0).addInt32Data(1).build());
        assertArrayEquals(new boolean[] {true, false, true}, typed.booleans());
        OnnxTensor fromRaw = OnnxTensors.decode(raw(tensor(OnnxDataType.BOOL, 3), le(3).put((byte) 1).put((byte) 0).put((byte) 1)));
        assertArrayEquals(typed.booleans(), fromRaw.booleans());
        assertEquals(1, fromRaw.getLong(2));
    }

    @Test
    void stringsFromStringData() {
        OnnxTensor s = OnnxTensors.decode(tensor(OnnxDataType.STRING, 2)
                .addStringData(ByteString.copyFromUtf8("héllo")).addStringData(ByteString.EMPTY).build());
        assertEquals("héllo", s.getString(0));
        assertEquals(0, s.strings()[1].length);
        assertThrows(ModelFormatException.class, () -> OnnxTensors.decode(raw(tensor(OnnxDataType.STRING, 1),
                ByteBuffer.wrap("x".getBytes(StandardCharsets.UTF_8)))));
    }

    @Test
    void int4PacksTwoPerByteLowNibbleFirst() {
        // Elements 1, -2, 7, -8, 3: bytes 0xE1 (1 low, -2 = 0xE high), 0x87 (7, -8 = 0x8), 0x03 (3, padding).
        OnnxTensor raw = OnnxTensors.decode(raw(tensor(OnnxDataType.INT4, 5), le(3).put((byte) 0xE1).put((byte) 0x87).put((byte) 0x03)));
        assertArrayEquals(new byte[] {1, -2, 7, -8, 3}, raw.bytes());
        OnnxTensor typed = OnnxTensors.decode(tensor(OnnxDataType.INT4, 5).addInt32Data(0xE1).addInt32Data(0x87).addInt32Data(0x03).build());
        assertArrayEquals(raw.bytes(), typed.bytes());

        OnnxTensor u4 = OnnxTensors.decode(raw(tensor(OnnxDataType.UINT4, 2, 2), le(2).put((byte) 0xE1).put((byte) 0xF0)));
        assertArrayEquals(new byte[] {1, 14, 0, 15}, u4.bytes());
        assertEquals(14, u4.getLong(1));

        // Four elements need two bytes; three or five would be the wrong size.
        assertThrows(ModelFormatException.class, () -> OnnxTensors.decode(raw(tensor(OnnxDataType.UINT4, 4), le(3))));
        assertThrows(ModelFormatException.class,
                () -> OnnxTensors.decode(tensor(OnnxDataType.INT4, 4).addInt32Data(1).addInt32Data(2).addInt32Data(3).build()));
    }

    @Test
    void twoBitTypesPackFourPerByte() {
        // int2 elements 1, -1, -2, 0, 1: byte 0 = 0b00_10_11_01 = 0x2D, byte 1 = 0x01.
        OnnxTensor i2 = OnnxTensors.decode(raw(tensor(OnnxDataType.INT2, 5), le(2).put((byte) 0x2D).put((byte) 0x01)));
        assertArrayEquals(new byte[] {1, -1, -2, 0, 1}, i2.bytes());
        OnnxTensor u2 = OnnxTensors.decode(tensor(OnnxDataType.UINT2, 4).addInt32Data(0xE4).build());
        assertArrayEquals(new byte[] {0, 1, 2, 3}, u2.bytes());
    }

    @Test
    void float8FormatsDecodeTheirSpecialValues() {
        // E4M3FN: 0x38 = 1.0, 0x7E = 448 (largest), 0x7F = NaN, 0x01 = 2^-9 (smallest subnormal).
        OnnxTensor e4m3 = OnnxTensors.decode(tensor(OnnxDataType.FLOAT8E4M3FN, 4)
                .addInt32Data(0x38).addInt32Data(0x7E).addInt32Data(0xFF).addInt32Data(0x01).build());
        assertEquals(1.0, e4m3.getDouble(0));
        assertEquals(448.0, e4m3.getDouble(1));
        assertTrue(Double.isNaN(e4m3.getDouble(2)));
        assertEquals(Math.scalb(1.0, -9), e4m3.getDouble(3));

        // E4M3FNUZ: bias 8, so 0x40 = 1.0; 0x80 is NaN, 0x7F = 240.
        OnnxTensor e4m3uz = OnnxTensors.decode(raw(tensor(OnnxDataType.FLOAT8E4M3FNUZ, 3),
                le(3).put((byte) 0x40).put((byte) 0x80).put((byte) 0x7F)));
        assertEquals(1.0, e4m3uz.getDouble(0));
        assertTrue(Double.isNaN(e4m3uz.getDouble(1)));
        assertEquals(240.0, e4m3uz.getDouble(2));

        // E5M2: 0x3C = 1.0, 0x7B = 57344, 0x7C = +inf, 0xFC = -inf, 0x7D = NaN.
        OnnxTensor e5m2 = OnnxTensors.decode(tensor(OnnxDataType.FLOAT8E5M2, 5)
                .addInt32Data(0x3C).addInt32Data(0x7B).addInt32Data(0x7C).addInt32Data(0xFC).addInt32Data(0x7D).build());
        assertArrayEquals(new double[] {1.0, 57344.0, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NaN},
                e5m2.toDoubleArray());

        // E5M2FNUZ: bias 16, so 0x40 = 1.0; 0x80 is NaN; 0x7F = 57344 (no infinities).
        OnnxTensor e5m2uz = OnnxTensors.decode(tensor(OnnxDataType.FLOAT8E5M2FNUZ, 3)
                .addInt32Data(0x40).addInt32Data(0x80).addInt32Data(0x7F).build());
        assertArrayEquals(new double[] {1.0, Double.NaN, 57344.0}, e5m2uz.toDoubleArray());

        // E8M0: 2^(bits - 127); 0xFF is NaN.
        OnnxTensor e8m0 = OnnxTensors.decode(raw(tensor(OnnxDataType.FLOAT8E8M0, 3), le(3).put((byte) 127).put((byte) 130).put((byte) 0xFF)));
        assertArrayEquals(new double[] {1.0, 8.0, Double.NaN}, e8m0.toDoubleArray());
    }

    @Test
    void float4E2M1PacksTwoPerByte() {
        // Codes 0..7 are 0, 0.5, 1, 1.5, 2, 3, 4, 6; bit 3 is the sign. Bytes 0x71 = (0.5, 6), 0xA0 = (0, -1).
        OnnxTensor t = OnnxTensors.decode(raw(tensor(OnnxDataType.FLOAT4E2M1, 4), le(2).put((byte) 0x71).put((byte) 0xA0)));
        assertArrayEquals(new double[] {0.5, 6.0, 0.0, -1.0}, t.toDoubleArray());
        assertArrayEquals(new byte[] {1, 7, 0, 10}, t.bytes(), "elements keep their 4-bit codes");
    }

    /** Every data type tokc knows decodes from raw_data with the documented array type. */
    @ParameterizedTest
    @EnumSource(value = OnnxDataType.class, mode = EnumSource.Mode.EXCLUDE, names = {"UNDEFINED", "STRING"})
    void everyFixedSizeTypeDecodesFromRawData(OnnxDataType dtype) {
        int count = 6;
        int bytes = (count * dtype.bits() + 7) / 8;
        OnnxTensor t = OnnxTensors.decode(raw(tensor(dtype, 2, 3), le(bytes)));
        assertEquals(dtype, t.dtype());
        assertEquals(OnnxTensor.arrayClass(dtype), t.data().getClass());
        assertEquals(count, t.elementCount());
        Set<OnnxDataType> complex = EnumSet.of(OnnxDataType.COMPLEX64, OnnxDataType.COMPLEX128);
        if (!complex.contains(dtype)) {
            // E8M0 is a pure exponent: its all-zero pattern is the smallest power of two, not zero.
            double zero = dtype == OnnxDataType.FLOAT8E8M0 ? Math.scalb(1.0, -127) : 0.0;
            for (int i = 0; i < count; i++) assertEquals(zero, t.getDouble(i), dtype + " all-zero bits");
        }
    }

    @Test
    void countMismatchesNameTheTensorAndField() {
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> OnnxTensors.decode(tensor(OnnxDataType.FLOAT, 3).addFloatData(1).build()));
        assertTrue(e.getMessage().contains("'t'") && e.getMessage().contains("float_data"), e.getMessage());
        ModelFormatException r = assertThrows(ModelFormatException.class,
                () -> OnnxTensors.decode(raw(tensor(OnnxDataType.INT64, 2), le(12))));
        assertTrue(r.getMessage().contains("raw_data") && r.getMessage().contains("16 bytes"), r.getMessage());
    }

    @Test
    void unknownTypesSegmentsAndMissingDirectoriesAreRejected() {
        assertThrows(ModelFormatException.class, () -> OnnxTensors.decode(TensorProto.newBuilder().setDataType(99).build()));
        assertThrows(ModelFormatException.class, () -> OnnxTensors.decode(TensorProto.newBuilder().build()));
        assertThrows(ModelFormatException.class, () -> OnnxTensors.decode(tensor(OnnxDataType.FLOAT, 1)
                .setSegment(TensorProto.Segment.newBuilder().setBegin(0).setEnd(1)).addFloatData(1).build()));
        assertThrows(ModelFormatException.class, () -> OnnxTensors.decode(tensor(OnnxDataType.FLOAT, 1)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL).build()));
        assertThrows(ModelFormatException.class, () -> OnnxTensors.decode(tensor(OnnxDataType.FLOAT, -1).build()));
    }

    @Test
    void dataTypeCodesMirrorTheGeneratedEnum() {
        for (TensorProto.DataType generated : TensorProto.DataType.values()) {
            OnnxDataType mine = OnnxDataType.fromCode(generated.getNumber()).orElseThrow();
            assertEquals(generated.name(), mine.name());
        }
        assertEquals(TensorProto.DataType.values().length, OnnxDataType.values().length);
        assertFalse(OnnxDataType.fromCode(1000).isPresent());
    }

    @Test
    void tensorValuesMustMatchTheirShape() {
        assertThrows(IllegalArgumentException.class, () -> OnnxTensor.of("x", OnnxDataType.FLOAT, new long[] {2}, new float[3]));
        assertThrows(IllegalArgumentException.class, () -> OnnxTensor.of("x", OnnxDataType.FLOAT, new long[] {2}, new double[2]));
        assertEquals("OnnxTensor['x' FLOAT[2]]", OnnxTensor.of("x", OnnxDataType.FLOAT, new long[] {2}, new float[2]).toString());
    }
}
