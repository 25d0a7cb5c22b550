package dev.tokc.passes.rewrite;

import dev.tokc.ir.Node;
import dev.tokc.ir.Op;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An ordered, immutable set of rules with distinct names. Sets compose ({@code simplify.plus(foldShapes)}); when
 * several rules match a node the first one in order wins. Rules are indexed by their pattern's root op class, so
 * a node only tries the rules that can match it.
 */
public final class RuleSet {
    private final List<Rule> rules;
    private final Map<Class<?>, List<Rule>> byOpClass = new ConcurrentHashMap<>();

    private RuleSet(List<Rule> rules) {
        this.rules = List.copyOf(rules);
        Set<String> names = new HashSet<>();
        for (Rule r : this.rules) {
            if (!names.add(r.name())) {
                throw new IllegalArgumentException("two rules named " + r.name());
            }
        }
    }

    public static RuleSet of(Rule... rules) {
        return new RuleSet(Arrays.asList(rules));
    }

    public static RuleSet of(List<Rule> rules) {
        return new RuleSet(rules);
    }

    /** This set followed by {@code other}'s rules. */
    public RuleSet plus(RuleSet other) {
        List<Rule> all = new ArrayList<>(rules);
        all.addAll(other.rules);
        return new RuleSet(all);
    }

    public RuleSet plus(Rule... more) {
        return plus(of(more));
    }

    public List<Rule> rules() {
        return rules;
    }

    public List<String> names() {
        return rules.stream().map(Rule::name).toList();
    }

    /** The rules that may match a node with this op, in order. */
    public List<Rule> candidates(Op op) {
        return byOpClass.computeIfAbsent(op.getClass(), c -> rules.stream()
                .filter(r -> r.pattern().rootClass() == null || r.pattern().rootClass().isAssignableFrom(c))
                .toList());
    }

    /** The first rule's replacement for {@code n}, with that rule; null when none applies. */
    public Firing apply(Node n) {
        for (Rule r : candidates(n.op())) {
            Node out = r.apply(n);
            if (out != null) {
                return new Firing(r, out);
            }
        }
        return null;
    }

    /** A rule that fired, and what it produced. */
    public record Firing(Rule rule, Node replacement) {}

    @Override
    public String toString() {
        return names().toString();
    }
}
