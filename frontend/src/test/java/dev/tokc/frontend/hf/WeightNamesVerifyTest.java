package dev.tokc.frontend.hf;

import static org.junit.jupiter.api.Assertions.*;

import dev.tokc.frontend.ModelFormatException;
import dev.tokc.frontend.safetensors.Checkpoint;
import dev.tokc.frontend.safetensors.DType;
import dev.tokc.frontend.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** WeightNames.verify on small synthetic gpt2 checkpoints written with SafetensorsWriter. */
class WeightNamesVerifyTest {
    @TempDir
    Path dir;

    private static final ModelConfig GPT2 = ModelConfig.parse("config.json", """
            {"model_type": "gpt2", "n_embd": 4, "n_layer": 1, "n_head": 2, "n_positions": 3, "vocab_size": 5}
            """);

    /** Writes every expected tensor (zeros), skipping {@code skip} and replacing the shape of {@code reshape}. */
    private Checkpoint write(WeightNames names, String skip, String reshape, String... extras) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        for (WeightNames.Expected e : names.expected()) {
            if (e.name().equals(skip)) {
                continue;
            }
            long[] shape = e.name().equals(reshape) ? new long[] {1} : e.shape().stream().mapToLong(Long::longValue).toArray();
            w.add(e.name(), DType.F32, shape, seg -> { });
        }
        for (String x : extras) {
            w.add(x, DType.U8, new long[] {1}, seg -> { });
        }
        Path file = dir.resolve(Checkpoint.SINGLE_FILE);
        w.write(file);
        return Checkpoint.open(file);
    }

    @Test
    void acceptsCompleteCheckpointAndReportsExtras() throws IOException {
        // The original OpenAI-converted gpt2 has no "transformer." prefix and carries the causal-mask buffer.
        WeightNames bare = WeightNames.of(GPT2, List.of("wte.weight"));
        try (Checkpoint c = write(bare, "", "", "h.0.attn.bias")) {
            assertEquals(List.of("h.0.attn.bias"), bare.verify(c));
            assertEquals(List.of(4L, 12L), c.tensor(bare.name(WeightNames.Role.QKV, 0)).shape());
        }
    }

    @Test
    void rejectsMissingTensor() throws IOException {
        WeightNames names = WeightNames.of(GPT2);
        try (Checkpoint c = write(names, "transformer.h.0.mlp.c_fc.bias", "")) {
            var e = assertThrows(ModelFormatException.class, () -> names.verify(c));
            assertTrue(e.getMessage().contains("missing tensor 'transformer.h.0.mlp.c_fc.bias'"), e.getMessage());
        }
    }

    @Test
    void rejectsWrongShape() throws IOException {
        WeightNames names = WeightNames.of(GPT2);
        try (Checkpoint c = write(names, "", "transformer.wpe.weight")) {
            var e = assertThrows(ModelFormatException.class, () -> names.verify(c));
            assertTrue(e.getMessage().contains("'transformer.wpe.weight' has shape [1] but config.json implies [3, 4]"),
                    e.getMessage());
        }
    }
}
