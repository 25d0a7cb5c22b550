package dev.tokc.ir;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Convenience for building a graph in code (importers, tests): declares parameters, makes weights, constants and
 * op nodes, keeps value names unique, and closes the graph over its outputs. Nodes are still made by
 * {@link Node#of}, so every node is type-checked as it is added.
 */
public final class GraphBuilder {
    private final String name;
    private final List<Node> params = new ArrayList<>();
    private final Set<String> usedNames = new HashSet<>();

    public GraphBuilder(String name) {
        this.name = name;
    }

    public Node param(String paramName, TensorType type) {
        claim(paramName);
        Node p = Node.of(new SourceOp.Param(paramName, type), List.of(), paramName);
        params.add(p);
        return p;
    }

    public Node weight(String key, TensorType type) {
        return Node.of(new SourceOp.Weight(key, type), List.of());
    }

    public Node constant(Tensor value) {
        return Node.of(new SourceOp.Constant(value), List.of());
    }

    /** A 1-D i64 constant. */
    public Node i64(long... values) {
        return constant(Tensor.vector(DType.I64, values));
    }

    /** A scalar i64 constant. */
    public Node scalarI64(long value) {
        return constant(Tensor.scalar(DType.I64, value));
    }

    /** A scalar constant of a float dtype. */
    public Node scalar(DType dtype, double value) {
        return constant(Tensor.scalar(dtype, value));
    }

    /** An i64 vector of possibly symbolic dims, e.g. a reshape target {@code [batch, seq, 6, 32]}. */
    public Node dims(Dim... dims) {
        return Node.of(new SourceOp.Dims(List.of(dims)), List.of());
    }

    public Node op(Op op, Node... inputs) {
        return Node.of(op, List.of(inputs));
    }

    public Node op(Op op, List<Node> inputs) {
        return Node.of(op, inputs);
    }

    /** An op node with a readable name; names must be unique within the graph. */
    public Node named(String valueName, Op op, Node... inputs) {
        claim(valueName);
        return Node.of(op, List.of(inputs), valueName);
    }

    private void claim(String valueName) {
        if (!usedNames.add(valueName)) {
            throw new IrException("value name %" + valueName + " is already used in graph @" + name);
        }
    }

    public Graph build(Node... outputs) {
        return new Graph(name, params, List.of(outputs));
    }

    public Graph build(List<Node> outputs) {
        return new Graph(name, params, outputs);
    }
}
