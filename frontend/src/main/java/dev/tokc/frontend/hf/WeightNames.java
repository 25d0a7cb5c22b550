package dev.tokc.frontend.hf;

import dev.tokc.frontend.ModelFormatException;
import dev.tokc.frontend.safetensors.Checkpoint;
import dev.tokc.frontend.safetensors.TensorView;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.ToLongFunction;

/**
 * The tensor names and shapes a Hugging Face checkpoint of a given {@link ModelConfig} contains, by role, so the
 * importer can look weights up without string-building of its own.
 *
 * <p>Names are templates with {@code {i}} for the layer and {@code {e}} for the expert, e.g.
 * {@code model.layers.{i}.self_attn.q_proj.weight}. Shapes are as stored: {@code nn.Linear} weights are
 * {@code [out, in]}, except gpt2's Conv1D weights, which are {@code [in, out]} ({@link Tensor#conv1d()}).
 * Only the tensors the config implies are listed: no {@code lm_head.weight} when embeddings are tied, biases only
 * where the family has them, {@code q_norm}/{@code k_norm} only for qwen3.
 *
 * <p>Mixtral names are those of the published checkpoints ({@code block_sparse_moe.experts.{e}.w1/w2/w3}, which
 * are gate, down and up); transformers 5 fuses them on load, but the files keep this layout.
 */
public final class WeightNames {
    /** What a tensor is for, independent of how the family names it. */
    public enum Role {
        EMBED_TOKENS, POSITION_EMBEDDINGS, FINAL_NORM, FINAL_NORM_BIAS, LM_HEAD,
        /** The norm before attention (input_layernorm, ln_1). */
        ATTN_NORM, ATTN_NORM_BIAS,
        Q, Q_BIAS, K, K_BIAS, V, V_BIAS,
        /** Fused q, k, v rows in that order (phi3 qkv_proj; gpt2 c_attn, whose Conv1D columns are q, k, v). */
        QKV, QKV_BIAS,
        O, O_BIAS,
        /** Per-head RMSNorm of queries and keys (qwen3). */
        Q_NORM, K_NORM,
        /** gemma2's norm of the attention output, before the residual add. */
        POST_ATTN_NORM,
        /** The norm before the MLP (post_attention_layernorm in llama-style names, pre_feedforward_layernorm in gemma2, ln_2). */
        MLP_NORM, MLP_NORM_BIAS,
        /** gemma2's norm of the MLP output, before the residual add. */
        POST_MLP_NORM,
        GATE, GATE_BIAS, UP, UP_BIAS,
        /** Fused gate and up rows, gate first (phi3 gate_up_proj). */
        GATE_UP,
        DOWN, DOWN_BIAS,
        /** Mixtral's router, [experts, hidden]. */
        ROUTER,
        EXPERT_GATE, EXPERT_UP, EXPERT_DOWN
    }

    /** Whether a role exists once per model, once per layer, or once per expert of each layer. */
    public enum Scope { MODEL, LAYER, EXPERT }

    /**
     * One expected tensor role: its name template, scope, stored shape, and whether it is a Conv1D weight stored
     * {@code [in, out]}.
     */
    public record Tensor(Role role, Scope scope, String template, List<Long> shape, boolean conv1d) {
        public Tensor {
            shape = List.copyOf(shape);
        }
    }

    /** One concrete tensor name with its expected shape, as listed by {@link #expected()}. */
    public record Expected(Role role, int layer, int expert, String name, List<Long> shape) {
        public Expected {
            shape = List.copyOf(shape);
        }
    }

    private final ModelConfig config;
    private final Map<Role, Tensor> tensors;

    private WeightNames(ModelConfig config, Map<Role, Tensor> tensors) {
        this.config = config;
        this.tensors = tensors;
    }

    /** The names for {@code config} as transformers' {@code save_pretrained} writes them. */
    public static WeightNames of(ModelConfig config) {
        return new WeightNames(config, build(config, config.family() == ModelFamily.GPT2 ? "transformer." : ""));
    }

