package dev.tokc.passes.transforms;

import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.passes.Pass;
import dev.tokc.passes.PassContext;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * {@code dce}: dead code elimination.
 *
 * <p><b>Rewrites</b> nothing in practice, by construction: a {@link Graph} is its inputs and outputs, and its
 * nodes are what is reachable from them ({@link Graph#nodes()}), so a value nobody uses cannot be held by a graph;
 * the text parser and every pass drop dead values as a side effect of rebuilding. This pass rebuilds the graph
 * from its outputs and counts what that removed, so a pipeline (and {@code --passes=dce}) states the
 * postcondition explicitly and a future graph representation that can hold dead nodes gets a real DCE in one place.
 *
 * <p><b>Unused graph inputs are kept</b>: the inputs are the graph's signature, which callers bind by position.
 *
 * <p><b>Needs</b> nothing. <b>After</b>: every node is reachable from an output, or is a graph input.
 *
 * <p><b>Counters</b>: {@code removed} (nodes of the input graph that are absent from the result).
 */
public final class Dce implements Pass {

    @Override
    public String name() {
        return "dce";
    }

    @Override
    public String summary() {
        return "removes nodes not reachable from the outputs (unused graph inputs stay: they are the signature)";
    }

    @Override
    public Graph run(Graph graph, PassContext ctx) {
        List<Node> before = graph.nodes();
        Graph out = new Graph(graph.name(), graph.inputs(), graph.outputs());
        Set<Node> live = Collections.newSetFromMap(new IdentityHashMap<>());
        live.addAll(out.nodes());
        ctx.add("removed", before.stream().filter(n -> !live.contains(n)).count());
        return out.equals(graph) ? graph : out;
    }
}
