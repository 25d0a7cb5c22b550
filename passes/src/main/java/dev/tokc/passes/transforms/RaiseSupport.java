package dev.tokc.passes.transforms;

import dev.tokc.ir.Dim;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Cast;
import dev.tokc.ir.PrimitiveOp.Div;
import dev.tokc.ir.PrimitiveOp.Mul;
import dev.tokc.ir.PrimitiveOp.Reduce;
import dev.tokc.ir.Shape;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;

/** Small queries the raising rule sets share: scalar constants, last-axis reductions, multiplication chains. */
final class RaiseSupport {
    private RaiseSupport() {}

    /** The value of a one-element float or integer constant (any rank), looking through casts. */
    static OptionalDouble scalar(Node n) {
        Node c = stripCasts(n);
        if (c.op() instanceof SourceOp.Constant k && k.value().size() == 1) {
            return OptionalDouble.of(k.value().getDouble(0));
        }
        return OptionalDouble.empty();
    }

    /**
     * A scalar attribute (an epsilon) read from a one-element constant: an f32 constant gives the shortest decimal
     * that rounds to it ({@code 1e-06}, not {@code 9.99999997e-07}), the value a config file states.
     */
    static OptionalDouble attribute(Node n) {
        OptionalDouble v = scalar(n);
        if (v.isPresent() && stripCasts(n).dtype() == dev.tokc.ir.DType.F32) {
            return OptionalDouble.of(Double.parseDouble(Float.toString((float) v.getAsDouble())));
        }
        return v;
    }

    static boolean isScalar(Node n, double value, double relTol) {
        OptionalDouble v = scalar(n);
        return v.isPresent() && Math.abs(v.getAsDouble() - value) <= relTol * Math.abs(value);
    }

    /** The node under any float-to-float casts (exporters' {@code .to(float32)} noise). */
    static Node stripCasts(Node n) {
        Node c = n;
        while (c.op() instanceof Cast && c.input(0).dtype().isFloat() && c.dtype().isFloat()) {
            c = c.input(0);
        }
        return c;
    }

    /** Whether reduction node {@code n} reduces exactly the last axis of its input. */
    static boolean reducesLastAxis(Node n) {
        Reduce r = (Reduce) n.op();
        int rank = n.input(0).rank();
        return r.axes().size() == 1 && Shape.normalizeAxis(r.axes().get(0), rank) == rank - 1;
    }

    static boolean isWeight(Node n, int rank) {
        return n.op() instanceof SourceOp.Weight && n.rank() == rank;
    }

    /** {@code replacement} when it has exactly the matched node's type, else null (rules must keep types). */
    static Node sameType(Node matched, Node replacement) {
        return replacement.type().equals(matched.type()) ? replacement : null;
    }

    /**
     * The factors of a product: {@code a*b*c} in any association, division by a constant as a factor 1/c. Stops at
     * {@code depth} levels of nesting.
     */
    static List<Node> factors(Node n, int depth) {
        List<Node> out = new ArrayList<>();
        collect(n, depth, out);
        return out;
    }

    private static void collect(Node n, int depth, List<Node> out) {
        if (depth > 0 && n.op() instanceof Mul) {
            collect(n.input(0), depth - 1, out);
            collect(n.input(1), depth - 1, out);
        } else if (depth > 0 && n.op() instanceof Div && scalar(n.input(1)).isPresent()) {
            collect(n.input(0), depth - 1, out);
            double c = scalar(n.input(1)).getAsDouble();
            out.add(Node.of(new SourceOp.Constant(Tensor.scalar(n.dtype(), 1.0 / c))));
        } else {
            out.add(n);
        }
    }

    /** A {@code dims} node for the given dims. */
    static Node dims(List<Dim> dims) {
        return Node.of(new SourceOp.Dims(dims));
    }
}