    /**
     * The names for {@code config}, adapted to the names actually present: gpt2 checkpoints come both with the
     * {@code transformer.} prefix ({@code GPT2LMHeadModel.save_pretrained}) and without it (the original OpenAI
     * conversion, e.g. openai-community/gpt2).
     */
    public static WeightNames of(ModelConfig config, Collection<String> namesInCheckpoint) {
        if (config.family() == ModelFamily.GPT2 && !namesInCheckpoint.contains("transformer.wte.weight")
                && namesInCheckpoint.contains("wte.weight")) {
            return new WeightNames(config, build(config, ""));
        }
        return of(config);
    }

    /** The config these names were made for. */
    public ModelConfig config() {
        return config;
    }

    /** The roles the checkpoint has tensors for, with templates and shapes. */
    public List<Tensor> tensors() {
        return List.copyOf(tensors.values());
    }

    /** The template and shape for {@code role}, if this model has such a tensor. */
    public Optional<Tensor> find(Role role) {
        return Optional.ofNullable(tensors.get(role));
    }

    /** Whether this model has a tensor for {@code role}. */
    public boolean has(Role role) {
        return tensors.containsKey(role);
    }

    /** The name of a model-scope tensor. */
    public String name(Role role) {
        return resolve(role, Scope.MODEL, -1, -1);
    }

    /** The name of a layer-scope tensor of layer {@code layer}. */
    public String name(Role role, int layer) {
        return resolve(role, Scope.LAYER, layer, -1);
    }

    /** The name of an expert-scope tensor of {@code expert} in {@code layer}. */
    public String name(Role role, int layer, int expert) {
        return resolve(role, Scope.EXPERT, layer, expert);
    }

    /** Every tensor the checkpoint must contain, model-scope first, then layer by layer, with stored shapes. */
    public List<Expected> expected() {
        List<Expected> out = new ArrayList<>();
        for (Tensor t : tensors.values()) {
            if (t.scope() == Scope.MODEL) {
                out.add(new Expected(t.role(), -1, -1, t.template(), t.shape()));
            }
        }
        int experts = config.moe().map(MoeConfig::numExperts).orElse(0);
        for (int i = 0; i < config.numLayers(); i++) {
            for (Tensor t : tensors.values()) {
                if (t.scope() == Scope.LAYER) {
                    out.add(new Expected(t.role(), i, -1, fill(t.template(), i, -1), t.shape()));
                } else if (t.scope() == Scope.EXPERT) {
                    for (int e = 0; e < experts; e++) {
                        out.add(new Expected(t.role(), i, e, fill(t.template(), i, e), t.shape()));
                    }
                }
            }
        }
        return out;
    }

    /**
     * Checks that {@code checkpoint} holds every {@link #expected()} tensor with its stored shape.
     *
     * @return the checkpoint's tensors that are not expected, in checkpoint order: not an error, since checkpoints
     *         legitimately carry extras (an {@code lm_head.weight} saved despite tying, old {@code rotary_emb.inv_freq}
     *         or gpt2 {@code attn.bias} mask buffers), but worth a warning
     * @throws ModelFormatException naming the first missing tensor or the first shape mismatch
     */
    public List<String> verify(Checkpoint checkpoint) {
        java.util.Set<String> wanted = new java.util.HashSet<>();
        for (Expected e : expected()) {
            wanted.add(e.name());
            TensorView t = checkpoint.find(e.name()).orElseThrow(() -> new ModelFormatException(where(checkpoint)
                    + ": missing tensor '" + e.name() + "', which a " + config.family().modelType()
                    + " model with this config.json needs"));
            if (!t.shape().equals(e.shape())) {
                throw new ModelFormatException(where(checkpoint) + ": tensor '" + e.name() + "' has shape " + t.shape()
                        + " but config.json implies " + e.shape());
            }
        }
        return checkpoint.names().stream().filter(n -> !wanted.contains(n)).toList();
    }

    private static String where(Checkpoint checkpoint) {
        return checkpoint.shards().getFirst().path().toAbsolutePath().getParent().toString();
    }

