package dev.tokc.passes.transforms;

import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.ir.Op;
import dev.tokc.ir.SourceOp;
import dev.tokc.passes.Pass;
import dev.tokc.passes.PassContext;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code cse}: common subexpression elimination.
 *
 * <p><b>Rewrites</b> nodes that differ only in their name hint: same op (equal attributes, constants compared by
 * value) applied to the same inputs, after the inputs themselves were merged. Hash-consing already makes equal
 * unnamed computations one node; CSE merges what the names kept apart (an importer naming both
 * {@code %k_shape} and {@code %v_shape}, two references to one weight). Users of every duplicate use the first
 * node in topological order, whose name is kept. Graph inputs are never merged: each is part of the signature.
 *
 * <p><b>Needs</b> nothing; all ops are pure values in this IR (KV-cache writes and collectives are distinguished
 * by their operands, which differ). <b>After</b>: no two nodes of the graph have equal op and inputs.
 *
 * <p><b>Counters</b>: {@code merged} (duplicate nodes replaced by an earlier equal node).
 */
public final class Cse implements Pass {

    private record Key(Op op, List<Node> inputs) {}

    @Override
    public String name() {
        return "cse";
    }

    @Override
    public String summary() {
        return "merges nodes equal up to name hints (same op, same inputs); keeps the first name";
    }

    @Override
    public Graph run(Graph graph, PassContext ctx) {
        Map<Key, Node> first = new HashMap<>();
        ctx.add("merged", 0);
        return graph.transform(n -> {
            if (n.op() instanceof SourceOp.Param) {
                return n;
            }
            Node existing = first.putIfAbsent(new Key(n.op(), n.inputs()), n);
            if (existing == null || existing == n) {
                return n;
            }
            ctx.increment("merged");
            return existing;
        });
    }
}
