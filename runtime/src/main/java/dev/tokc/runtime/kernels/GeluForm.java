package dev.tokc.runtime.kernels;

/** The two GELU definitions models use. */
public enum GeluForm {
    /** {@code 0.5 x (1 + erf(x / sqrt 2))}: exact GELU (BERT, Hugging Face "gelu"). */
    ERF,
    /** {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}: GPT-2's "gelu_new" / "gelu_pytorch_tanh". */
    TANH
}
