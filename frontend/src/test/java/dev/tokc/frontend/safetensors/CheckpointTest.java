package dev.tokc.frontend.safetensors;

import static org.junit.jupiter.api.Assertions.*;

import dev.tokc.frontend.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
    @TempDir
    Path dir;

    private void writeShards() throws IOException {
        new SafetensorsWriter().metadata("format", "pt")
                .addFloats("model.embed_tokens.weight", DType.F32, new long[] {2, 2}, 1, 2, 3, 4)
                .addFloats("model.layers.0.w", DType.BF16, new long[] {2}, 5, 6)
                .write(dir.resolve("model-00001-of-00002.safetensors"));
        new SafetensorsWriter()
                .addFloats("model.layers.1.w", DType.F16, new long[] {2}, 7, 8)
                .addFloats("lm_head.weight", DType.F32, new long[] {1}, 9)
                .write(dir.resolve("model-00002-of-00002.safetensors"));
    }

    private void writeIndex(String weightMap) throws IOException {
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"metadata\":{\"total_size\":28},\"weight_map\":" + weightMap + "}");
    }

    private static final String GOOD_MAP = "{\"model.embed_tokens.weight\":\"model-00001-of-00002.safetensors\","
            + "\"model.layers.0.w\":\"model-00001-of-00002.safetensors\","
            + "\"model.layers.1.w\":\"model-00002-of-00002.safetensors\","
            + "\"lm_head.weight\":\"model-00002-of-00002.safetensors\"}";

    @Test
    void findsTensorsAcrossShards() throws IOException {
        writeShards();
        writeIndex(GOOD_MAP);
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(2, c.shards().size());
            assertEquals(Set.of("model.embed_tokens.weight", "model.layers.0.w", "model.layers.1.w", "lm_head.weight"), c.names());
            assertEquals(4f, c.tensor("model.embed_tokens.weight").getFloat(3));
            assertEquals(6f, c.tensor("model.layers.0.w").getFloat(1));
            assertEquals(7f, c.tensor("model.layers.1.w").getFloat(0));
            assertEquals(9f, c.tensor("lm_head.weight").getFloat(0));
            assertTrue(c.contains("lm_head.weight"));
            assertTrue(c.find("nope").isEmpty());
            var e = assertThrows(ModelFormatException.class, () -> c.tensor("nope"));
            assertTrue(e.getMessage().contains("'nope'"), e.getMessage());
        }
        // The index file itself can be given too.
        try (Checkpoint c = Checkpoint.open(dir.resolve(Checkpoint.INDEX_FILE))) {
            assertEquals(4, c.names().size());
        }
    }

    @Test
    void opensSingleFileDirectoryAndFile() throws IOException {
        new SafetensorsWriter().addFloats("a", DType.F32, new long[] {1}, 3).write(dir.resolve(Checkpoint.SINGLE_FILE));
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(3f, c.tensor("a").getFloat(0));
        }
        try (Checkpoint c = Checkpoint.open(dir.resolve(Checkpoint.SINGLE_FILE))) {
            assertEquals(Set.of("a"), c.names());
        }
    }

    @Test
    void rejectsDirectoryWithoutWeights() {
        var e = assertThrows(ModelFormatException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().contains(Checkpoint.INDEX_FILE), e.getMessage());
    }

    @Test
    void rejectsIndexNamingMissingShard() throws IOException {
        writeShards();
        writeIndex("{\"a\":\"model-00003-of-00002.safetensors\"}");
        var e = assertThrows(ModelFormatException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().contains("model-00003-of-00002.safetensors") && e.getMessage().contains(Checkpoint.INDEX_FILE),
                e.getMessage());
    }

    @Test
    void rejectsIndexPointingAtWrongShard() throws IOException {
        writeShards();
        writeIndex("{\"lm_head.weight\":\"model-00001-of-00002.safetensors\"}");
        var e = assertThrows(ModelFormatException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().contains("'lm_head.weight'") && e.getMessage().contains("no such tensor"), e.getMessage());
    }

    @Test
    void rejectsShardOutsideTheDirectory() throws IOException {
        writeShards();
        writeIndex("{\"a\":\"../model-00001-of-00002.safetensors\"}");
        var e = assertThrows(ModelFormatException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().contains("plain file names"), e.getMessage());
    }

    @Test
    void rejectsIndexWithoutWeightMap() throws IOException {
        writeShards();
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"metadata\":{}}");
        var e = assertThrows(ModelFormatException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().contains("weight_map"), e.getMessage());
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\":{\"a\":3}}");
        e = assertThrows(ModelFormatException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().contains("'a'"), e.getMessage());
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\":");
        e = assertThrows(ModelFormatException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
    }

    @Test
    void malformedShardIsReportedByName() throws IOException {
        writeShards();
        Files.write(dir.resolve("model-00002-of-00002.safetensors"), new byte[] {1, 2});
        writeIndex(GOOD_MAP);
        var e = assertThrows(ModelFormatException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().contains("model-00002-of-00002.safetensors"), e.getMessage());
    }
}
