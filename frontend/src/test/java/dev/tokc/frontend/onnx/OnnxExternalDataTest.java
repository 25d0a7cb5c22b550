package dev.tokc.frontend.onnx;

import dev.tokc.frontend.ModelFormatException;
import dev.tokc.frontend.onnx.proto.ModelProto;
import dev.tokc.frontend.onnx.proto.StringStringEntryProto;
import dev.tokc.frontend.onnx.proto.TensorProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * External data: a model whose initializer lives in a side file is written into a temporary directory and
 * loaded back; locations that escape the model's directory and ranges past the end of the file are rejected.
 */
class OnnxExternalDataTest {

    /** The tiny test model with its initializer "w" moved to {@code location} at {@code offset}. */
    private static ModelProto withExternalW(String location, Long offset, Long length) {
        TensorProto.Builder w = TensorProto.newBuilder().setName("w").setDataType(OnnxDataType.FLOAT.code()).addDims(3)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(entry("location", location));
        if (offset != null) w.addExternalData(entry("offset", offset.toString()));
        if (length != null) w.addExternalData(entry("length", length.toString()));
        ModelProto m = OnnxModelTest.tinyModel();
        return m.toBuilder().setGraph(m.getGraph().toBuilder().setInitializer(0, w)).build();
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    private static byte[] floatsAt(int offset, float... values) {
        ByteBuffer b = ByteBuffer.allocate(offset + 4 * values.length + 5).order(ByteOrder.LITTLE_ENDIAN);
        b.position(offset);
        for (float v : values) b.putFloat(v);
        return b.array(); // five trailing bytes: another tensor's data, which the length must exclude
    }

    private static OnnxModel write(Path dir, ModelProto model) throws IOException {
        Path file = dir.resolve("model.onnx");
        Files.write(file, model.toByteArray());
        return OnnxModel.load(file);
    }

    @Test
    void initializerIsReadFromItsRangeOfTheSideFile(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("weights"));
        Files.write(dir.resolve("weights/data.bin"), floatsAt(64, 1f, -2f, 3.5f));
        OnnxModel model = write(dir, withExternalW("weights/data.bin", 64L, 12L));

        assertArrayEquals(new float[] {1f, -2f, 3.5f}, model.tensor("w").floats());
        OnnxExternalData ext = model.externalData(model.initializer("w").orElseThrow()).orElseThrow();
        assertEquals(dir.toRealPath().resolve("weights/data.bin"), ext.file());
        assertEquals(64, ext.offset());
        assertEquals(12, ext.length());
    }

    @Test
    void missingLengthMeansToTheEndOfTheFile(@TempDir Path dir) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putFloat(4).putFloat(5).putFloat(6);
        Files.write(dir.resolve("w.bin"), b.array());
        OnnxModel model = write(dir, withExternalW("w.bin", null, null));
        assertArrayEquals(new float[] {4f, 5f, 6f}, model.tensor("w").floats());
    }

    @Test
    void wrongLengthForTheShapeIsAFormatError(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("w.bin"), floatsAt(0, 1f, 2f, 3f));
        OnnxModel model = write(dir, withExternalW("w.bin", 0L, 8L));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> model.tensor("w"));
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("12 bytes"), e.getMessage());
    }

    @Test
    void rangePastTheEndOfTheFileIsRejected(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("w.bin"), new byte[16]);
        OnnxModel model = write(dir, withExternalW("w.bin", 8L, 12L));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> model.tensor("w"));
        assertTrue(e.getMessage().contains("runs past the end"), e.getMessage());
        OnnxModel pastEnd = write(dir, withExternalW("w.bin", 17L, null));
        assertThrows(ModelFormatException.class, () -> pastEnd.tensor("w"));
    }

    @Test
    void locationsOutsideTheModelDirectoryAreRejected(@TempDir Path root) throws IOException {
        Path dir = Files.createDirectories(root.resolve("model"));
        Files.write(root.resolve("secret.bin"), new byte[12]);
        Files.write(dir.resolve("w.bin"), new byte[12]);

        ModelFormatException up = assertThrows(ModelFormatException.class,
                () -> write(dir, withExternalW("../secret.bin", null, null)).tensor("w"));
        assertTrue(up.getMessage().contains("outside the model's directory"), up.getMessage());
        assertThrows(ModelFormatException.class,
                () -> write(dir, withExternalW("sub/../../secret.bin", null, null)).tensor("w"));
        ModelFormatException absolute = assertThrows(ModelFormatException.class,
                () -> write(dir, withExternalW(root.resolve("secret.bin").toString(), null, null)).tensor("w"));
        assertTrue(absolute.getMessage().contains("absolute"), absolute.getMessage());

        Path link = dir.resolve("link.bin");
        try {
            Files.createSymbolicLink(link, root.resolve("secret.bin"));
        } catch (UnsupportedOperationException | IOException e) {
            return; // no symbolic links on this file system: nothing more to check
        }
        ModelFormatException linked = assertThrows(ModelFormatException.class,
                () -> write(dir, withExternalW("link.bin", null, null)).tensor("w"));
        assertTrue(linked.getMessage().contains("outside"), linked.getMessage());
    }

    @Test
    void missingFileAndBadEntriesAreFormatErrors(@TempDir Path dir) throws IOException {
        ModelFormatException missing = assertThrows(ModelFormatException.class,
                () -> write(dir, withExternalW("nope.bin", null, null)).tensor("w"));
        assertTrue(missing.getMessage().contains("nope.bin") && missing.getMessage().contains("model.onnx"),
                missing.getMessage());
        Files.write(dir.resolve("w.bin"), new byte[12]);
        assertThrows(ModelFormatException.class, () -> write(dir, withExternalW("w.bin", -4L, null)).tensor("w"));
        assertThrows(ModelFormatException.class, () -> write(dir, withExternalW("", null, null)).tensor("w"));
    }
}
