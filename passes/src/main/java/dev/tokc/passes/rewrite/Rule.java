package dev.tokc.passes.rewrite;

import dev.tokc.ir.Node;
import java.util.Objects;

/**
 * A named rewrite: where {@code pattern} matches a node, {@code rewrite} builds its replacement from the captures,
 * or returns null to decline (a condition the pattern cannot express). The replacement must have the matched
 * node's type; the driver checks that and names the rule when it does not.
 *
 * <p>Rules are data, declared one per line with a comment saying what they do:
 * <pre>
 *   new Rule("mulOne", op(Mul.class, var("x"), constant(1)), m -&gt; m.ifSameType(m.node("x"))), // x*1 -&gt; x
 * </pre>
 */
public record Rule(String name, Pattern pattern, Rewrite rewrite) {

    /** Builds a replacement from a match; null means "does not apply here". */
    @FunctionalInterface
    public interface Rewrite {
        Node apply(Match m);
    }

    public Rule {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(pattern, "pattern");
        Objects.requireNonNull(rewrite, "rewrite");
        if (!name.matches("[A-Za-z][A-Za-z0-9_]*")) {
            throw new IllegalArgumentException("rule name '" + name + "' must be an identifier (it names a counter)");
        }
    }

    /** The replacement for {@code n}, or null when the pattern does not match or the rewrite declines. */
    public Node apply(Node n) {
        Match m = pattern.match(n);
        if (m == null) {
            return null;
        }
        Node r;
        try {
            r = rewrite.apply(m);
        } catch (RuntimeException e) {
            throw new IllegalStateException("rule " + name + " failed on " + n + ": " + e.getMessage(), e);
        }
        if (r == null || r == n) {
            return null;
        }
        if (!r.type().equals(n.type())) {
            throw new IllegalStateException("rule " + name + " changed the type of " + n.describe() + " from "
                    + n.type() + " to " + r.type());
        }
        return r;
    }

    @Override
    public String toString() {
        return name;
    }
}
