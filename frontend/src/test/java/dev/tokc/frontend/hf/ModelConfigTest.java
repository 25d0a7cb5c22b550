package dev.tokc.frontend.hf;

import static org.junit.jupiter.api.Assertions.*;

import dev.tokc.frontend.ModelFormatException;
import dev.tokc.frontend.hf.WeightNames.Role;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Per-family parsing, defaults and rejections, on config.json excerpts shaped like the published checkpoints. */
class ModelConfigTest {
    private static ModelConfig parse(String json) {
        return ModelConfig.parse("test/config.json", json);
    }

    private static ModelFormatException reject(String json, String... parts) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> parse(json));
        assertTrue(e.getMessage().startsWith("test/config.json: "), e.getMessage());
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "expected '" + p + "' in: " + e.getMessage());
        }
        return e;
    }

    private static final String LLAMA_32_1B = """
            {"architectures": ["LlamaForCausalLM"], "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
             "head_dim": 64, "hidden_act": "silu", "hidden_size": 2048, "intermediate_size": 8192,
             "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama", "num_attention_heads": 32,
             "num_hidden_layers": 16, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
             "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                              "original_max_position_embeddings": 8192, "rope_type": "llama3"},
             "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "vocab_size": 128256}
            """;

    @Test
    void llama3LegacyRopeScaling() {
        ModelConfig c = parse(LLAMA_32_1B);
        RopeConfig rope = c.rope().orElseThrow();
        assertEquals(500000.0, rope.theta());
        assertEquals(64, rope.rotaryDim());
        assertEquals(new RopeConfig.Llama3(32.0, 1.0, 4.0, 8192), rope.scaling());
        assertEquals(List.of(128001, 128008, 128009), c.eosTokenIds());
        assertEquals(Optional.of("bfloat16"), c.dtype());
        assertEquals(4, c.groupSize());
        assertTrue(c.tieWordEmbeddings());
    }

    @Test
    void transformers5RopeParametersWinOverLegacyKeys() {
        ModelConfig c = parse("""
                {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
                 "num_attention_heads": 4, "vocab_size": 10, "rope_theta": 1.0,
                 "rope_parameters": {"rope_theta": 20000.0, "rope_type": "linear", "factor": 2.0}}
                """);
        assertEquals(new RopeConfig(20000.0, 16, new RopeConfig.Linear(2.0)), c.rope().orElseThrow());
        ModelConfig legacy = parse("""
                {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
                 "num_attention_heads": 4, "vocab_size": 10, "rope_theta": 30000.0,
                 "rope_scaling": {"type": "linear", "factor": 4.0}}
                """);
        assertEquals(new RopeConfig(30000.0, 16, new RopeConfig.Linear(4.0)), legacy.rope().orElseThrow());
    }

    @Test
    void llamaDefaults() {
        ModelConfig c = parse("""
                {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "vocab_size": 10, "attention_bias": true, "mlp_bias": true}
                """);
        assertEquals(4, c.numKvHeads());
        assertEquals(16, c.headDim());
        assertEquals(2048, c.maxPositionEmbeddings());
        assertEquals(1e-6, c.normEps());
        assertFalse(c.tieWordEmbeddings());
        assertEquals(new RopeConfig(10000.0, 16, new RopeConfig.Default()), c.rope().orElseThrow());
        assertTrue(c.attentionBias() && c.attentionOutputBias() && c.mlpBias());
        assertEquals(List.of(LayerAttention.FULL, LayerAttention.FULL), c.layerTypes());
        WeightNames w = WeightNames.of(c);
        assertEquals("model.layers.1.self_attn.o_proj.bias", w.name(Role.O_BIAS, 1));
        assertEquals("model.layers.0.mlp.down_proj.bias", w.name(Role.DOWN_BIAS, 0));
        assertEquals("lm_head.weight", w.name(Role.LM_HEAD));
        // 3 model tensors + per layer: 2 norms, q/k/v/o with biases (8), gate/up/down with biases (6)
        assertEquals(3 + 2 * (2 + 8 + 6), w.expected().size());
    }

    @Test
    void gemma2() {
        ModelConfig c = parse("""
                {"architectures": ["Gemma2ForCausalLM"], "attn_logit_softcapping": 50.0, "bos_token_id": 2,
                 "eos_token_id": [1, 107], "final_logit_softcapping": 30.0, "head_dim": 256,
                 "hidden_act": "gelu_pytorch_tanh", "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 2304,
                 "intermediate_size": 9216, "max_position_embeddings": 8192, "model_type": "gemma2",
                 "num_attention_heads": 8, "num_hidden_layers": 4, "num_key_value_heads": 4, "pad_token_id": 0,
                 "query_pre_attn_scalar": 224, "rms_norm_eps": 1e-06, "rope_theta": 10000.0, "sliding_window": 4096,
                 "torch_dtype": "float32", "vocab_size": 256000}
                """);
        assertEquals(ModelFamily.GEMMA2, c.family());
        assertEquals(256, c.headDim());
        assertEquals(2048, c.qDim()); // not hidden_size
        assertEquals(Activation.GELU_TANH, c.activation());
        assertTrue(c.tieWordEmbeddings()); // gemma2's default
        assertEquals(OptionalDouble.of(50.0), c.attnLogitSoftcapping());
        assertEquals(OptionalDouble.of(30.0), c.finalLogitSoftcapping());
        assertEquals(OptionalDouble.of(224.0), c.queryPreAttnScalar());
        assertEquals(1 / Math.sqrt(224), c.attentionScale(), 1e-15);
        assertEquals(OptionalInt.of(4096), c.slidingWindow());
        assertEquals(List.of(LayerAttention.SLIDING, LayerAttention.FULL, LayerAttention.SLIDING, LayerAttention.FULL),
                c.layerTypes());
        WeightNames w = WeightNames.of(c);
        assertEquals("model.layers.3.pre_feedforward_layernorm.weight", w.name(Role.MLP_NORM, 3));
        assertEquals("model.layers.3.post_feedforward_layernorm.weight", w.name(Role.POST_MLP_NORM, 3));
        assertEquals("model.layers.3.post_attention_layernorm.weight", w.name(Role.POST_ATTN_NORM, 3));
        assertEquals(List.of(2304L, 2048L), w.find(Role.O).orElseThrow().shape());
        assertFalse(w.has(Role.LM_HEAD));

        // Absent softcapping keys take gemma2's defaults; explicit nulls disable them.
        ModelConfig defaults = parse("""
                {"model_type": "gemma2", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 10, "head_dim": 16,
                 "final_logit_softcapping": null}
                """);
        assertEquals(OptionalDouble.of(50.0), defaults.attnLogitSoftcapping());
        assertEquals(OptionalDouble.empty(), defaults.finalLogitSoftcapping());
        assertEquals(OptionalDouble.of(256.0), defaults.queryPreAttnScalar());
    }

    @Test
    void qwen3HasQkNormAndExplicitHeadDim() {
        ModelConfig c = parse("""
                {"architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "bos_token_id": 151643,
                 "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu", "hidden_size": 1024,
                 "intermediate_size": 3072, "max_position_embeddings": 40960, "max_window_layers": 28,
                 "model_type": "qwen3", "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8,
                 "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null,
                 "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_sliding_window": false, "vocab_size": 151936}
                """);
        assertTrue(c.qkNorm());
        assertEquals(128, c.headDim());
        assertEquals(2048, c.qDim());
        assertFalse(c.attentionBias());
        assertEquals(1e6, c.rope().orElseThrow().theta());
        WeightNames w = WeightNames.of(c);
        assertEquals("model.layers.5.self_attn.q_norm.weight", w.name(Role.Q_NORM, 5));
        assertEquals(List.of(128L), w.find(Role.K_NORM).orElseThrow().shape());
        assertFalse(w.has(Role.Q_BIAS));
    }

    @Test
    void qwen2SlidingWindowOnlyWhenEnabled() {
        String base = """
                {"model_type": "qwen2", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 4,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 10, "sliding_window": 256,
                 "max_window_layers": 2, "use_sliding_window": %s}
                """;
        ModelConfig off = parse(base.formatted("false"));
        assertEquals(OptionalInt.empty(), off.slidingWindow());
        assertEquals(Collections.nCopies(4, LayerAttention.FULL), off.layerTypes());
        ModelConfig on = parse(base.formatted("true"));
        assertEquals(OptionalInt.of(256), on.slidingWindow());
        assertEquals(List.of(LayerAttention.FULL, LayerAttention.FULL, LayerAttention.SLIDING, LayerAttention.SLIDING),
                on.layerTypes());
        WeightNames w = WeightNames.of(on);
        assertEquals("model.layers.0.self_attn.q_proj.bias", w.name(Role.Q_BIAS, 0));
        assertFalse(w.has(Role.O_BIAS));
    }

    @Test
    void phi3PartialRotaryAndFusedProjections() {
        ModelConfig c = parse("""
                {"architectures": ["Phi3ForCausalLM"], "bos_token_id": 1, "eos_token_id": 32000, "hidden_act": "silu",
                 "hidden_size": 3072, "intermediate_size": 8192, "max_position_embeddings": 4096, "model_type": "phi3",
                 "num_attention_heads": 32, "num_hidden_layers": 2, "num_key_value_heads": 32,
                 "original_max_position_embeddings": 4096, "partial_rotary_factor": 0.5, "rms_norm_eps": 1e-05,
                 "rope_scaling": null, "rope_theta": 10000.0, "sliding_window": 2047, "tie_word_embeddings": false,
                 "torch_dtype": "bfloat16", "vocab_size": 32064}
                """);
        assertEquals(96, c.headDim());
        assertEquals(48, c.rope().orElseThrow().rotaryDim());
        assertEquals(24, c.rope().orElseThrow().inverseFrequencies().length);
        assertEquals(OptionalInt.of(2047), c.slidingWindow());
        assertEquals(Collections.nCopies(2, LayerAttention.SLIDING), c.layerTypes());
        WeightNames w = WeightNames.of(c);
        assertEquals("model.layers.1.self_attn.qkv_proj.weight", w.name(Role.QKV, 1));
        assertEquals(List.of(9216L, 3072L), w.find(Role.QKV).orElseThrow().shape());
        assertEquals(List.of(16384L, 3072L), w.find(Role.GATE_UP).orElseThrow().shape());
        assertFalse(w.has(Role.Q));
        reject("""
                {"model_type": "phi3", "hidden_size": 3072, "intermediate_size": 8192, "num_hidden_layers": 2,
                 "num_attention_heads": 32, "vocab_size": 32064,
                 "rope_scaling": {"type": "longrope", "short_factor": [1.0], "long_factor": [1.0]}}
                """, "rope_scaling.rope_type", "'longrope'", "supported: default, linear, llama3");
    }

    @Test
    void mixtralExperts() {
        ModelConfig c = parse("""
                {"architectures": ["MixtralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
                 "hidden_size": 4096, "intermediate_size": 14336, "max_position_embeddings": 32768,
                 "model_type": "mixtral", "num_attention_heads": 32, "num_experts_per_tok": 2, "num_hidden_layers": 2,
                 "num_key_value_heads": 8, "num_local_experts": 8, "rms_norm_eps": 1e-05, "sliding_window": null,
                 "tie_word_embeddings": false, "torch_dtype": "bfloat16", "vocab_size": 32000}
                """);
        assertEquals(Optional.of(new MoeConfig(8, 2)), c.moe());
        assertEquals(1e6, c.rope().orElseThrow().theta()); // mixtral's default theta
        WeightNames w = WeightNames.of(c);
        assertEquals("model.layers.1.block_sparse_moe.experts.7.w3.weight", w.name(Role.EXPERT_UP, 1, 7));
        assertEquals("model.layers.0.block_sparse_moe.gate.weight", w.name(Role.ROUTER, 0));
        assertEquals(List.of(8L, 4096L), w.find(Role.ROUTER).orElseThrow().shape());
        assertEquals(List.of(4096L, 14336L), w.find(Role.EXPERT_DOWN).orElseThrow().shape());
        assertThrows(IndexOutOfBoundsException.class, () -> w.name(Role.EXPERT_UP, 0, 8));
        assertFalse(w.has(Role.GATE));
        // 3 model tensors + per layer (norm, q, k, v, o, norm, router, 3 x 8 experts)
        assertEquals(3 + 2 * (7 + 24), w.expected().size());
    }

    @Test
    void familyDefaultsForKvHeadsFollowTransformers() {
        String t = """
                {"model_type": "%s", "hidden_size": 512, "intermediate_size": 128, "num_hidden_layers": 1,
                 "num_attention_heads": 32, "vocab_size": 10}
                """;
        assertEquals(32, parse(t.formatted("llama")).numKvHeads());
        assertEquals(8, parse(t.formatted("mistral")).numKvHeads());
        assertEquals(8, parse(t.formatted("mixtral")).numKvHeads());
        assertEquals(32, parse(t.formatted("qwen2")).numKvHeads());
        assertEquals(32, parse(t.formatted("phi3")).numKvHeads());
        // Mistral's default window of 4096 applies when the key is absent.
        assertEquals(OptionalInt.of(4096), parse(t.formatted("mistral")).slidingWindow());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            unknown model_type | {"model_type": "bert"}                                                    | 'bert' | supported: [llama, mistral, qwen2, qwen3, gemma2, phi3, gpt2, mixtral]
            missing model_type | {"hidden_size": 8}                                                        | 'model_type' | missing required field
            missing hidden     | {"model_type": "llama"}                                                   | 'hidden_size' | missing required field
            missing vocab      | {"model_type": "llama", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2} | 'vocab_size' | missing
            gpt2 missing n_embd| {"model_type": "gpt2"}                                                    | 'n_embd' | 'hidden_size'
            hidden not int     | {"model_type": "llama", "hidden_size": "64"}                              | 'hidden_size' | must be an integer
            negative layers    | {"model_type": "llama", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": -1} | 'num_hidden_layers' | positive
            kv not divisor     | {"model_type": "llama", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 3, "vocab_size": 4} | num_key_value_heads 3 | multiple
            head_dim underivable| {"model_type": "llama", "hidden_size": 10, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 4} | hidden_size 10 | head_dim
            rope yarn          | {"model_type": "llama", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 4, "rope_parameters": {"rope_type": "yarn", "factor": 4.0, "rope_theta": 1e4}} | rope_parameters.rope_type | 'yarn'
            rope dynamic       | {"model_type": "llama", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 4, "rope_scaling": {"type": "dynamic", "factor": 2.0}} | rope_scaling.rope_type | supported: default, linear, llama3
            linear no factor   | {"model_type": "llama", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 4, "rope_scaling": {"rope_type": "linear"}} | 'rope_scaling.factor' | missing
            llama3 missing key | {"model_type": "llama", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 4, "rope_parameters": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0}} | 'rope_parameters.original_max_position_embeddings' | missing
            per-layer rope     | {"model_type": "llama", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 4, "rope_parameters": {"full_attention": {"rope_theta": 1e6}}} | 'rope_parameters' | per-layer-type
            activation         | {"model_type": "llama", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 4, "hidden_act": "mish"} | 'hidden_act' | 'mish'
            gpt2 activation    | {"model_type": "gpt2", "n_embd": 8, "n_layer": 1, "n_head": 2, "vocab_size": 4, "activation_function": "quick_gelu"} | 'activation_function' | supported
            gpt2 inverse idx   | {"model_type": "gpt2", "n_embd": 8, "n_layer": 1, "n_head": 2, "vocab_size": 4, "scale_attn_by_inverse_layer_idx": true} | 'scale_attn_by_inverse_layer_idx' | not supported
            tie not bool       | {"model_type": "llama", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 4, "tie_word_embeddings": "yes"} | 'tie_word_embeddings' | true or false
            eos not int        | {"model_type": "llama", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 4, "eos_token_id": ["a"]} | 'eos_token_id' | integer
            bad layer_types    | {"model_type": "qwen2", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 2, "vocab_size": 4, "layer_types": ["full_attention", "chunked_attention"]} | layer_types[1] | 'chunked_attention'
            sliding no window  | {"model_type": "qwen2", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 2, "vocab_size": 4, "layer_types": ["sliding_attention"]} | sliding_window | layer_types
            odd rotary dim     | {"model_type": "phi3", "hidden_size": 12, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 4, "partial_rotary_factor": 0.5} | rotary dimension 3 | even
            not json           | {"model_type": "llama",                                                   | not valid JSON | JSON
            """)
    void rejects(String name, String json, String field, String what) {
        reject(json, field, what);
    }

    @Test
    void readNamesTheFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws java.io.IOException {
        var e = assertThrows(ModelFormatException.class, () -> ModelConfig.read(dir));
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
        java.nio.file.Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"t5\"}");
        e = assertThrows(ModelFormatException.class, () -> ModelConfig.read(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("config.json") + ": unsupported model_type 't5'"), e.getMessage());
    }
}
