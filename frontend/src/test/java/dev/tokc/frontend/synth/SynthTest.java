package dev.tokc.frontend.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokc.frontend.hf.ModelConfig;
import dev.tokc.frontend.hf.ModelFamily;
import dev.tokc.frontend.hf.RopeConfig;
import dev.tokc.frontend.hf.WeightNames;
import dev.tokc.frontend.safetensors.Checkpoint;
import dev.tokc.frontend.safetensors.DType;
import dev.tokc.frontend.safetensors.TensorView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SynthTest {
    /** A llama small enough to write in milliseconds, with GQA and llama3 RoPE scaling like Llama 3.2. */
    static final Preset TINY_LLAMA = new Preset("tiny-llama", ModelFamily.LLAMA, 64, 2, 4, 2, 16, true, 160, 300, 512,
            1e-5, 500000.0, Optional.of(new RopeConfig.Llama3(32.0, 1.0, 4.0, 256)), false, 1, 2);

    /** A qwen2 with q/k/v biases and tied embeddings, like Qwen2.5. */
    static final Preset TINY_QWEN = new Preset("tiny-qwen", ModelFamily.QWEN2, 56, 3, 7, 1, 8, false, 96, 500, 1024,
            1e-6, 1000000.0, Optional.empty(), true, 0, 0);

    @TempDir
    Path tmp;

    @Test
    void writtenCheckpointReadsBackWithTheImporter() throws IOException {
        for (Preset p : List.of(TINY_LLAMA, TINY_QWEN)) {
            for (DType dtype : List.of(DType.F32, DType.BF16, DType.F16)) {
                Path dir = tmp.resolve(p.name() + "-" + dtype);
                Synth.Result r = Synth.write(p, dir, 42, dtype);
                ModelConfig config = ModelConfig.read(dir);
                String torch = switch (dtype) {
                    case F32 -> "float32";
                    case BF16 -> "bfloat16";
                    default -> "float16";
                };
                assertEquals(ModelConfig.parse("expected", p.configJson(torch, 42).toString()), config);
                assertEquals(List.of(dir.resolve("config.json"), dir.resolve("model.safetensors")), r.files());
                try (Checkpoint ckpt = Checkpoint.open(dir)) {
                    assertEquals(List.of(), WeightNames.of(config).verify(ckpt), "no unexpected tensors");
                    assertEquals(WeightNames.of(config).expected().size(), r.tensors());
                    assertEquals(p.parameterCount() * dtype.byteSize(), r.tensorBytes());
                    assertEquals(dtype, ckpt.tensor("model.embed_tokens.weight").dtype());
                }
            }
        }
    }

    @Test
    void configIsInTheRealModelsFormatAndSaysThereIsNoTokenizer() throws IOException {
        Synth.write(TINY_LLAMA, tmp, 1, DType.BF16);
        JsonNode c = new ObjectMapper().readTree(tmp.resolve("config.json").toFile());
        assertEquals("LlamaForCausalLM", c.get("architectures").get(0).asText());
        assertEquals("bfloat16", c.get("torch_dtype").asText());
        assertEquals("llama3", c.get("rope_scaling").get("rope_type").asText());
        assertTrue(c.get("tokc_synth").get("tokenizer").asText().contains("no tokenizer"));
        assertFalse(Files.exists(tmp.resolve("tokenizer.json")));
        ModelConfig config = ModelConfig.read(tmp);
        assertEquals(new RopeConfig.Llama3(32.0, 1.0, 4.0, 256), config.rope().orElseThrow().scaling());
        assertEquals(16, config.headDim());
    }

    @Test
    void qwenHasBiasesAndNoLmHead() throws IOException {
        Synth.write(TINY_QWEN, tmp, 1, DType.F32);
        try (Checkpoint ckpt = Checkpoint.open(tmp)) {
            assertTrue(ckpt.contains("model.layers.2.self_attn.k_proj.bias"));
            assertEquals(List.of(8L), ckpt.tensor("model.layers.2.self_attn.k_proj.bias").shape());
            assertFalse(ckpt.contains("lm_head.weight"));
        }
    }

    @Test
    void largeCheckpointsAreShardedWithAnIndex() throws IOException {
        // embed_tokens alone is 300 x 64 x 4 = 76,800 bytes: a 100 kB limit forces several shards.
        Synth.Result r = Synth.write(TINY_LLAMA, tmp, 3, DType.F32, 100_000);
        assertTrue(r.files().size() > 3, r.files().toString());
        assertEquals(tmp.resolve("model.safetensors.index.json"), r.files().getLast());
        assertTrue(Files.exists(tmp.resolve("model-00001-of-0000" + (r.files().size() - 2) + ".safetensors")));
        JsonNode index = new ObjectMapper().readTree(tmp.resolve("model.safetensors.index.json").toFile());
        assertEquals(r.tensorBytes(), index.get("metadata").get("total_size").asLong());
        try (Checkpoint ckpt = Checkpoint.open(tmp)) {
            assertEquals(r.files().size() - 2, ckpt.shards().size());
            assertEquals(List.of(), WeightNames.of(ModelConfig.read(tmp)).verify(ckpt));
            for (var shard : ckpt.shards()) {
                long bytes = shard.names().stream().mapToLong(n -> shard.find(n).orElseThrow().byteSize()).sum();
                assertTrue(bytes <= 100_000 || shard.names().size() == 1, shard.path() + " holds " + bytes);
            }
        }
        // Rewriting unsharded removes the stale shards and index, which would otherwise shadow model.safetensors.
        Synth.write(TINY_LLAMA, tmp, 3, DType.BF16);
        assertFalse(Files.exists(tmp.resolve("model.safetensors.index.json")));
        assertFalse(Files.exists(tmp.resolve("model-00001-of-0000" + (r.files().size() - 2) + ".safetensors")));
        try (Checkpoint ckpt = Checkpoint.open(tmp)) {
            assertEquals(DType.BF16, ckpt.tensor("lm_head.weight").dtype());
        }
    }

    @Test
    void deterministicPerSeedAndIndependentOfSharding() throws IOException {
        Synth.write(TINY_LLAMA, tmp.resolve("a"), 7, DType.F32);
        Synth.write(TINY_LLAMA, tmp.resolve("b"), 7, DType.F32, 50_000);
        Synth.write(TINY_LLAMA, tmp.resolve("c"), 8, DType.F32);
        String name = "model.layers.1.mlp.down_proj.weight";
        try (Checkpoint a = Checkpoint.open(tmp.resolve("a"));
                Checkpoint b = Checkpoint.open(tmp.resolve("b"));
                Checkpoint c = Checkpoint.open(tmp.resolve("c"))) {
            assertArrayEquals(a.tensor(name).toFloatArray(), b.tensor(name).toFloatArray());
            assertFalse(java.util.Arrays.equals(a.tensor(name).toFloatArray(), c.tensor(name).toFloatArray()));
            // Different tensors of one checkpoint get unrelated streams, not copies.
            assertNotEquals(a.tensor("model.layers.0.mlp.up_proj.weight").getFloat(0),
                    a.tensor("model.layers.0.mlp.gate_proj.weight").getFloat(0));
        }
    }

    @Test
    void valuesHaveTheIntendedScale() throws IOException {
        Synth.write(TINY_LLAMA, tmp, 5, DType.F32);
        try (Checkpoint ckpt = Checkpoint.open(tmp)) {
            assertMoments(ckpt.tensor("model.embed_tokens.weight"), 0, 0.02);
            assertMoments(ckpt.tensor("model.layers.0.self_attn.q_proj.weight"), 0, 0.02);
            assertMoments(ckpt.tensor("model.layers.0.mlp.down_proj.weight"), 0, 0.02 / Math.sqrt(4));
            assertMoments(ckpt.tensor("model.layers.1.input_layernorm.weight"), 1, 0.02);
        }
    }

    @Test
    void chunkBoundariesDoNotChangeTheStream() {
        long seed = RandomWeights.tensorSeed(9, "w");
        float[] whole = new float[3000];
        RandomWeights.fill(seed, 0, 0f, 1f, whole, whole.length);
        float[] tail = new float[1000];
        RandomWeights.fill(seed, 2000, 0f, 1f, tail, tail.length);
        assertArrayEquals(java.util.Arrays.copyOfRange(whole, 2000, 3000), tail);
    }

    @Test
    void realPresetsParseAndHaveTheRealParameterCounts() {
        // Parameter counts as published for these checkpoints (tied embeddings counted once).
        assertEquals(1_100_048_384L, Preset.TINYLLAMA_1_1B.parameterCount());
        assertEquals(1_235_814_400L, Preset.LLAMA_3_2_1B.parameterCount());
        assertEquals(494_032_768L, Preset.QWEN2_5_0_5B.parameterCount());
        ModelConfig llama32 = Preset.named("llama-3.2-1b").modelConfig();
        assertEquals(8, llama32.numKvHeads());
        assertEquals(64, llama32.headDim());
        assertTrue(llama32.tieWordEmbeddings());
        assertEquals(500000.0, llama32.rope().orElseThrow().theta());
        ModelConfig qwen = Preset.named("qwen2.5-0.5b").modelConfig();
        assertTrue(qwen.attentionBias());
        assertFalse(qwen.attentionOutputBias());
        assertTrue(qwen.slidingWindow().isEmpty(), "use_sliding_window is false in Qwen2.5's config");
        assertEquals(64, qwen.headDim());
        ModelConfig tiny = Preset.named("tinyllama-1.1b").modelConfig();
        assertFalse(tiny.tieWordEmbeddings());
        assertEquals(5632, tiny.intermediateSize());
        assertThrows(IllegalArgumentException.class, () -> Preset.named("gpt-5"));
    }

    @Test
    void rejectsUnsupportedDtypes() {
        assertThrows(IllegalArgumentException.class, () -> Synth.write(TINY_LLAMA, tmp, 1, DType.I8));
        assertThrows(IllegalArgumentException.class, () -> Synth.write(TINY_LLAMA, tmp, 1, DType.F8_E4M3));
    }

    private static void assertMoments(TensorView t, double mean, double std) {
        float[] v = t.toFloatArray();
        double sum = 0;
        double sq = 0;
        for (float x : v) {
            sum += x;
            sq += x * (double) x;
        }
        double m = sum / v.length;
        double s = Math.sqrt(sq / v.length - m * m);
        assertEquals(mean, m, 4 * std / Math.sqrt(v.length) + 1e-6, t.name() + " mean");
        assertEquals(std, s, std * 0.1, t.name() + " std");
    }
}
