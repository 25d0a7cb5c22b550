package dev.tokc.passes.transforms;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.SymbolicValues;
import dev.tokc.ir.Tensor;
import dev.tokc.passes.Pass;
import dev.tokc.passes.PassContext;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * {@code shape-infer}: replaces integer shape computations by their value, symbolic dims included.
 *
 * <p><b>Rewrites</b> every integer node of rank 0 or 1 (other than a source) whose value
 * {@link SymbolicValues#dims} derives completely (no unknown entry):
 * <ul>
 *   <li>to a {@code constant} when every entry is an integer ({@code shape(x)} of a static {@code x});</li>
 *   <li>to a {@code dims} node when the node is an i64 vector with symbolic entries, e.g.
 *       {@code concat(slice(shape(x), 0, 2), [6, -1])} becomes {@code dims [batch, seq, 6, -1]}, so a downstream
 *       Reshape/Expand/Slice reads its target shape directly and patterns can match on it.</li>
 * </ul>
 * Symbolic scalars and non-i64 symbolic vectors stay (no op holds them), as do values that mention a symbol no
 * graph input binds (the verifier requires {@code dims} symbols to be bound). The shape-of/gather/concat chains
 * that only fed resolved nodes become unreachable and disappear from the graph.
 *
 * <p><b>Needs</b> nothing. <b>After</b>: every resolvable integer shape computation is a {@code dims} node or a
 * constant; result types are unchanged (they were already inferred through the same evaluator).
 *
 * <p><b>Counters</b>: {@code shapesResolved}: resolved nodes that are still used in the result (an intermediate
 * value whose only user was also resolved is not counted).
 */
public final class ShapeInfer implements Pass {

    @Override
    public String name() {
        return "shape-infer";
    }

    @Override
    public String summary() {
        return "replaces integer shape computations by dims [batch, seq, ...] or constants (symbolic shape inference)";
    }

    @Override
    public Graph run(Graph graph, PassContext ctx) {
        Set<String> bound = boundSymbols(graph);
        Set<Node> resolved = Collections.newSetFromMap(new IdentityHashMap<>());
        Graph out = graph.transform(n -> {
            Node r = resolve(n, bound);
            if (r != n) {
                resolved.add(r);
            }
            return r;
        });
        long used = out.nodes().stream().filter(resolved::contains).count();
        ctx.add("shapesResolved", used);
        return out;
    }

    private static Node resolve(Node n, Set<String> bound) {
        if (n.op() instanceof SourceOp || n.type().isQuantized() || n.rank() > 1 || !n.dtype().isInteger()) {
            return n;
        }
        List<Dim> value = SymbolicValues.dims(n).orElse(null);
        if (value == null || value.stream().anyMatch(Dim::isUnknown)) {
            return n;
        }
        if (value.stream().allMatch(Dim::isConstant)) {
            long[] v = value.stream().mapToLong(Dim::value).toArray();
            long[] shape = n.rank() == 0 ? new long[0] : new long[] {v.length};
            if (n.rank() == 0 && v.length != 1) {
                return n;
            }
            return Node.of(new SourceOp.Constant(Tensor.ofLongs(n.dtype(), shape, v)), List.of(), n.name());
        }
        if (n.rank() != 1 || n.dtype() != DType.I64) {
            return n;
        }
        for (Dim d : value) {
            if (!bound.containsAll(d.symbols())) {
                return n;
            }
        }
        return Node.of(new SourceOp.Dims(value), List.of(), n.name());
    }

    /** Symbols some graph input has as a dim: what the interpreter can bind, hence what a dims node may use. */
    static Set<String> boundSymbols(Graph g) {
        Set<String> out = new HashSet<>();
        for (Node p : g.inputs()) {
            for (Dim d : p.shape().dims()) {
                d.symbol().ifPresent(out::add);
            }
        }
        return out;
    }
}
