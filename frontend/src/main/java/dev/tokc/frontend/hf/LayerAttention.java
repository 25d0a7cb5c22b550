package dev.tokc.frontend.hf;

/** Which attention span a decoder layer uses (transformers' {@code layer_types}). */
public enum LayerAttention {
    /** Causal attention over the whole context ("full_attention"). */
    FULL("full_attention"),
    /** Causal attention over the last {@code sliding_window} positions only ("sliding_attention"). */
    SLIDING("sliding_attention");

    private final String hfName;

    LayerAttention(String hfName) {
        this.hfName = hfName;
    }

    /** The string transformers writes in {@code layer_types}. */
    public String hfName() {
        return hfName;
    }
}
