package dev.tokc.passes.rewrite;

import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Applies a {@link RuleSet} to a graph until no rule fires.
 *
 * <p>One sweep rebuilds the graph bottom-up ({@link Graph#transform}): each node, with its operands already
 * rewritten, is offered to the rules repeatedly until none fires (at most {@link #LOCAL_LIMIT} times). A
 * replacement may contain new nodes that the sweep did not visit, so sweeps repeat until one fires no rule at all,
 * up to {@link Options#maxIterations()}. A graph that still changes then either stays as it is (the result says
 * {@code converged=false}) or, with {@link Options#failOnNonConvergence()} (what tests use), throws a
 * {@link NonConvergenceException} naming the rules that kept firing: two rules undoing each other is a bug.
 *
 * <p>Names: when a named node is replaced by a node the graph did not have before (a fresh, unnamed node), the
 * replacement takes the old name, so {@code %y = reshape(reshape(%x, ...), ...)} stays {@code %y}. A replacement
 * that already exists in the graph (x*1 -> x) keeps its own name.
 */
public final class RewriteDriver {
    /** How often one node is rewritten in a row before the driver moves on (the next sweep sees it again). */
    public static final int LOCAL_LIMIT = 32;

    /** @param maxIterations sweeps before giving up; {@code failOnNonConvergence}: throw rather than give up. */
    public record Options(int maxIterations, boolean failOnNonConvergence) {
        public static final Options DEFAULT = new Options(16, false);
        public static final Options STRICT = new Options(16, true);

        public Options {
            if (maxIterations < 1) {
                throw new IllegalArgumentException("maxIterations must be >= 1, got " + maxIterations);
            }
        }
    }

    /** The rewritten graph, how often each rule fired (rules that never fired are absent), and the sweeps run. */
    public record Result(Graph graph, Map<String, Integer> firings, int iterations, boolean converged) {
        public int total() {
            return firings.values().stream().mapToInt(Integer::intValue).sum();
        }
    }

    private RewriteDriver() {}

    public static Result run(Graph graph, RuleSet rules, Options options) {
        Map<String, Integer> total = new LinkedHashMap<>();
        Graph g = graph;
        Map<String, Integer> last = Map.of();
        for (int it = 1; it <= options.maxIterations(); it++) {
            Sweep sweep = new Sweep(g, rules);
            Graph next = g.transform(sweep::rewrite);
            if (sweep.firings.isEmpty()) {
                return new Result(next, total, it, true);
            }
            sweep.firings.forEach((k, v) -> total.merge(k, v, Integer::sum));
            last = sweep.firings;
            g = next;
        }
        if (options.failOnNonConvergence()) {
            throw new NonConvergenceException("rewriting @" + graph.name() + " did not converge after "
                    + options.maxIterations() + " sweeps; rules still firing in the last one: " + last, last);
        }
        return new Result(g, total, options.maxIterations(), false);
    }

    /** The state of one bottom-up sweep. */
    private static final class Sweep {
        final RuleSet rules;
        final Map<String, Integer> firings = new LinkedHashMap<>();
        /** Nodes of the graph before the sweep, and every node the sweep produced: not "fresh". */
        final Set<Node> known = Collections.newSetFromMap(new IdentityHashMap<>());

        Sweep(Graph g, RuleSet rules) {
            this.rules = rules;
            known.addAll(g.nodes());
        }

        Node rewrite(Node n) {
            Node cur = n;
            for (int i = 0; i < LOCAL_LIMIT; i++) {
                RuleSet.Firing f = rules.apply(cur);
                if (f == null) {
                    break;
                }
                firings.merge(f.rule().name(), 1, Integer::sum);
                cur = inheritName(cur, f.replacement());
            }
            known.add(cur);
            return cur;
        }

        private Node inheritName(Node replaced, Node r) {
            if (replaced.name() == null || r.name() != null || known.contains(r) || reaches(r, replaced)) {
                return r;
            }
            return r.withName(replaced.name());
        }

        /** Whether {@code target} is among the fresh nodes under {@code from} (it would then keep its name too). */
        private boolean reaches(Node from, Node target) {
            Deque<Node> todo = new ArrayDeque<>();
            Set<Node> seen = Collections.newSetFromMap(new IdentityHashMap<>());
            todo.push(from);
            while (!todo.isEmpty()) {
                Node x = todo.pop();
                if (x == target) {
                    return true;
                }
                if (seen.add(x) && !known.contains(x)) {
                    x.inputs().forEach(todo::push);
                }
            }
            return false;
        }
    }
}