    private String resolve(Role role, Scope scope, int layer, int expert) {
        Tensor t = tensors.get(role);
        if (t == null) {
            throw new ModelFormatException(config.family().modelType() + " with this config has no " + role + " tensor");
        }
        if (t.scope() != scope) {
            throw new IllegalArgumentException(role + " is " + t.scope() + "-scoped, not " + scope);
        }
        if (scope != Scope.MODEL && (layer < 0 || layer >= config.numLayers())) {
            throw new IndexOutOfBoundsException("layer " + layer + " of " + config.numLayers());
        }
        if (scope == Scope.EXPERT && (expert < 0 || expert >= config.moe().orElseThrow().numExperts())) {
            throw new IndexOutOfBoundsException("expert " + expert + " of " + config.moe().orElseThrow().numExperts());
        }
        return fill(t.template(), layer, expert);
    }

    private static String fill(String template, int layer, int expert) {
        return template.replace("{i}", Integer.toString(layer)).replace("{e}", Integer.toString(expert));
    }

    /** Collects the templates of one config, in a stable order. */
    private static final class Builder {
        final ModelConfig c;
        final Map<Role, Tensor> out = new EnumMap<>(Role.class);

        Builder(ModelConfig c) {
            this.c = c;
        }

        @SafeVarargs
        final Builder add(Role role, Scope scope, String template, boolean conv1d, ToLongFunction<ModelConfig>... dims) {
            List<Long> shape = new ArrayList<>();
            for (ToLongFunction<ModelConfig> d : dims) {
                shape.add(d.applyAsLong(c));
            }
            out.put(role, new Tensor(role, scope, template, shape, conv1d));
            return this;
        }

        @SafeVarargs
        final Builder model(Role role, String template, ToLongFunction<ModelConfig>... dims) {
            return add(role, Scope.MODEL, template, false, dims);
        }

        @SafeVarargs
        final Builder layer(Role role, String template, ToLongFunction<ModelConfig>... dims) {
            return add(role, Scope.LAYER, template, false, dims);
        }
    }

    // Dimension getters, named so the tables below read like the shapes they build.
    private static final ToLongFunction<ModelConfig> H = ModelConfig::hiddenSize;
    private static final ToLongFunction<ModelConfig> I = ModelConfig::intermediateSize;
    private static final ToLongFunction<ModelConfig> V = ModelConfig::vocabSize;
    private static final ToLongFunction<ModelConfig> QD = ModelConfig::qDim;
    private static final ToLongFunction<ModelConfig> KVD = ModelConfig::kvDim;
    private static final ToLongFunction<ModelConfig> HD = ModelConfig::headDim;

