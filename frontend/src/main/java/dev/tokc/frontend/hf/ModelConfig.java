package dev.tokc.frontend.hf;

import dev.tokc.frontend.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * The architecture settings of a Hugging Face checkpoint, read from its config.json: everything the importer
 * needs to build the graph, with transformers' per-family defaults applied and derived values (head_dim,
 * per-layer attention span, which projections carry a bias) made explicit.
 *
 * <p>Field names follow transformers where one exists; {@link #read} documents which keys feed each field.
 * Immutable; lists are unmodifiable copies.
 *
 * @param family               from {@code model_type}
 * @param architectures        {@code architectures} (e.g. LlamaForCausalLM), empty if absent
 * @param hiddenSize           {@code hidden_size} (gpt2: {@code n_embd})
 * @param intermediateSize     {@code intermediate_size}, per expert for mixtral (gpt2: {@code n_inner}, default 4*hidden)
 * @param numLayers            {@code num_hidden_layers} (gpt2: {@code n_layer})
 * @param numHeads             {@code num_attention_heads} (gpt2: {@code n_head})
 * @param numKvHeads           {@code num_key_value_heads}, transformers' family default when absent
 * @param headDim              {@code head_dim}, else transformers' family default, else hidden / heads
 * @param vocabSize            {@code vocab_size}
 * @param maxPositionEmbeddings {@code max_position_embeddings} (gpt2: {@code n_positions})
 * @param normEps              {@code rms_norm_eps} (gpt2: {@code layer_norm_epsilon})
 * @param activation           {@code hidden_act} (gpt2: {@code activation_function}; gemma2: {@code hidden_activation})
 * @param tieWordEmbeddings    {@code tie_word_embeddings}, transformers' family default when absent: the LM head
 *                             reuses the token embedding and the checkpoint has no separate head tensor
 * @param attentionBias        whether q, k and v projections have a bias (llama/qwen3/gemma2: {@code attention_bias};
 *                             qwen2 and gpt2: always; others: never)
 * @param attentionOutputBias  whether the output projection has a bias ({@code attention_bias} where it exists; gpt2
 *                             always; qwen2 never)
 * @param mlpBias              whether the MLP projections have biases (llama: {@code mlp_bias}; gpt2 always)
 * @param slidingWindow        the window of the {@link LayerAttention#SLIDING} layers; empty when no layer slides
 * @param layerTypes           per layer, full or sliding attention ({@code layer_types}, else derived as transformers does)
 * @param attnLogitSoftcapping gemma2's {@code attn_logit_softcapping}: scores become {@code c * tanh(scores / c)}
 * @param finalLogitSoftcapping gemma2's {@code final_logit_softcapping}, the same on the output logits
 * @param queryPreAttnScalar   gemma2's {@code query_pre_attn_scalar}: queries are scaled by its inverse square root
 * @param qkNorm               whether q and k get a per-head RMSNorm before RoPE (qwen3)
 * @param rope                 RoPE settings; empty for gpt2
 * @param moe                  mixture-of-experts routing; present exactly for mixtral
 * @param bosTokenId           {@code bos_token_id} as written (no family default)
 * @param eosTokenIds          {@code eos_token_id} as written, a number or a list (no family default)
 * @param dtype                {@code dtype} (transformers 5) or {@code torch_dtype} (older), e.g. "bfloat16"
 */
public record ModelConfig(
        ModelFamily family,
        List<String> architectures,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int vocabSize,
        int maxPositionEmbeddings,
        double normEps,
        Activation activation,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        boolean attentionOutputBias,
        boolean mlpBias,
        OptionalInt slidingWindow,
        List<LayerAttention> layerTypes,
        OptionalDouble attnLogitSoftcapping,
        OptionalDouble finalLogitSoftcapping,
        OptionalDouble queryPreAttnScalar,
        boolean qkNorm,
        Optional<RopeConfig> rope,
        Optional<MoeConfig> moe,
        OptionalInt bosTokenId,
        List<Integer> eosTokenIds,
        Optional<String> dtype) {

    public ModelConfig {
        architectures = List.copyOf(architectures);
        layerTypes = List.copyOf(layerTypes);
        eosTokenIds = List.copyOf(eosTokenIds);
        if (layerTypes.size() != numLayers) {
            throw new IllegalArgumentException("layerTypes has " + layerTypes.size() + " entries for " + numLayers + " layers");
        }
        if (numKvHeads <= 0 || numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads " + numHeads + " is not a multiple of num_key_value_heads " + numKvHeads);
        }
        if (layerTypes.contains(LayerAttention.SLIDING) != slidingWindow.isPresent()) {
            throw new IllegalArgumentException("slidingWindow must be present exactly when some layer slides");
        }
        if ((family == ModelFamily.MIXTRAL) != moe.isPresent()) {
            throw new IllegalArgumentException("moe must be present exactly for mixtral");
        }
        if (family.usesRope() != rope.isPresent()) {
            throw new IllegalArgumentException("rope must be present exactly for the RoPE families");
        }
    }

    /**
     * Reads and validates {@code config.json} (or a directory containing it).
     *
     * @throws ModelFormatException naming the file and the field for a malformed, missing or unsupported setting
     */
    public static ModelConfig read(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve("config.json") : path;
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(file + ": no such file (expected a Hugging Face config.json)");
        }
        return parse(file.toString(), Files.readString(file));
    }

    /** Parses config.json text; {@code source} names it in error messages. */
    public static ModelConfig parse(String source, String json) {
        return new ConfigReader(source, json).read();
    }

    /** Query heads per KV head (the GQA group size; 1 for multi-head attention). */
    public int groupSize() {
        return numHeads / numKvHeads;
    }

    /** Width of the concatenated query heads, {@code numHeads * headDim} (not always hiddenSize). */
    public int qDim() {
        return numHeads * headDim;
    }

    /** Width of the concatenated key (or value) heads, {@code numKvHeads * headDim}. */
    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** The factor applied to q.k scores: {@code query_pre_attn_scalar^-0.5} for gemma2, else {@code headDim^-0.5}. */
    public double attentionScale() {
        return 1.0 / Math.sqrt(queryPreAttnScalar.orElse(headDim));
    }
}
