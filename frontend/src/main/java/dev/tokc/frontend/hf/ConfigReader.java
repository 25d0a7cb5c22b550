package dev.tokc.frontend.hf;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.tokc.frontend.ModelFormatException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Turns config.json into a {@link ModelConfig}: one instance per file, every error naming the file and the field.
 *
 * <p>Defaults are transformers' per-family config-class defaults (LlamaConfig, MistralConfig, ...), used only for
 * keys absent from the file. The five keys that fix tensor shapes (hidden size, intermediate size, layers, heads,
 * vocab) are required instead: transformers' defaults for them describe one particular 7B model, and silently
 * assuming them for a file that lacks them would mis-shape every tensor.
 */
final class ConfigReader {
    /** transformers' defaults for one family (a null window means "no sliding window"). */
    private record Defaults(
            Integer kvHeads, Integer headDim, int maxPositions, double normEps, String activation, boolean tie,
            double ropeTheta, Integer slidingWindow) {}

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();

    private static final Set<String> LAYER_TYPE_KEYS = Set.of("full_attention", "sliding_attention");

    private final String source;
    private final JsonNode root;

    ConfigReader(String source, String json) {
        this.source = source;
        JsonNode parsed;
        try {
            parsed = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(source + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (parsed == null || !parsed.isObject()) {
            throw new ModelFormatException(source + ": config must be a JSON object");
        }
        this.root = parsed;
    }

    private static Defaults defaults(ModelFamily family) {
        return switch (family) {
            case LLAMA -> new Defaults(null, null, 2048, 1e-6, "silu", false, 10000.0, null);
            case MISTRAL -> new Defaults(8, null, 4096 * 32, 1e-6, "silu", false, 10000.0, 4096);
            case QWEN2 -> new Defaults(32, null, 32768, 1e-6, "silu", false, 10000.0, 4096);
            case QWEN3 -> new Defaults(32, 128, 32768, 1e-6, "silu", false, 10000.0, 4096);
            case GEMMA2 -> new Defaults(4, 256, 8192, 1e-6, "gelu_pytorch_tanh", true, 10000.0, 4096);
            case PHI3 -> new Defaults(null, null, 4096, 1e-5, "silu", false, 10000.0, null);
            case GPT2 -> new Defaults(null, null, 1024, 1e-5, "gelu_new", true, 0.0, null);
            case MIXTRAL -> new Defaults(8, null, 4096 * 32, 1e-5, "silu", false, 1e6, null);
        };
    }

    ModelConfig read() {
        String modelType = optString("model_type").orElseThrow(() -> missing("model_type"));
        ModelFamily family = ModelFamily.fromModelType(modelType).orElseThrow(() -> new ModelFormatException(source
                + ": unsupported model_type '" + modelType + "' (supported: " + ModelFamily.modelTypes() + ")"));
        Defaults d = defaults(family);
        boolean gpt2 = family == ModelFamily.GPT2;

        List<String> architectures = stringList("architectures");
        int hidden = requiredPositive(gpt2 ? new String[] {"n_embd", "hidden_size"} : new String[] {"hidden_size"});
        int layers = requiredPositive(gpt2 ? new String[] {"n_layer", "num_hidden_layers"} : new String[] {"num_hidden_layers"});
        int heads = requiredPositive(gpt2 ? new String[] {"n_head", "num_attention_heads"} : new String[] {"num_attention_heads"});
        int vocab = requiredPositive("vocab_size");
        int intermediate = gpt2
                ? positive("n_inner", optInt("n_inner")).orElse(4 * hidden)
                : requiredPositive("intermediate_size");
        int kvHeads = positive("num_key_value_heads", optInt("num_key_value_heads"))
                .orElse(d.kvHeads() != null ? d.kvHeads() : heads);
        if (heads % kvHeads != 0) {
            throw new ModelFormatException(source + ": num_attention_heads " + heads
                    + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        int headDim = positive("head_dim", optInt("head_dim")).orElseGet(() -> {
            if (d.headDim() != null) {
                return d.headDim();
            }
            if (hidden % heads != 0) {
                throw new ModelFormatException(source + ": hidden_size " + hidden + " is not divisible by num_attention_heads "
                        + heads + " and head_dim is not given");
            }
            return hidden / heads;
        });
        int maxPositions = positive(gpt2 ? "n_positions" : "max_position_embeddings",
                gpt2 ? firstInt("n_positions", "max_position_embeddings") : optInt("max_position_embeddings"))
                .orElse(d.maxPositions());
        double normEps = (gpt2 ? optDouble("layer_norm_epsilon") : optDouble("rms_norm_eps")).orElse(d.normEps());
        if (!(normEps > 0)) {
            throw new ModelFormatException(source + ": field '" + (gpt2 ? "layer_norm_epsilon" : "rms_norm_eps")
                    + "' must be positive, got " + normEps);
        }
        Activation activation = activation(family, d);
        boolean tie = optBool("tie_word_embeddings").orElse(d.tie());

        boolean attentionBias;
        boolean outputBias;
        boolean mlpBias = false;
        switch (family) {
            case LLAMA, QWEN3, GEMMA2 -> {
                attentionBias = optBool("attention_bias").orElse(false);
                outputBias = attentionBias;
                if (family == ModelFamily.LLAMA) {
                    mlpBias = optBool("mlp_bias").orElse(false);
                }
            }
            case QWEN2 -> {
                // Qwen2Attention hard-codes bias=True for q/k/v and bias=False for o_proj.
                attentionBias = true;
                outputBias = false;
            }
            case GPT2 -> {
                attentionBias = true;
                outputBias = true;
                mlpBias = true;
                checkGpt2Attention();
            }
            default -> {
                attentionBias = false;
                outputBias = false;
            }
        }

        OptionalInt window = slidingWindow(family, d);
        List<LayerAttention> layerTypes = layerTypes(family, layers, window);
        if (!layerTypes.contains(LayerAttention.SLIDING)) {
            window = OptionalInt.empty();
        }

        OptionalDouble attnSoftcap = OptionalDouble.empty();
        OptionalDouble finalSoftcap = OptionalDouble.empty();
        OptionalDouble queryScalar = OptionalDouble.empty();
        if (family == ModelFamily.GEMMA2) {
            attnSoftcap = root.has("attn_logit_softcapping") ? optDouble("attn_logit_softcapping") : OptionalDouble.of(50.0);
            finalSoftcap = root.has("final_logit_softcapping") ? optDouble("final_logit_softcapping") : OptionalDouble.of(30.0);
            queryScalar = OptionalDouble.of(optDouble("query_pre_attn_scalar").orElse(256.0));
            positiveDouble("attn_logit_softcapping", attnSoftcap);
            positiveDouble("final_logit_softcapping", finalSoftcap);
            positiveDouble("query_pre_attn_scalar", queryScalar);
        }

        Optional<RopeConfig> rope = family.usesRope() ? Optional.of(rope(d, headDim)) : Optional.empty();
        Optional<MoeConfig> moe = Optional.empty();
        if (family == ModelFamily.MIXTRAL) {
            int experts = positive("num_local_experts", optInt("num_local_experts")).orElse(8);
            int perToken = positive("num_experts_per_tok", optInt("num_experts_per_tok")).orElse(2);
            if (perToken > experts) {
                throw new ModelFormatException(source + ": num_experts_per_tok " + perToken + " exceeds num_local_experts " + experts);
            }
            moe = Optional.of(new MoeConfig(experts, perToken));
        }

        OptionalInt bos = optInt("bos_token_id");
        List<Integer> eos = eosTokenIds();
        Optional<String> dtype = optString("dtype").or(() -> optString("torch_dtype"));

        return new ModelConfig(family, architectures, hidden, intermediate, layers, heads, kvHeads, headDim, vocab,
                maxPositions, normEps, activation, tie, attentionBias, outputBias, mlpBias, window, layerTypes,
                attnSoftcap, finalSoftcap, queryScalar, family == ModelFamily.QWEN3, rope, moe, bos, eos, dtype);
    }

    private Activation activation(ModelFamily family, Defaults d) {
        // Gemma2's modeling code reads hidden_activation; its config.json files usually carry hidden_act too.
        String field = switch (family) {
            case GPT2 -> "activation_function";
            case GEMMA2 -> root.has("hidden_activation") ? "hidden_activation" : "hidden_act";
            default -> "hidden_act";
        };
        String name = optString(field).orElse(d.activation());
        return Activation.fromHfName(name).orElseThrow(() -> new ModelFormatException(source + ": field '" + field
                + "' has unsupported activation '" + name + "' (supported: " + Activation.supportedNames() + ")"));
    }

    /** GPT-2 options that change the attention math from the plain scaled dot product tokc implements. */
    private void checkGpt2Attention() {
        if (!optBool("scale_attn_weights").orElse(true)) {
            throw unsupported("scale_attn_weights", "false", "true");
        }
        if (optBool("scale_attn_by_inverse_layer_idx").orElse(false)) {
            throw unsupported("scale_attn_by_inverse_layer_idx", "true", "false");
        }
        if (optBool("add_cross_attention").orElse(false)) {
            throw unsupported("add_cross_attention", "true", "false");
        }
    }

    private OptionalInt slidingWindow(ModelFamily family, Defaults d) {
        OptionalInt window = root.has("sliding_window") ? optInt("sliding_window")
                : d.slidingWindow() == null ? OptionalInt.empty() : OptionalInt.of(d.slidingWindow());
        positive("sliding_window", window);
        if ((family == ModelFamily.QWEN2 || family == ModelFamily.QWEN3) && !optBool("use_sliding_window").orElse(false)) {
            // Qwen2Config/Qwen3Config keep sliding_window only when use_sliding_window is set.
            return OptionalInt.empty();
        }
        return window;
    }

    private List<LayerAttention> layerTypes(ModelFamily family, int layers, OptionalInt window) {
        List<LayerAttention> types = new ArrayList<>();
        JsonNode node = root.get("layer_types");
        if (node != null && !node.isNull()) {
            if (!node.isArray() || node.size() != layers) {
                throw new ModelFormatException(source + ": field 'layer_types' must be an array of " + layers
                        + " strings (one per layer)");
            }
            for (int i = 0; i < layers; i++) {
                String t = node.get(i).isTextual() ? node.get(i).textValue() : node.get(i).toString();
                int layer = i;
                LayerAttention kind = Arrays.stream(LayerAttention.values()).filter(k -> k.hfName().equals(t)).findFirst()
                        .orElseThrow(() -> new ModelFormatException(source + ": layer_types[" + layer + "] is '" + t
                                + "' (supported: full_attention, sliding_attention)"));
                types.add(kind);
            }
        } else {
            for (int i = 0; i < layers; i++) {
                boolean sliding = window.isPresent() && switch (family) {
                    // Gemma2 alternates, starting with a sliding layer.
                    case GEMMA2 -> i % 2 == 0;
                    // Qwen: layers from max_window_layers on slide.
                    case QWEN2, QWEN3 -> i >= optInt("max_window_layers").orElse(28);
                    default -> true;
                };
                types.add(sliding ? LayerAttention.SLIDING : LayerAttention.FULL);
            }
        }
        if (types.contains(LayerAttention.SLIDING) && window.isEmpty()) {
            throw new ModelFormatException(source + ": layer_types has sliding_attention layers but sliding_window is "
                    + "not set (or use_sliding_window is false)");
        }
        return types;
    }

    /**
     * RoPE from transformers 5's {@code rope_parameters} or, for older files, top-level {@code rope_theta} and
     * {@code rope_scaling}. When both are present {@code rope_parameters} wins and the legacy keys only fill what
     * it lacks, as transformers' standardisation does.
     */
    private RopeConfig rope(Defaults d, int headDim) {
        JsonNode params = objectOrNull("rope_parameters");
        JsonNode legacy = objectOrNull("rope_scaling");
        if (params != null && params.size() > 0 && allKeysIn(params, LAYER_TYPE_KEYS)) {
            throw new ModelFormatException(source + ": field 'rope_parameters' gives per-layer-type RoPE settings, "
                    + "which tokc does not support (supported: one rope_parameters object)");
        }
        String scalingField = params != null ? "rope_parameters" : "rope_scaling";
        JsonNode scaling = params != null ? params : legacy;

        double theta = number(params, "rope_parameters", "rope_theta").orElse(optDouble("rope_theta").orElse(d.ropeTheta()));
        double partial = number(params, "rope_parameters", "partial_rotary_factor")
                .orElse(optDouble("partial_rotary_factor").orElse(1.0));
        if (!(partial > 0 && partial <= 1)) {
            throw new ModelFormatException(source + ": field 'partial_rotary_factor' must be in (0, 1], got " + partial);
        }
        int rotaryDim = (int) (headDim * partial);
        if (rotaryDim <= 0 || rotaryDim % 2 != 0) {
            throw new ModelFormatException(source + ": head_dim " + headDim + " x partial_rotary_factor " + partial
                    + " gives rotary dimension " + rotaryDim + ", which must be positive and even");
        }
        if (!(theta > 0) || Double.isInfinite(theta)) {
            throw new ModelFormatException(source + ": field 'rope_theta' must be positive, got " + theta);
        }

        String type = "default";
        String typeField = scalingField + ".rope_type";
        if (scaling != null) {
            JsonNode t = scaling.has("rope_type") ? scaling.get("rope_type") : scaling.get("type");
            if (t != null && !t.isNull()) {
                if (!t.isTextual()) {
                    throw new ModelFormatException(source + ": field '" + typeField + "' must be a string");
                }
                type = t.textValue();
            }
        }
        RopeConfig.Scaling s = switch (type) {
            case "default" -> new RopeConfig.Default();
            case "linear" -> {
                double factor = requiredNumber(scaling, scalingField, "factor");
                if (!(factor > 0)) {
                    throw new ModelFormatException(source + ": field '" + scalingField + ".factor' must be positive, got " + factor);
                }
                yield new RopeConfig.Linear(factor);
            }
            case "llama3" -> {
                double factor = requiredNumber(scaling, scalingField, "factor");
                double low = requiredNumber(scaling, scalingField, "low_freq_factor");
                double high = requiredNumber(scaling, scalingField, "high_freq_factor");
                double original = requiredNumber(scaling, scalingField, "original_max_position_embeddings");
                if (!(factor > 0 && low > 0 && high > low && original > 0 && original == Math.rint(original))) {
                    throw new ModelFormatException(source + ": field '" + scalingField + "' needs factor > 0, "
                            + "0 < low_freq_factor < high_freq_factor and an integer original_max_position_embeddings > 0");
                }
                yield new RopeConfig.Llama3(factor, low, high, (int) original);
            }
            default -> throw new ModelFormatException(source + ": field '" + typeField + "' is '" + type
                    + "', which tokc does not support (supported: default, linear, llama3)");
        };
        return new RopeConfig(theta, rotaryDim, s);
    }

    // ---- typed field access: every failure names source and field ----

    private ModelFormatException missing(String field) {
        return new ModelFormatException(source + ": missing required field '" + field + "'");
    }

    private ModelFormatException unsupported(String field, String value, String supported) {
        return new ModelFormatException(source + ": field '" + field + "' = " + value
                + " is not supported (supported: " + supported + ")");
    }

    private int requiredPositive(String... names) {
        for (String n : names) {
            OptionalInt v = optInt(n);
            if (v.isPresent()) {
                return positive(n, v).getAsInt();
            }
        }
        throw new ModelFormatException(source + ": missing required field '" + names[0] + "'"
                + (names.length > 1 ? " (or '" + String.join("', '", Arrays.copyOfRange(names, 1, names.length)) + "')" : ""));
    }

    private OptionalInt firstInt(String... names) {
        for (String n : names) {
            OptionalInt v = optInt(n);
            if (v.isPresent()) {
                return v;
            }
        }
        return OptionalInt.empty();
    }

    private OptionalInt positive(String field, OptionalInt v) {
        if (v.isPresent() && v.getAsInt() <= 0) {
            throw new ModelFormatException(source + ": field '" + field + "' must be positive, got " + v.getAsInt());
        }
        return v;
    }

    private void positiveDouble(String field, OptionalDouble v) {
        if (v.isPresent() && !(v.getAsDouble() > 0)) {
            throw new ModelFormatException(source + ": field '" + field + "' must be positive, got " + v.getAsDouble());
        }
    }

    /** Absent or null gives empty; anything but an integer in int range is an error. */
    private OptionalInt optInt(String field) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return OptionalInt.empty();
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new ModelFormatException(source + ": field '" + field + "' must be an integer, got " + v);
        }
        return OptionalInt.of(v.intValue());
    }

    private OptionalDouble optDouble(String field) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return OptionalDouble.empty();
        }
        if (!v.isNumber()) {
            throw new ModelFormatException(source + ": field '" + field + "' must be a number, got " + v);
        }
        return OptionalDouble.of(v.doubleValue());
    }

