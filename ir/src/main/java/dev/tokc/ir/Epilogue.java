package dev.tokc.ir;

/** What a {@link TargetOp.FusedLinear} does to the GEMM result before storing it. */
public enum Epilogue {
    /** y = x W^T (+ bias). */
    NONE,
    /** W stacks gate over up ([2*ff, in]): y = silu(gate) * up, width ff. */
    SILU_MUL,
    /** W stacks gate over up: y = gelu(gate) * up (erf form), width ff (GeGLU). */
    GELU_MUL,
    /** y = gelu(x W^T + b), erf form. */
    GELU,
    /** y = gelu_tanh(x W^T + b). */
    GELU_TANH,
    /** y = x W^T (+ bias) + residual (the last input). */
    RESIDUAL_ADD
}