    private static Map<Role, Tensor> build(ModelConfig c, String gpt2Prefix) {
        Builder b = new Builder(c);
        if (c.family() == ModelFamily.GPT2) {
            String p = gpt2Prefix;
            String l = p + "h.{i}.";
            b.model(Role.EMBED_TOKENS, p + "wte.weight", V, H)
                    .model(Role.POSITION_EMBEDDINGS, p + "wpe.weight", ModelConfig::maxPositionEmbeddings, H)
                    .model(Role.FINAL_NORM, p + "ln_f.weight", H)
                    .model(Role.FINAL_NORM_BIAS, p + "ln_f.bias", H);
            if (!c.tieWordEmbeddings()) {
                b.model(Role.LM_HEAD, "lm_head.weight", V, H);
            }
            b.layer(Role.ATTN_NORM, l + "ln_1.weight", H)
                    .layer(Role.ATTN_NORM_BIAS, l + "ln_1.bias", H)
                    .add(Role.QKV, Scope.LAYER, l + "attn.c_attn.weight", true, H, cfg -> cfg.qDim() + 2L * cfg.kvDim())
                    .layer(Role.QKV_BIAS, l + "attn.c_attn.bias", cfg -> cfg.qDim() + 2L * cfg.kvDim())
                    .add(Role.O, Scope.LAYER, l + "attn.c_proj.weight", true, QD, H)
                    .layer(Role.O_BIAS, l + "attn.c_proj.bias", H)
                    .layer(Role.MLP_NORM, l + "ln_2.weight", H)
                    .layer(Role.MLP_NORM_BIAS, l + "ln_2.bias", H)
                    .add(Role.UP, Scope.LAYER, l + "mlp.c_fc.weight", true, H, I)
                    .layer(Role.UP_BIAS, l + "mlp.c_fc.bias", I)
                    .add(Role.DOWN, Scope.LAYER, l + "mlp.c_proj.weight", true, I, H)
                    .layer(Role.DOWN_BIAS, l + "mlp.c_proj.bias", H);
            return b.out;
        }

        String l = "model.layers.{i}.";
        b.model(Role.EMBED_TOKENS, "model.embed_tokens.weight", V, H)
                .model(Role.FINAL_NORM, "model.norm.weight", H);
        if (!c.tieWordEmbeddings()) {
            b.model(Role.LM_HEAD, "lm_head.weight", V, H);
        }
        b.layer(Role.ATTN_NORM, l + "input_layernorm.weight", H);
        if (c.family() == ModelFamily.PHI3) {
            b.layer(Role.QKV, l + "self_attn.qkv_proj.weight", cfg -> cfg.qDim() + 2L * cfg.kvDim(), H);
        } else {
            b.layer(Role.Q, l + "self_attn.q_proj.weight", QD, H)
                    .layer(Role.K, l + "self_attn.k_proj.weight", KVD, H)
                    .layer(Role.V, l + "self_attn.v_proj.weight", KVD, H);
            if (c.attentionBias()) {
                b.layer(Role.Q_BIAS, l + "self_attn.q_proj.bias", QD)
                        .layer(Role.K_BIAS, l + "self_attn.k_proj.bias", KVD)
                        .layer(Role.V_BIAS, l + "self_attn.v_proj.bias", KVD);
            }
        }
        b.layer(Role.O, l + "self_attn.o_proj.weight", H, QD);
        if (c.attentionOutputBias()) {
            b.layer(Role.O_BIAS, l + "self_attn.o_proj.bias", H);
        }
        if (c.qkNorm()) {
            b.layer(Role.Q_NORM, l + "self_attn.q_norm.weight", HD)
                    .layer(Role.K_NORM, l + "self_attn.k_norm.weight", HD);
        }
        if (c.family() == ModelFamily.GEMMA2) {
            b.layer(Role.POST_ATTN_NORM, l + "post_attention_layernorm.weight", H)
                    .layer(Role.MLP_NORM, l + "pre_feedforward_layernorm.weight", H)
                    .layer(Role.POST_MLP_NORM, l + "post_feedforward_layernorm.weight", H);
        } else {
            b.layer(Role.MLP_NORM, l + "post_attention_layernorm.weight", H);
        }
        switch (c.family()) {
            case PHI3 -> b.layer(Role.GATE_UP, l + "mlp.gate_up_proj.weight", cfg -> 2L * cfg.intermediateSize(), H)
                    .layer(Role.DOWN, l + "mlp.down_proj.weight", H, I);
            case MIXTRAL -> {
                String e = l + "block_sparse_moe.";
                b.layer(Role.ROUTER, e + "gate.weight", cfg -> cfg.moe().orElseThrow().numExperts(), H)
                        .add(Role.EXPERT_GATE, Scope.EXPERT, e + "experts.{e}.w1.weight", false, I, H)
                        .add(Role.EXPERT_DOWN, Scope.EXPERT, e + "experts.{e}.w2.weight", false, H, I)
                        .add(Role.EXPERT_UP, Scope.EXPERT, e + "experts.{e}.w3.weight", false, I, H);
            }
            default -> {
                b.layer(Role.GATE, l + "mlp.gate_proj.weight", I, H)
                        .layer(Role.UP, l + "mlp.up_proj.weight", I, H)
                        .layer(Role.DOWN, l + "mlp.down_proj.weight", H, I);
                if (c.mlpBias()) {
                    b.layer(Role.GATE_BIAS, l + "mlp.gate_proj.bias", I)
                            .layer(Role.UP_BIAS, l + "mlp.up_proj.bias", I)
                            .layer(Role.DOWN_BIAS, l + "mlp.down_proj.bias", H);
                }
            }
        }
        return b.out;
    }
}
