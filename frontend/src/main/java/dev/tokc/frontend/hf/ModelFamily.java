package dev.tokc.frontend.hf;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The decoder-only model families tokc imports from Hugging Face checkpoints, keyed by config.json's
 * {@code model_type}.
 *
 * <p>What differs between families beyond config.json (and so is for the importer to know):
 * <ul>
 *   <li>llama, mistral, qwen2, qwen3, mixtral, phi3: pre-norm RMSNorm blocks, gated MLP (SwiGLU), RoPE
 *       (rotate-half layout);</li>
 *   <li>qwen3 adds an RMSNorm over each head of q and k before RoPE ({@code q_norm}, {@code k_norm});</li>
 *   <li>phi3 stores q/k/v fused as {@code qkv_proj} and gate/up fused as {@code gate_up_proj} (gate rows first);</li>
 *   <li>mixtral replaces the MLP with a top-k routed mixture of experts;</li>
 *   <li>gemma2 scales the embeddings by sqrt(hidden_size), its RMSNorm multiplies by {@code (1 + weight)}, it has
 *       four norms per layer (also after attention and after the MLP) and soft-caps logits with tanh;</li>
 *   <li>gpt2: LayerNorm with bias, learned absolute positions, fused {@code c_attn}, Conv1D weights stored
 *       {@code [in, out]} (transposed relative to {@code nn.Linear}).</li>
 * </ul>
 */
public enum ModelFamily {
    LLAMA("llama"),
    MISTRAL("mistral"),
    QWEN2("qwen2"),
    QWEN3("qwen3"),
    GEMMA2("gemma2"),
    PHI3("phi3"),
    GPT2("gpt2"),
    MIXTRAL("mixtral");

    private final String modelType;

    ModelFamily(String modelType) {
        this.modelType = modelType;
    }

    /** The {@code model_type} string of config.json. */
    public String modelType() {
        return modelType;
    }

    /** The family for a {@code model_type}, if supported. */
    public static Optional<ModelFamily> fromModelType(String modelType) {
        return Arrays.stream(values()).filter(f -> f.modelType.equals(modelType)).findFirst();
    }

    /** The supported {@code model_type} strings, for error messages. */
    public static List<String> modelTypes() {
        return Arrays.stream(values()).map(ModelFamily::modelType).toList();
    }

    /** Whether the family normalises with RMSNorm (all but gpt2, which uses LayerNorm with bias). */
    public boolean usesRmsNorm() {
        return this != GPT2;
    }

    /** Whether positions are encoded with RoPE (all but gpt2, which learns absolute position embeddings). */
    public boolean usesRope() {
        return this != GPT2;
    }
}
