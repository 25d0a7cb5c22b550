package dev.tokc.codegen.jvm;

import dev.tokc.ir.Dim;
import dev.tokc.ir.Node;
import java.util.List;

/**
 * One argument of a kernel call in the generated program, described once and rendered by both emitters (ASM
 * bytecode and JavaPoet source), so the two can never disagree about what a call passes.
 */
public sealed interface Arg {
    /** The buffer holding a node's value: an earlier result, a program input, or a weight/constant's bytes. */
    record Value(Node node) implements Arg {}

    /** A 2-D weight as a {@code WeightMatrix} ({@code ExecContext.matrix}). */
    record Matrix(Node weight) implements Arg {}

    /** An f32 constant as a {@code float[]} ({@code ExecContext.floats}). */
    record Floats(Node constant) implements Arg {}

    /** An {@code int}: the product of {@code factors}, each a constant or a symbol bound at run time. */
    record Size(List<Dim> factors) implements Arg {
        public Size {
            factors = List.copyOf(factors);
        }

        public static Size of(Dim... factors) {
            return new Size(List.of(factors));
        }
    }

    /** An {@code int[]} of sizes (shapes passed to the runtime). */
    record Sizes(List<Size> sizes) implements Arg {
        public Sizes {
            sizes = List.copyOf(sizes);
        }
    }

    record F32(float value) implements Arg {}

    record I32(int value) implements Arg {}

    record Bool(boolean value) implements Arg {}

    /** {@code null}, for an optional operand that is absent (e.g. a bias). */
    record Null() implements Arg {}
}
