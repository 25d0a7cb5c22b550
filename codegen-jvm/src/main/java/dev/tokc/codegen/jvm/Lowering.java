package dev.tokc.codegen.jvm;

import dev.tokc.ir.Node;

/** What one IR node becomes in the generated program. */
public sealed interface Lowering {
    /** A kernel call whose result is the node's buffer. */
    record Invoke(Call call) implements Lowering {}

    /**
     * A kernel the backend generates into the program class itself: a loop over {@code count} f32 elements that
     * evaluates {@code expr} on the same element of each input (an {@code elementwise} node of the fusion pass,
     * specialised to its literals). The node's buffer is a fresh f32 buffer the loop fills.
     */
    record Generated(dev.tokc.ir.ElementwiseExpr expr, java.util.List<Node> inputs, Arg.Size count) implements Lowering {
        public Generated {
            inputs = java.util.List.copyOf(inputs);
        }
    }

    /** No code: the node's value is {@code source}'s buffer reinterpreted (reshape, squeeze: row-major data is unchanged). */
    record Alias(Node source) implements Lowering {}
}
