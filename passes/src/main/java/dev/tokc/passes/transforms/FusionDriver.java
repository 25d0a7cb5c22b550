package dev.tokc.passes.transforms;

import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.passes.PassContext;
import dev.tokc.passes.rewrite.NonConvergenceException;
import dev.tokc.passes.rewrite.RuleSet;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Runs fusion rules, which unlike canonicalisation depend on who else uses a value: fusing {@code silu(g) * u}
 * into one kernel only pays when nothing else reads {@code silu(g)}, and merging sibling projections replaces
 * several nodes at once. Rules are still {@link dev.tokc.passes.rewrite.Rule}s in a {@link RuleSet}, declared one
 * per line; their guards read the use counts of the current graph through a {@link Uses} handed to the rule-set
 * factory, and a rewrite may also replace other nodes of the graph ({@link Uses#alsoReplace}).
 *
 * <p>The driver finds the first node, in topological order, where a rule fires, replaces it (and what the rule
 * asked to replace with it) in one rebuild of the graph, and starts over with fresh use counts, until no rule
 * fires. A replacement that is a fresh unnamed node takes the replaced node's name. Each firing adds 1 to the
 * counter named after its rule. Every rule must shrink the work left (a fused node never matches the rule that
 * made it again); a run that does not stop within {@link #MAX_FIRINGS} firings throws.
 */
final class FusionDriver {
    static final int MAX_FIRINGS = 100_000;

    private FusionDriver() {}

    /** Use counts of the graph being rewritten, and the extra replacements a firing rule asks for. */
    static final class Uses {
        private Map<Node, List<Node>> users = Map.of();
        private Set<Node> outputs = Set.of();
        private final Map<Node, Node> extra = new IdentityHashMap<>();

        void reset(Graph g) {
            users = g.users();
            outputs = Collections.newSetFromMap(new IdentityHashMap<>());
            outputs.addAll(g.outputs());
            extra.clear();
        }

        /** The distinct users of {@code n} in the graph (a graph output counts as one more). */
        int count(Node n) {
            List<Node> u = users.get(n);
            return (u == null ? 0 : u.size()) + (outputs.contains(n) ? 1 : 0);
        }

        /** Whether {@code n}'s value is read exactly once: by the node being fused, and not as a graph output. */
        boolean single(Node n) {
            return count(n) == 1;
        }

        /** Whether some node of the graph is named {@code name}. */
        boolean nameTaken(String name) {
            return users.keySet().stream().anyMatch(n -> name.equals(n.name()));
        }

        /** The users of {@code n}, in topological order. */
        List<Node> users(Node n) {
            return users.getOrDefault(n, List.of());
        }

        /** Also replaces {@code old} (a node of the current graph) by {@code replacement} when the rule fires. */
        void alsoReplace(Node old, Node replacement) {
            if (!old.type().equals(replacement.type())) {
                throw new IllegalStateException("replacement of " + old + " has type " + replacement.type());
            }
            extra.put(old, replacement);
        }
    }

    static Graph run(Graph graph, Function<Uses, RuleSet> ruleFactory, PassContext ctx) {
        Uses uses = new Uses();
        RuleSet rules = ruleFactory.apply(uses);
        for (String name : rules.names()) {
            ctx.add(name, 0);
        }
        Graph g = graph;
        for (int firings = 0; firings < MAX_FIRINGS; firings++) {
            uses.reset(g);
            Map<Node, Node> replace = null;
            for (Node n : g.nodes()) {
                RuleSet.Firing f = rules.apply(n);
                if (f != null) {
                    ctx.increment(f.rule().name());
                    replace = new IdentityHashMap<>(uses.extra);
                    replace.put(n, f.replacement());
                    break;
                }
                uses.extra.clear();
            }
            if (replace == null) {
                return g;
            }
            Set<Node> known = Collections.newSetFromMap(new IdentityHashMap<>());
            known.addAll(g.nodes());
            Map<Node, Node> todo = replace;
            g = g.transform(x -> {
                Node r = todo.get(x);
                if (r == null) {
                    return x;
                }
                return x.name() != null && r.name() == null && !known.contains(r) ? r.withName(x.name()) : r;
            });
        }
        throw new NonConvergenceException("fusion on @" + graph.name() + " did not stop after " + MAX_FIRINGS
                + " firings", Map.of());
    }
}
