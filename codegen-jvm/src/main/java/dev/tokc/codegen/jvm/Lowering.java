package dev.tokc.codegen.jvm;

import dev.tokc.ir.Node;

/** What one IR node becomes in the generated program. */
public sealed interface Lowering {
    /** A kernel call whose result is the node's buffer. */
    record Invoke(Call call) implements Lowering {}

    /** No code: the node's value is {@code source}'s buffer reinterpreted (reshape, squeeze: row-major data is unchanged). */
    record Alias(Node source) implements Lowering {}
}