    private Optional<Boolean> optBool(String field) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isBoolean()) {
            throw new ModelFormatException(source + ": field '" + field + "' must be true or false, got " + v);
        }
        return Optional.of(v.booleanValue());
    }

    private Optional<String> optString(String field) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isTextual()) {
            throw new ModelFormatException(source + ": field '" + field + "' must be a string, got " + v);
        }
        return Optional.of(v.textValue());
    }

    private List<String> stringList(String field) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (v.isArray()) {
            for (JsonNode e : v) {
                if (!e.isTextual()) {
                    throw new ModelFormatException(source + ": field '" + field + "' must be an array of strings");
                }
                out.add(e.textValue());
            }
            return out;
        }
        throw new ModelFormatException(source + ": field '" + field + "' must be an array of strings");
    }

    private List<Integer> eosTokenIds() {
        JsonNode v = root.get("eos_token_id");
        if (v == null || v.isNull()) {
            return List.of();
        }
        List<JsonNode> items = new ArrayList<>();
        if (v.isArray()) {
            v.forEach(items::add);
        } else {
            items.add(v);
        }
        List<Integer> ids = new ArrayList<>();
        for (JsonNode e : items) {
            if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                throw new ModelFormatException(source + ": field 'eos_token_id' must be an integer or a list of integers, got " + v);
            }
            ids.add(e.intValue());
        }
        return ids;
    }

    private JsonNode objectOrNull(String field) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isObject()) {
            throw new ModelFormatException(source + ": field '" + field + "' must be an object, got " + v);
        }
        return v;
    }

    private static boolean allKeysIn(JsonNode object, Set<String> keys) {
        for (var e : object.properties()) {
            if (!keys.contains(e.getKey())) {
                return false;
            }
        }
        return true;
    }

    private OptionalDouble number(JsonNode object, String objectName, String field) {
        if (object == null) {
            return OptionalDouble.empty();
        }
        JsonNode v = object.get(field);
        if (v == null || v.isNull()) {
            return OptionalDouble.empty();
        }
        if (!v.isNumber()) {
            throw new ModelFormatException(source + ": field '" + objectName + "." + field + "' must be a number, got " + v);
        }
        return OptionalDouble.of(v.doubleValue());
    }

    private double requiredNumber(JsonNode object, String objectName, String field) {
        return number(object, objectName, field).orElseThrow(() -> missing(objectName + "." + field));
    }
}
