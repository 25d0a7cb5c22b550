package dev.tokc.frontend.hf;

import java.util.List;
import java.util.Optional;

/**
 * The MLP activation functions of the supported families, each with the transformers {@code ACT2FN} names that
 * select it.
 */
public enum Activation {
    /** x * sigmoid(x); "silu" or "swish". */
    SILU(List.of("silu", "swish")),
    /** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)); "gelu". */
    GELU(List.of("gelu")),
    /**
     * The tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). transformers' "gelu_new",
     * "gelu_pytorch_tanh" and "gelu_fast" are this same function, written three ways (they differ only in float
     * rounding).
     */
    GELU_TANH(List.of("gelu_new", "gelu_pytorch_tanh", "gelu_fast")),
    /** max(0, x); "relu". */
    RELU(List.of("relu"));

    private final List<String> hfNames;

    Activation(List<String> hfNames) {
        this.hfNames = hfNames;
    }

    /** The transformers names of this function. */
    public List<String> hfNames() {
        return hfNames;
    }

    /** The activation transformers selects for {@code name}, if supported. */
    public static Optional<Activation> fromHfName(String name) {
        for (Activation a : values()) {
            if (a.hfNames.contains(name)) {
                return Optional.of(a);
            }
        }
        return Optional.empty();
    }

    /** Every supported transformers name, for error messages. */
    public static List<String> supportedNames() {
        return java.util.Arrays.stream(values()).flatMap(a -> a.hfNames.stream()).toList();
    }
}
