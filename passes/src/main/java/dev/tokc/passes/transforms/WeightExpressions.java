package dev.tokc.passes.transforms;

import dev.tokc.ir.DType;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.Tensor;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * The <b>weight expression</b> contract shared by the fusion passes. A fused kernel often needs a weight that no
 * checkpoint stores, such as q, k and v projections stacked into one {@code [q + k + v, in]} matrix. The passes
 * never copy weight data into the graph; they express the new weight as a subgraph over {@code weight "key"}
 * nodes (and constants), for example
 * <pre>
 *   %w_qkv = concat(%wq, %wk, %wv) {axis = 0} : f32[320, 192]
 * </pre>
 * A value is a weight expression when no graph input reaches it. Its value is fixed at compile time, so a backend
 * evaluates each weight expression once, when it re-lays the weights into the artifact's {@code weights.bin}, and
 * the program only reads the result; the reference interpreter simply evaluates the subgraph (once per run).
 */
final class WeightExpressions {
    private WeightExpressions() {}

    /** Whether {@code n} depends only on weights, constants and dims (no graph input): a compile-time value. */
    static boolean isWeightExpression(Node n) {
        Deque<Node> todo = new ArrayDeque<>();
        Set<Node> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        todo.push(n);
        while (!todo.isEmpty()) {
            Node x = todo.pop();
            if (!seen.add(x)) {
                continue;
            }
            if (x.op() instanceof SourceOp.Param || x.op() instanceof dev.tokc.ir.TargetOp) {
                return false;
            }
            x.inputs().forEach(todo::push);
        }
        return true;
    }

    /** {@code concat(parts) {axis}}; a single part is returned as it is. */
    static Node concat(List<Node> parts, long axis) {
        return parts.size() == 1 ? parts.getFirst() : Node.of(new PrimitiveOp.Concat(axis), parts);
    }

    /** {@code x[..., start:end]} along {@code axis} (non-negative), with constant i64 bounds and step 1. */
    static Node slice(Node x, int axis, long start, long end) {
        return Node.of(new PrimitiveOp.Slice(), x, i64(start), i64(end), i64(axis), i64(1));
    }

    private static Node i64(long v) {
        return Node.of(new SourceOp.Constant(Tensor.vector(DType.I64, v)), List.of());
    }
}
