package dev.tokc.frontend.hf;

import dev.tokc.ir.testing.SharedData;
import static org.junit.jupiter.api.Assertions.*;

import dev.tokc.frontend.safetensors.Checkpoint;
import dev.tokc.frontend.safetensors.TensorView;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** config.json of every ../shared model, and its tensors against the names and shapes WeightNames derives. */
class SharedModelsConfigTest {
    private static ModelConfig config(String model) throws IOException {
        return ModelConfig.read(SharedData.root().resolve("models").resolve(model));
    }

    @Test
    void everyCheckpointHasExactlyTheExpectedTensorsAndShapes() throws IOException {
        for (Path d : SharedData.modelDirs()) {
            ModelConfig cfg = ModelConfig.read(d);
            try (Checkpoint c = Checkpoint.open(d)) {
                WeightNames names = WeightNames.of(cfg, c.names());
                Set<String> expected = new HashSet<>();
                for (WeightNames.Expected e : names.expected()) {
                    expected.add(e.name());
                    TensorView t = c.find(e.name()).orElseThrow(() -> new AssertionError(d + ": missing " + e.name()));
                    assertEquals(e.shape(), t.shape(), d + ": " + e.name());
                }
                assertEquals(expected, c.names(), d + ": checkpoint tensors vs WeightNames.expected()");
                assertEquals(List.of(), names.verify(c), d.toString());
            }
        }
    }

    @Test
    void shakespeareLlama() throws IOException {
        ModelConfig c = config("shakespeare-llama");
        assertEquals(ModelFamily.LLAMA, c.family());
        assertEquals(List.of("LlamaForCausalLM"), c.architectures());
        assertEquals(192, c.hiddenSize());
        assertEquals(512, c.intermediateSize());
        assertEquals(6, c.numLayers());
        assertEquals(6, c.numHeads());
        assertEquals(2, c.numKvHeads());
        assertEquals(3, c.groupSize());
        assertEquals(32, c.headDim());
        assertEquals(1024, c.vocabSize());
        assertEquals(512, c.maxPositionEmbeddings());
        assertEquals(1e-5, c.normEps());
        assertEquals(Activation.SILU, c.activation());
        assertTrue(c.tieWordEmbeddings());
        assertFalse(c.attentionBias() || c.attentionOutputBias() || c.mlpBias() || c.qkNorm());
        assertEquals(OptionalInt.empty(), c.slidingWindow());
        assertEquals(new RopeConfig(10000.0, 32, new RopeConfig.Default()), c.rope().orElseThrow());
        assertEquals(OptionalInt.of(0), c.bosTokenId());
        assertEquals(List.of(1), c.eosTokenIds());
        assertEquals(Optional.of("float32"), c.dtype());
        assertEquals(1 / Math.sqrt(32), c.attentionScale(), 1e-15);
    }

    @Test
    void tinyModels() throws IOException {
        ModelConfig gqa = config("tiny-random-llama-gqa");
        assertFalse(gqa.tieWordEmbeddings());
        assertEquals(500000.0, gqa.rope().orElseThrow().theta());
        assertEquals(16, gqa.headDim());
        assertEquals(1e-6, gqa.normEps());

        ModelConfig qwen = config("tiny-random-qwen2");
        assertEquals(ModelFamily.QWEN2, qwen.family());
        assertTrue(qwen.tieWordEmbeddings());
        assertTrue(qwen.attentionBias());
        assertFalse(qwen.attentionOutputBias());
        assertEquals(16, qwen.headDim());
        assertTrue(qwen.bosTokenId().isEmpty());
        assertTrue(qwen.eosTokenIds().isEmpty());
        assertEquals(OptionalInt.empty(), qwen.slidingWindow());

        ModelConfig mistral = config("tiny-random-mistral");
        assertEquals(8, mistral.numHeads());
        assertEquals(2, mistral.numKvHeads());
        assertEquals(8, mistral.headDim());
        assertEquals(64, mistral.qDim());
        assertEquals(16, mistral.kvDim());
        assertEquals(OptionalInt.empty(), mistral.slidingWindow()); // explicit null disables the 4096 default
        assertEquals(131072, mistral.maxPositionEmbeddings());

        ModelConfig gpt2 = config("tiny-random-gpt2");
        assertEquals(ModelFamily.GPT2, gpt2.family());
        assertEquals(64, gpt2.hiddenSize());
        assertEquals(256, gpt2.intermediateSize()); // n_inner null: 4 x n_embd
        assertEquals(2, gpt2.numLayers());
        assertEquals(4, gpt2.numHeads());
        assertEquals(4, gpt2.numKvHeads());
        assertEquals(128, gpt2.maxPositionEmbeddings());
        assertEquals(Activation.GELU_TANH, gpt2.activation());
        assertTrue(gpt2.tieWordEmbeddings());
        assertTrue(gpt2.rope().isEmpty());
        assertTrue(gpt2.attentionBias() && gpt2.attentionOutputBias() && gpt2.mlpBias());
        assertEquals(List.of(50256), gpt2.eosTokenIds());
    }

    @Test
    void gpt2WeightsAreConv1dInOut() throws IOException {
        ModelConfig cfg = config("tiny-random-gpt2");
        WeightNames w = WeightNames.of(cfg);
        assertEquals("transformer.h.1.attn.c_attn.weight", w.name(WeightNames.Role.QKV, 1));
        WeightNames.Tensor qkv = w.find(WeightNames.Role.QKV).orElseThrow();
        assertTrue(qkv.conv1d());
        assertEquals(List.of(64L, 192L), qkv.shape());
        assertFalse(w.has(WeightNames.Role.LM_HEAD));
        // Without the transformer. prefix (the original OpenAI conversion).
        WeightNames bare = WeightNames.of(cfg, Set.of("wte.weight", "wpe.weight"));
        assertEquals("h.0.mlp.c_fc.weight", bare.name(WeightNames.Role.UP, 0));
        assertEquals("wte.weight", bare.name(WeightNames.Role.EMBED_TOKENS));
    }
}
