package dev.tokc.passes;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.ir.Op;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import java.util.ArrayList;
import java.util.List;

/** Small builders for graphs in tests: {@code param("x", F32, "batch", 4)}, {@code op(new Add(), x, y)}. */
public final class Ir {
    private Ir() {}

    /** Dims from integers (static) and strings (symbols). */
    public static Dim[] dims(Object... ds) {
        Dim[] out = new Dim[ds.length];
        for (int i = 0; i < ds.length; i++) {
            out[i] = switch (ds[i]) {
                case Integer v -> Dim.of(v);
                case Long v -> Dim.of(v);
                case String s -> Dim.sym(s);
                case Dim d -> d;
                default -> throw new IllegalArgumentException("not a dim: " + ds[i]);
            };
        }
        return out;
    }

    public static Node param(String name, DType dtype, Object... shape) {
        return Node.of(new SourceOp.Param(name, TensorType.of(dtype, dims(shape))), List.of(), name);
    }

    public static Node weight(String key, DType dtype, Object... shape) {
        return Node.of(new SourceOp.Weight(key, TensorType.of(dtype, dims(shape))), List.of());
    }

    /** A 1-D i64 constant. */
    public static Node i64s(long... values) {
        return Node.of(new SourceOp.Constant(Tensor.vector(DType.I64, values)));
    }

    public static Node scalar(DType dtype, double value) {
        return Node.of(new SourceOp.Constant(Tensor.scalar(dtype, value)));
    }

    /** A constant of {@code dtype} and {@code shape} filled with {@code value}. */
    public static Node fill(DType dtype, double value, long... shape) {
        return Node.of(new SourceOp.Constant(Tensor.generate(dtype, shape, i -> value)));
    }

    public static Node dimsNode(Object... ds) {
        return Node.of(new SourceOp.Dims(List.of(dims(ds))));
    }

    public static Node op(Op op, Node... inputs) {
        return Node.of(op, List.of(inputs));
    }

    public static Node named(String name, Op op, Node... inputs) {
        return Node.of(op, List.of(inputs), name);
    }

    /** A graph whose inputs are the params among {@code inputs}, in order. */
    public static Graph graph(String name, List<Node> inputs, Node... outputs) {
        return new Graph(name, inputs, List.of(outputs));
    }

    public static Graph graph(List<Node> inputs, Node... outputs) {
        return graph("g", inputs, outputs);
    }

    /** The op names of a graph's non-source nodes in topological order, for compact assertions. */
    public static List<String> ops(Graph g) {
        List<String> out = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (!(n.op() instanceof SourceOp)) {
                out.add(n.op().name());
            }
        }
        return out;
    }
}
