package dev.tokc.frontend.safetensors;

import static org.junit.jupiter.api.Assertions.*;

import dev.tokc.frontend.ModelFormatException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Offset arithmetic with offsets far beyond 2^31, checked on the header alone (no multi-gigabyte files). */
class SafetensorsHeaderTest {
    private static SafetensorsHeader parse(String json, long dataSize) {
        return SafetensorsHeader.parse("big.safetensors", json.getBytes(StandardCharsets.UTF_8), dataSize);
    }

    @Test
    void acceptsTensorsBeyondTwoAndFourGigabytes() {
        long three = 3L << 30;
        long seven = 7L << 30;
        // A 3 GiB f32 tensor then a 4 GiB bf16 tensor: both offsets and the second size exceed 2^31.
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[" + (three / 4) + "],\"data_offsets\":[0," + three + "]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[65536," + ((seven - three) / 2 / 65536) + "],\"data_offsets\":["
                + three + "," + seven + "]}}";
        SafetensorsHeader h = parse(json, seven);
        TensorEntry b = h.tensors().get(1);
        assertEquals(three, b.begin());
        assertEquals(seven, b.end());
        assertEquals(seven - three, b.byteLength());
        assertEquals(List.of(65536L, 32768L), b.shape());
        assertEquals((seven - three) / 2, b.elementCount());
    }

    @Test
    void rejectsEndPastDataAreaWithLongOffsets() {
        long five = 5L << 30;
        String json = "{\"a\":{\"dtype\":\"U8\",\"shape\":[" + five + "],\"data_offsets\":[0," + five + "]}}";
        var e = assertThrows(ModelFormatException.class, () -> parse(json, five - 1));
        assertTrue(e.getMessage().contains("'a'") && e.getMessage().contains(Long.toString(five)), e.getMessage());
    }

    @Test
    void rejectsSizeMismatchThatWouldWrapIn32Bits() {
        // 2^32 + 8 bytes declared for a shape of 2 f32 values: equal modulo 2^32, so int arithmetic would accept it.
        long end = (1L << 32) + 8;
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0," + end + "]}}";
        var e = assertThrows(ModelFormatException.class, () -> parse(json, end));
        assertTrue(e.getMessage().contains("needs 8 bytes"), e.getMessage());
    }

    @Test
    void rejectsOffsetsBeyondLongRange() {
        String json = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,18446744073709551616]}}";
        var e = assertThrows(ModelFormatException.class, () -> parse(json, 1));
        assertTrue(e.getMessage().contains("data_offsets[1]"), e.getMessage());
    }

    @Test
    void zeroSizedTensorsMayShareAnOffset() {
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"c\":{\"dtype\":\"F32\",\"shape\":[2,0],\"data_offsets\":[4,4]},"
                + "\"d\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
        assertEquals(4, parse(json, 8).tensors().size());
    }
}
