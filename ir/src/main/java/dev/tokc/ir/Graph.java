package dev.tokc.ir;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A function in SSA form: named parameters ({@link SourceOp.Param} nodes), the nodes reachable from the outputs,
 * and the outputs. Immutable; {@code withX()} returns {@code this} when nothing changes. Equality is structural:
 * same name, same (interned, hence identical) parameter and output nodes.
 */
public record Graph(String name, List<Node> inputs, List<Node> outputs) {
    public Graph {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        if (!name.matches("[A-Za-z0-9_.$]+")) {
            throw new IrException("invalid graph name '" + name + "'");
        }
        for (Node p : inputs) {
            if (!(p.op() instanceof SourceOp.Param)) {
                throw new IrException("graph input " + p.describe() + " is not a param");
            }
        }
    }

    public Graph withOutputs(List<Node> newOutputs) {
        return newOutputs.equals(outputs) ? this : new Graph(name, inputs, newOutputs);
    }

    public Graph withInputs(List<Node> newInputs) {
        return newInputs.equals(inputs) ? this : new Graph(name, newInputs, outputs);
    }

    public Graph withName(String newName) {
        return newName.equals(name) ? this : new Graph(newName, inputs, outputs);
    }

    /**
     * Every node reachable from the outputs, and every parameter, in a deterministic topological order
     * (parameters first in declaration order, then operands before users, outputs visited left to right).
     * Iterative, so graphs of any depth are fine.
     */
    public List<Node> nodes() {
        List<Node> order = new ArrayList<>();
        Set<Node> done = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Node p : inputs) {
            if (done.add(p)) {
                order.add(p);
            }
        }
        for (Node root : outputs) {
            if (done.contains(root)) {
                continue;
            }
            // Explicit stack of (node, next input index) to avoid recursion depth limits on long chains.
            ArrayDeque<Object[]> stack = new ArrayDeque<>();
            stack.push(new Object[] {root, 0});
            while (!stack.isEmpty()) {
                Object[] top = stack.peek();
                Node n = (Node) top[0];
                int i = (Integer) top[1];
                if (i < n.inputs().size()) {
                    top[1] = i + 1;
                    Node in = n.input(i);
                    if (!done.contains(in)) {
                        stack.push(new Object[] {in, 0});
                    }
                } else {
                    stack.pop();
                    if (done.add(n)) {
                        order.add(n);
                    }
                }
            }
        }
        return order;
    }

    /** Users of each node within this graph (identity map, users in topological order). */
    public Map<Node, List<Node>> users() {
        Map<Node, List<Node>> users = new IdentityHashMap<>();
        for (Node n : nodes()) {
            users.computeIfAbsent(n, k -> new ArrayList<>());
            for (Node in : n.inputs()) {
                List<Node> u = users.computeIfAbsent(in, k -> new ArrayList<>());
                if (u.isEmpty() || u.getLast() != n) {
                    u.add(n);
                }
            }
        }
        return users;
    }

    /** Weight nodes by key, in topological order. */
    public Map<String, Node> weights() {
        Map<String, Node> w = new LinkedHashMap<>();
        for (Node n : nodes()) {
            if (n.op() instanceof SourceOp.Weight wt) {
                w.putIfAbsent(wt.key(), n);
            }
        }
        return w;
    }

    /** Count of nodes per op name: the "op histogram" of {@code tokc inspect}. */
    public Map<String, Integer> opHistogram() {
        Map<String, Integer> h = new java.util.TreeMap<>();
        for (Node n : nodes()) {
            h.merge(n.op().name(), 1, Integer::sum);
        }
        return h;
    }

    /**
     * Rebuilds the graph bottom-up through {@code rewrite}, which sees each node with its inputs already
     * rewritten and returns its replacement (or the node itself). Returns {@code this} when nothing changed.
     */
    public Graph transform(java.util.function.UnaryOperator<Node> rewrite) {
        Map<Node, Node> map = new IdentityHashMap<>();
        for (Node n : nodes()) {
            List<Node> newInputs = new ArrayList<>(n.inputs().size());
            for (Node in : n.inputs()) {
                newInputs.add(map.get(in));
            }
            Node rebuilt = n.withInputs(newInputs);
            map.put(n, rewrite.apply(rebuilt));
        }
        List<Node> newInputs = new ArrayList<>();
        for (Node p : inputs) {
            newInputs.add(map.get(p));
        }
        List<Node> newOutputs = new ArrayList<>();
        for (Node o : outputs) {
            newOutputs.add(map.get(o));
        }
        return withInputs(newInputs).withOutputs(newOutputs);
    }
}
