package dev.tokc.passes.rewrite;

import dev.tokc.ir.Dim;
import dev.tokc.ir.Node;
import dev.tokc.ir.Op;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.Tensor;
import java.util.Map;

/** The result of a successful {@link Pattern#match}: the matched root and the captured nodes by name. */
public final class Match {
    private final Node root;
    private final Map<String, Node> captures;

    Match(Node root, Map<String, Node> captures) {
        this.root = root;
        this.captures = Map.copyOf(captures);
    }

    /** The node the whole pattern matched. */
    public Node root() {
        return root;
    }

    /** The root's op, cast to the class the pattern required. */
    public <O extends Op> O rootOp(Class<O> opClass) {
        return opClass.cast(root.op());
    }

    /** The node captured as {@code name}; throws when the pattern has no such capture (a bug in the rule). */
    public Node node(String name) {
        Node n = captures.get(name);
        if (n == null) {
            throw new IllegalArgumentException("no capture named '" + name + "' (captured: " + captures.keySet() + ")");
        }
        return n;
    }

    /** The op of the node captured as {@code name}, cast to {@code opClass}. */
    public <O extends Op> O op(String name, Class<O> opClass) {
        return opClass.cast(node(name).op());
    }

    /** The value of the {@code constant} node captured as {@code name} (e.g. an epsilon a raising rule keeps). */
    public Tensor tensor(String name) {
        if (!(node(name).op() instanceof SourceOp.Constant c)) {
            throw new IllegalArgumentException("capture '" + name + "' is " + node(name).describe() + ", not a constant");
        }
        return c.value();
    }

    public Map<String, Node> captures() {
        return captures;
    }

    /**
     * {@code replacement} if it provably has the root's type, else null ("no rewrite"). Identity-removal rules
     * (x*1 -> x) end with this: x*1 broadcasting x to a larger shape, or an unknown dim {@code ?} (which only
     * looks equal to another {@code ?}), must keep the op.
     */
    public Node ifSameType(Node replacement) {
        if (!replacement.type().equals(root.type())) {
            return null;
        }
        for (Dim d : root.shape().dims()) {
            if (d.isUnknown()) {
                return null;
            }
        }
        return replacement;
    }
}
