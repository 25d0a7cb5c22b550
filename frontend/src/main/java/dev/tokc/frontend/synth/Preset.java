package dev.tokc.frontend.synth;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokc.frontend.hf.ModelConfig;
import dev.tokc.frontend.hf.ModelFamily;
import dev.tokc.frontend.hf.RopeConfig;
import dev.tokc.frontend.hf.WeightNames;
import java.util.List;
import java.util.Optional;

/**
 * The shape of a real model, for {@link Synth} to fill with random weights: every config.json setting that fixes
 * tensor shapes or the computation, and nothing that needs trained weights.
 *
 * <p>{@link #configJson()} renders config.json as the published checkpoint's own file has it (same keys, same
 * legacy {@code rope_theta}/{@code rope_scaling} spelling), so the importer sees what it would see for the real
 * model. Only the llama and qwen2 families are supported: those are the benchmark models' families.
 *
 * @param name                  the preset name ({@code tokc synth --preset NAME})
 * @param family                llama or qwen2
 * @param hiddenSize            {@code hidden_size}
 * @param numLayers             {@code num_hidden_layers}
 * @param numHeads              {@code num_attention_heads}
 * @param numKvHeads            {@code num_key_value_heads}
 * @param headDim               {@code head_dim}, written only when {@code explicitHeadDim} (Llama 3.2 writes it,
 *                              TinyLlama and Qwen2.5 derive it from hidden / heads)
 * @param explicitHeadDim       whether config.json carries {@code head_dim}
 * @param intermediateSize      {@code intermediate_size}
 * @param vocabSize             {@code vocab_size}
 * @param maxPositionEmbeddings {@code max_position_embeddings}
 * @param rmsNormEps            {@code rms_norm_eps}
 * @param ropeTheta             {@code rope_theta}
 * @param llama3Scaling         Llama 3.1-style {@code rope_scaling}, if the model has it
 * @param tieWordEmbeddings     {@code tie_word_embeddings}: no {@code lm_head.weight} when true
 * @param bosTokenId            {@code bos_token_id}
 * @param eosTokenId            {@code eos_token_id}
 */
