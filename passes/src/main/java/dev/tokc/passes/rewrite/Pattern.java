package dev.tokc.passes.rewrite;

import dev.tokc.ir.Node;
import dev.tokc.ir.Op;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A pattern over IR nodes: "any node", or "a node whose op is an instance of some class, whose attributes satisfy
 * a predicate and whose operands match nested patterns". Any pattern can capture the node it matched under a
 * name ({@link #as}); capturing one name twice requires the same node both times, so {@code op(Sub.class,
 * var("x"), var("x"))} matches {@code x - x} only.
 *
 * <p>Patterns are immutable; the fluent methods return new patterns. Build them through the static factories,
 * usually statically imported:
 * <pre>
 *   op(Mul.class, var("x"), constant(1))                          // x*1, or 1*x: Mul is commutative
 *   op(Transpose.class, op(Transpose.class, var("x")).as("inner")) // transpose(transpose(x))
 *   op(Cast.class, var("x")).where(c -&gt; !c.saturate())             // attribute predicate, typed by the op class
 * </pre>
 *
 * <p>Binary ops that commute ({@link #COMMUTATIVE}) match their two operands in either order, first as written;
 * captures made by a failed first attempt are discarded before the swapped one.
 */
public sealed class Pattern permits Pattern.OpPattern {

    /** Ops whose two operands may be swapped without changing the value. */
    public static final Set<Class<? extends Op>> COMMUTATIVE = Set.of(PrimitiveOp.Add.class, PrimitiveOp.Mul.class,
            PrimitiveOp.Max.class, PrimitiveOp.Min.class, PrimitiveOp.And.class, PrimitiveOp.Or.class,
            PrimitiveOp.Xor.class, PrimitiveOp.Equal.class);

    private final String capture;
    private final List<Predicate<Node>> guards;

    Pattern(String capture, List<Predicate<Node>> guards) {
        this.capture = capture;
        this.guards = List.copyOf(guards);
    }

    // ---- factories ----

    /** Matches any node and captures nothing. */
    public static Pattern any() {
        return new Pattern(null, List.of());
    }

    /** Matches any node and captures it as {@code name}. */
    public static Pattern var(String name) {
        return any().as(name);
    }

    /** Matches a node whose op is an instance of {@code opClass}, with any operands. */
    public static <O extends Op> OpPattern<O> op(Class<O> opClass) {
        return new OpPattern<>(null, List.of(), opClass, List.of(), null, COMMUTATIVE.contains(opClass));
    }

    /** Matches a node whose op is an instance of {@code opClass} and whose operands match {@code operands} exactly. */
    public static <O extends Op> OpPattern<O> op(Class<O> opClass, Pattern... operands) {
        return new OpPattern<>(null, List.of(), opClass, List.of(), List.of(operands), COMMUTATIVE.contains(opClass));
    }

    /** Matches a {@code constant} node, any value. */
    public static OpPattern<SourceOp.Constant> constant() {
        return op(SourceOp.Constant.class);
    }

    /**
     * Matches a {@code constant} node whose every element equals {@code value} (a splat; any shape, any dtype, so
     * {@code constant(1)} matches {@code f32 1.0} and {@code i64[4] [1, 1, 1, 1]}). Empty tensors never match.
     */
    public static OpPattern<SourceOp.Constant> constant(double value) {
        return constant().where(c -> isSplat(c.value(), value));
    }

    static boolean isSplat(Tensor t, double value) {
        if (t.size() == 0) {
            return false;
        }
        for (int i = 0; i < t.size(); i++) {
            if (t.getDouble(i) != value) {
                return false;
            }
        }
        return true;
    }

    // ---- fluent modifiers ----

    /** This pattern, capturing the matched node as {@code name}. */
    public Pattern as(String name) {
        return new Pattern(Objects.requireNonNull(name), guards);
    }

    /** This pattern, additionally requiring {@code guard} of the matched node (e.g. on its type). */
    public Pattern when(Predicate<Node> guard) {
        return new Pattern(capture, append(guards, guard));
    }

    /** The op class this pattern's root requires, or null for "any": lets a rule set index its rules. */
    public Class<? extends Op> rootClass() {
        return null;
    }

    /** Matches {@code n} against this pattern, returning the captures, or null when it does not match. */
    public Match match(Node n) {
        Map<String, Node> bindings = new HashMap<>();
        return matches(n, bindings) ? new Match(n, bindings) : null;
    }

    // ---- matching ----

    boolean matches(Node n, Map<String, Node> bindings) {
        // Structure first, so a guard may rely on the operands the pattern requires.
        if (!matchesSelf(n, bindings)) {
            return false;
        }
        for (Predicate<Node> g : guards) {
            if (!g.test(n)) {
                return false;
            }
        }
        if (capture != null) {
            Node prev = bindings.putIfAbsent(capture, n);
            return prev == null || prev == n;
        }
        return true;
    }

    boolean matchesSelf(Node n, Map<String, Node> bindings) {
        return true;
    }

    String capture() {
        return capture;
    }

    List<Predicate<Node>> guards() {
        return guards;
    }

    static <T> List<T> append(List<T> list, T item) {
        List<T> out = new ArrayList<>(list);
        out.add(Objects.requireNonNull(item));
        return out;
    }

    /** A pattern rooted at an op class; {@link #where} takes a predicate typed by that class. */
    public static final class OpPattern<O extends Op> extends Pattern {
        private final Class<O> opClass;
        private final List<Predicate<? super O>> attrs;
        private final List<Pattern> operands; // null: any operands
        private final boolean commutative;

        OpPattern(String capture, List<Predicate<Node>> guards, Class<O> opClass, List<Predicate<? super O>> attrs,
                  List<Pattern> operands, boolean commutative) {
            super(capture, guards);
            this.opClass = Objects.requireNonNull(opClass);
            this.attrs = List.copyOf(attrs);
            this.operands = operands == null ? null : List.copyOf(operands);
            this.commutative = commutative;
        }

        /** Requires {@code attr} of the op (its attributes are the record's components). */
        public OpPattern<O> where(Predicate<? super O> attr) {
            return new OpPattern<>(capture(), guards(), opClass, append(attrs, attr), operands, commutative);
        }

        @Override
        public OpPattern<O> as(String name) {
            return new OpPattern<>(Objects.requireNonNull(name), guards(), opClass, attrs, operands, commutative);
        }

        @Override
        public OpPattern<O> when(Predicate<Node> guard) {
            return new OpPattern<>(capture(), append(guards(), guard), opClass, attrs, operands, commutative);
        }

        /** Also tries the two operands swapped (already the default for {@link #COMMUTATIVE} ops). */
        public OpPattern<O> commutative() {
            if (operands == null || operands.size() != 2) {
                throw new IllegalStateException("only a pattern with two operands can be commutative");
            }
            return new OpPattern<>(capture(), guards(), opClass, attrs, operands, true);
        }

        @Override
        public Class<? extends Op> rootClass() {
            return opClass;
        }

        @Override
        boolean matchesSelf(Node n, Map<String, Node> bindings) {
            if (!opClass.isInstance(n.op())) {
                return false;
            }
            O op = opClass.cast(n.op());
            for (Predicate<? super O> a : attrs) {
                if (!a.test(op)) {
                    return false;
                }
            }
            if (operands == null) {
                return true;
            }
            if (operands.size() != n.inputs().size()) {
                return false;
            }
            Map<String, Node> snapshot = commutative ? new HashMap<>(bindings) : null;
            if (matchAll(n.inputs(), operands, bindings)) {
                return true;
            }
            if (commutative && operands.size() == 2) {
                bindings.clear();
                bindings.putAll(snapshot);
                if (matchAll(List.of(n.input(1), n.input(0)), operands, bindings)) {
                    return true;
                }
            }
            return false;
        }

        private static boolean matchAll(List<Node> inputs, List<Pattern> patterns, Map<String, Node> bindings) {
            for (int i = 0; i < patterns.size(); i++) {
                if (!patterns.get(i).matches(inputs.get(i), bindings)) {
                    return false;
                }
            }
            return true;
        }
    }
}
