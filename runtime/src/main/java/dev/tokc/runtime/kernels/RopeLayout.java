package dev.tokc.runtime.kernels;

/** How a rotary embedding pairs the dimensions of a head it rotates. */
public enum RopeLayout {
    /** GPT-NeoX / Hugging Face Llama "rotate_half": dimension i pairs with i + rotaryDim/2. */
    NEOX,
    /** GPT-J / original Meta layout: dimension 2i pairs with 2i + 1. */
    INTERLEAVED
}