public record Preset(String name, ModelFamily family, int hiddenSize, int numLayers, int numHeads, int numKvHeads,
        int headDim, boolean explicitHeadDim, int intermediateSize, int vocabSize, int maxPositionEmbeddings,
        double rmsNormEps, double ropeTheta, Optional<RopeConfig.Llama3> llama3Scaling, boolean tieWordEmbeddings,
        int bosTokenId, int eosTokenId) {

    /** TinyLlama/TinyLlama-1.1B-Chat-v1.0: llama, 22 layers, GQA 32/4, untied head. */
    public static final Preset TINYLLAMA_1_1B = new Preset("tinyllama-1.1b", ModelFamily.LLAMA, 2048, 22, 32, 4, 64, false,
            5632, 32000, 2048, 1e-5, 10000.0, Optional.empty(), false, 1, 2);

    /** meta-llama/Llama-3.2-1B: llama, 16 layers, GQA 32/8, llama3 RoPE scaling, tied embeddings. */
    public static final Preset LLAMA_3_2_1B = new Preset("llama-3.2-1b", ModelFamily.LLAMA, 2048, 16, 32, 8, 64, true,
            8192, 128256, 131072, 1e-5, 500000.0, Optional.of(new RopeConfig.Llama3(32.0, 1.0, 4.0, 8192)), true,
            128000, 128001);

    /** Qwen/Qwen2.5-0.5B: qwen2 (q/k/v biases), 24 layers, GQA 14/2, tied embeddings. */
    public static final Preset QWEN2_5_0_5B = new Preset("qwen2.5-0.5b", ModelFamily.QWEN2, 896, 24, 14, 2, 64, false,
            4864, 151936, 32768, 1e-6, 1000000.0, Optional.empty(), true, 151643, 151643);

    private static final ObjectMapper JSON = new ObjectMapper();

    public Preset {
        if (family != ModelFamily.LLAMA && family != ModelFamily.QWEN2) {
            throw new IllegalArgumentException("synth presets support the llama and qwen2 families, not " + family);
        }
        if (family == ModelFamily.QWEN2 && llama3Scaling.isPresent()) {
            throw new IllegalArgumentException("qwen2 configs have no llama3 rope scaling");
        }
        if (!explicitHeadDim && (numHeads <= 0 || hiddenSize % numHeads != 0 || hiddenSize / numHeads != headDim)) {
            throw new IllegalArgumentException("preset '" + name + "': head_dim " + headDim + " is not hidden_size / heads;"
                    + " set explicitHeadDim so config.json states it");
        }
    }

    /** The built-in presets. */
    public static List<Preset> all() {
        return List.of(TINYLLAMA_1_1B, LLAMA_3_2_1B, QWEN2_5_0_5B);
    }

    /**
     * The built-in preset called {@code name}.
     *
     * @throws IllegalArgumentException listing the known names
     */
    public static Preset named(String name) {
        return all().stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow(() -> new IllegalArgumentException(
                "unknown preset '" + name + "' (known: " + all().stream().map(Preset::name).toList() + ")"));
    }

    /**
     * config.json for this shape, in the published model's format, plus a {@code tokc_synth} object recording the
     * preset, seed and that there is no tokenizer (benchmarks feed token ids).
     *
     * @param torchDtype the {@code torch_dtype} value: {@code float32}, {@code bfloat16} or {@code float16}
     */
    public ObjectNode configJson(String torchDtype, long seed) {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add(family == ModelFamily.LLAMA ? "LlamaForCausalLM" : "Qwen2ForCausalLM");
        if (family == ModelFamily.LLAMA) {
            c.put("attention_bias", false);
        }
        c.put("attention_dropout", 0.0);
        c.put("bos_token_id", bosTokenId);
        c.put("eos_token_id", eosTokenId);
        if (explicitHeadDim) {
            c.put("head_dim", headDim);
        }
        c.put("hidden_act", "silu");
        c.put("hidden_size", hiddenSize);
        c.put("initializer_range", 0.02);
        c.put("intermediate_size", intermediateSize);
        c.put("max_position_embeddings", maxPositionEmbeddings);
        if (family == ModelFamily.QWEN2) {
            c.put("max_window_layers", numLayers);
        }
        if (family == ModelFamily.LLAMA) {
            c.put("mlp_bias", false);
        }
        c.put("model_type", family.modelType());
        c.put("num_attention_heads", numHeads);
        c.put("num_hidden_layers", numLayers);
        c.put("num_key_value_heads", numKvHeads);
        if (family == ModelFamily.LLAMA) {
            c.put("pretraining_tp", 1);
        }
        c.put("rms_norm_eps", rmsNormEps);
        if (llama3Scaling.isPresent()) {
            RopeConfig.Llama3 s = llama3Scaling.get();
            ObjectNode r = c.putObject("rope_scaling");
            r.put("factor", s.factor());
            r.put("high_freq_factor", s.highFreqFactor());
            r.put("low_freq_factor", s.lowFreqFactor());
            r.put("original_max_position_embeddings", s.originalMaxPositionEmbeddings());
            r.put("rope_type", "llama3");
        } else {
            c.putNull("rope_scaling");
        }
        c.put("rope_theta", ropeTheta);
        if (family == ModelFamily.QWEN2) {
            // Qwen2.5 ships sliding_window = max positions with the window switched off.
            c.put("sliding_window", maxPositionEmbeddings);
            c.put("use_sliding_window", false);
        }
        c.put("tie_word_embeddings", tieWordEmbeddings);
        c.put("torch_dtype", torchDtype);
        c.put("use_cache", true);
        c.put("vocab_size", vocabSize);
        ObjectNode note = c.putObject("tokc_synth");
        note.put("preset", name);
        note.put("seed", seed);
        note.put("weights", "random, for benchmarks only: the model generates nonsense");
        note.put("tokenizer", "none: the vocabulary has no tokenizer; feed token ids");
        return c;
    }

    /** This preset's config as the importer reads it (parsed from {@link #configJson}, so the two cannot disagree). */
    public ModelConfig modelConfig() {
        return ModelConfig.parse("preset " + name, configJson("bfloat16", 0).toString());
    }

    /** Number of weights in the checkpoint (each tied tensor counted once). */
    public long parameterCount() {
        long n = 0;
        for (WeightNames.Expected e : WeightNames.of(modelConfig()).expected()) {
            long elements = 1;
            for (long d : e.shape()) {
                elements = Math.multiplyExact(elements, d);
            }
            n = Math.addExact(n, elements);
        }
        return n;
    }
}
