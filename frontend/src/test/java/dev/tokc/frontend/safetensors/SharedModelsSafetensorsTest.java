package dev.tokc.frontend.safetensors;

import dev.tokc.ir.testing.SharedData;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Reads every ../shared/models checkpoint; spot values were read independently with numpy. */
class SharedModelsSafetensorsTest {
    @Test
    void opensEveryModel() throws IOException {
        for (Path d : SharedData.modelDirs()) {
            try (Checkpoint c = Checkpoint.open(d)) {
                assertFalse(c.names().isEmpty(), d.toString());
                for (String n : c.names()) {
                    TensorView t = c.tensor(n);
                    assertEquals(DType.F32, t.dtype(), n);
                    assertTrue(t.data().isMapped());
                }
                assertEquals("pt", c.shards().getFirst().metadata().get("format"));
            }
        }
    }

    @Test
    void spotChecksValues() throws IOException {
        Path models = SharedData.root().resolve("models");
        try (Checkpoint c = Checkpoint.open(models.resolve("shakespeare-llama"))) {
            assertEquals(56, c.names().size());
            TensorView emb = c.tensor("model.embed_tokens.weight");
            assertArrayEquals(new long[] {1024, 192}, emb.dims());
            assertEquals(-0.07343022525310516f, emb.getFloat(0));
            assertEquals(0.07489556819200516f, emb.getFloat(1));
            assertEquals(0.03902376815676689f, emb.getFloat(1024 * 192 - 1));
            assertEquals(-764.1007181243199, sum(emb), 1e-6);
            TensorView norm = c.tensor("model.norm.weight");
            assertEquals(1.245013952255249f, norm.getFloat(0));
            assertEquals(244.56751120090485, sum(norm), 1e-9);
        }
        try (Checkpoint c = Checkpoint.open(models.resolve("tiny-random-gpt2"))) {
            TensorView wte = c.tensor("transformer.wte.weight");
            assertEquals(0.012424196116626263f, wte.getFloat(0));
            assertEquals(7.145956675656802, sum(wte), 1e-9);
            assertEquals(1.028692603111267f, c.tensor("transformer.ln_f.weight").getFloat(0));
        }
        try (Checkpoint c = Checkpoint.open(models.resolve("tiny-random-qwen2"))) {
            assertEquals(8.96622137524372, sum(c.tensor("model.embed_tokens.weight")), 1e-9);
        }
    }

    private static double sum(TensorView t) {
        double s = 0;
        for (long i = 0; i < t.elementCount(); i++) {
            s += t.getFloat(i);
        }
        return s;
    }
}
