package dev.tokc.frontend.safetensors;

import static org.junit.jupiter.api.Assertions.*;

import dev.tokc.frontend.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every malformed file is rejected with a message naming the file and the tensor or field at fault. */
class SafetensorsMalformedTest {
    @TempDir
    Path dir;

    private ModelFormatException rejectRaw(String name, byte[] bytes) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, bytes);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(file).close());
        assertTrue(e.getMessage().contains(name), "message names the file: " + e.getMessage());
        return e;
    }

    private ModelFormatException reject(String name, String header, int dataBytes) throws IOException {
        Path file = dir.resolve(name);
        SafetensorsWriter.writeRaw(file, header.getBytes(StandardCharsets.UTF_8), new byte[dataBytes]);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(file).close());
        assertTrue(e.getMessage().contains(name), "message names the file: " + e.getMessage());
        return e;
    }

    private static void assertMentions(ModelFormatException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "expected '" + p + "' in: " + e.getMessage());
        }
    }

    @Test
    void fileShorterThanEightBytes() throws IOException {
        assertMentions(rejectRaw("short.safetensors", new byte[] {1, 2, 3}), "3 bytes", "8-byte");
        assertMentions(rejectRaw("empty.safetensors", new byte[0]), "0 bytes");
    }

    @Test
    void headerLengthTooLargeOrPastEndOfFile() throws IOException {
        byte[] huge = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(200_000_000L).array();
        assertMentions(rejectRaw("huge.safetensors", huge), "header length 200000000", "limit");
        byte[] negative = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array();
        assertMentions(rejectRaw("negative.safetensors", negative), "18446744073709551615");
        byte[] past = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(100).array();
        assertMentions(rejectRaw("past.safetensors", past), "header length 100", "past the end");
    }

    @Test
    void invalidJson() throws IOException {
        assertMentions(reject("json.safetensors", "{\"a\": {\"dtype\": ", 0), "not valid JSON");
        assertMentions(reject("array.safetensors", "[1, 2]", 0), "JSON object");
        assertMentions(reject("trailing.safetensors", "{} {}", 0), "not valid JSON");
        assertMentions(reject("dup.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
                + "\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0), "not valid JSON", "Duplicate field 'a'");
        byte[] badUtf8 = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'};
        Path file = dir.resolve("utf8.safetensors");
        SafetensorsWriter.writeRaw(file, badUtf8, new byte[0]);
        assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(file).close());
    }

    @Test
    void headerPaddedWithSpacesIsAccepted() throws IOException {
        Path file = dir.resolve("padded.safetensors");
        SafetensorsWriter.writeRaw(file, "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}     "
                .getBytes(StandardCharsets.UTF_8), new byte[] {7, 9});
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(9, f.tensor("a").getLong(1));
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            missing dtype        | {"w":{"shape":[2],"data_offsets":[0,8]}}                            | 8 | 'w' | missing field 'dtype'
            missing shape        | {"w":{"dtype":"F32","data_offsets":[0,8]}}                          | 8 | 'w' | missing field 'shape'
            missing offsets      | {"w":{"dtype":"F32","shape":[2]}}                                   | 8 | 'w' | missing field 'data_offsets'
            unknown dtype        | {"w":{"dtype":"F12","shape":[2],"data_offsets":[0,8]}}              | 8 | 'w' | unknown dtype 'F12'
            unsupported dtype    | {"w":{"dtype":"U32","shape":[2],"data_offsets":[0,8]}}              | 8 | 'w' | unknown dtype 'U32'
            dtype not a string   | {"w":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}                  | 8 | 'w' | 'dtype' must be a string
            negative dim         | {"w":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,8]}}           | 8 | 'w' | negative dimension -1
            fractional dim       | {"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}            | 8 | 'w' | shape[0] must be an integer
            shape not array      | {"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}                | 8 | 'w' | 'shape' must be an array
            begin after end      | {"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}              | 8 | 'w' | begin <= end
            negative begin       | {"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}             | 8 | 'w' | begin <= end
            three offsets        | {"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}}            | 8 | 'w' | [begin, end]
            past data end        | {"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}             | 8 | 'w' | past the end of the data area (8 bytes)
            size mismatch        | {"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}              | 8 | 'w' | needs 12 bytes
            shape overflow       | {"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}} | 8 | 'w' | overflows
            unknown field        | {"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}        | 8 | 'w' | unknown field 'x'
            entry not object     | {"w":[1]}                                                           | 8 | 'w' | must be an object
            overlap              | {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}} | 12 | 'b' | overlaps tensor 'a'
            hole                 | {"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}} | 12 | 'b' | hole
            trailing bytes       | {"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}              | 12 | 4 | trailing bytes
            metadata not strings | {"__metadata__":{"format":1}}                                       | 0 | 'format' | must be a string
            metadata not object  | {"__metadata__":"pt"}                                               | 0 | __metadata__ | object of strings
            """)
    void rejectsMalformedHeader(String name, String header, int dataBytes, String where, String what) throws IOException {
        assertMentions(reject(name.replace(' ', '_') + ".safetensors", header, dataBytes), where, what);
    }

    @Test
    void metadataStringMapIsExposed() throws IOException {
        Path file = dir.resolve("meta.safetensors");
        SafetensorsWriter.writeRaw(file, "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"ü\"}}".getBytes(StandardCharsets.UTF_8),
                new byte[0]);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals("pt", f.metadata().get("format"));
            assertEquals("ü", f.metadata().get("note"));
            assertTrue(f.names().isEmpty());
        }
    }
}
