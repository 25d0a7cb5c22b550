package dev.tokc.passes.transforms;

import static dev.tokc.passes.rewrite.Pattern.any;
import static dev.tokc.passes.rewrite.Pattern.constant;
import static dev.tokc.passes.rewrite.Pattern.op;
import static dev.tokc.passes.rewrite.Pattern.var;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.ir.Shape;
import dev.tokc.ir.PrimitiveOp.Add;
import dev.tokc.ir.PrimitiveOp.And;
import dev.tokc.ir.PrimitiveOp.Cast;
import dev.tokc.ir.PrimitiveOp.Concat;
import dev.tokc.ir.PrimitiveOp.Div;
import dev.tokc.ir.PrimitiveOp.Expand;
import dev.tokc.ir.PrimitiveOp.Max;
import dev.tokc.ir.PrimitiveOp.Min;
import dev.tokc.ir.PrimitiveOp.Mul;
import dev.tokc.ir.PrimitiveOp.Neg;
import dev.tokc.ir.PrimitiveOp.Not;
import dev.tokc.ir.PrimitiveOp.Or;
import dev.tokc.ir.PrimitiveOp.Pow;
import dev.tokc.ir.PrimitiveOp.Reshape;
import dev.tokc.ir.PrimitiveOp.Slice;
import dev.tokc.ir.PrimitiveOp.Squeeze;
import dev.tokc.ir.PrimitiveOp.Sub;
import dev.tokc.ir.PrimitiveOp.Transpose;
import dev.tokc.ir.PrimitiveOp.Unsqueeze;
import dev.tokc.ir.PrimitiveOp.Where;
import dev.tokc.ir.SymbolicValues;
import dev.tokc.passes.Pass;
import dev.tokc.passes.PassContext;
import dev.tokc.passes.rewrite.Match;
import dev.tokc.passes.rewrite.RewriteDriver;
import dev.tokc.passes.rewrite.Rule;
import dev.tokc.passes.rewrite.RuleSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code canonicalize}: algebraic identities as rewrite rules, run to a fixed point.
 *
 * <p><b>Rewrites</b> (one rule each, listed in {@link #ARITHMETIC}, {@link #LAYOUT} and {@link #CASTS}): neutral
 * elements ({@code x+0}, {@code x-0}, {@code x*1}, {@code x/1}, {@code x^1}), {@code x*-1 -> -x}, involutions
 * ({@code -(-x)}, {@code !!x}), negation into subtraction ({@code x+(-y) -> x-y}, {@code -(x-y) -> y-x}),
 * idempotent binaries ({@code max(x,x)}), boolean identities ({@code x&true}, {@code x|false}), selects of one value or on a constant condition, composition of reshapes
 * and transposes, removal of identity reshape / expand / transpose / squeeze / unsqueeze / cast / whole-axis slice /
 * single-input concat, squeeze-unsqueeze round trips, composition of unsqueezes, and cast chains that go through a lossless or same-width cast. Every identity removal requires the replacement to have exactly the node's type,
 * so an {@code x*1} that broadcasts {@code x} to a larger shape stays.
 *
 * <p><b>Floating point.</b> Every rule is exact in IEEE arithmetic up to the sign of a zero result: {@code x+0 -> x}
 * maps {@code -0.0 + 0.0 = +0.0} to {@code -0.0}, and {@code -(x-y) -> y-x} turns {@code -0.0} into {@code +0.0} when
 * {@code x == y}; equal as numbers, different bits. No rule drops a NaN or reassociates.
 *
 * <p><b>Needs</b> nothing (a verified graph). <b>After</b>: no rule of this pass matches any node. Shape
 * operands that {@code shape-infer} resolved make more reshapes recognisable as identities.
 *
 * <p><b>Counters</b>: {@code rewrites} (total), plus one counter per rule that fired, named after the rule.
 */
public final class Canonicalize implements Pass {

    // ---- arithmetic identities ----
    static final RuleSet ARITHMETIC = RuleSet.of(
            new Rule("addZero", op(Add.class, var("x"), constant(0)), m -> m.ifSameType(m.node("x"))),   // x+0 -> x
            new Rule("subZero", op(Sub.class, var("x"), constant(0)), m -> m.ifSameType(m.node("x"))),   // x-0 -> x
            new Rule("mulOne", op(Mul.class, var("x"), constant(1)), m -> m.ifSameType(m.node("x"))),    // x*1 -> x
            new Rule("divOne", op(Div.class, var("x"), constant(1)), m -> m.ifSameType(m.node("x"))),    // x/1 -> x
            new Rule("powOne", op(Pow.class, var("x"), constant(1)), m -> m.ifSameType(m.node("x"))),    // x^1 -> x
            new Rule("mulNegOne", op(Mul.class, var("x"), constant(-1)), m -> m.ifSameType(Node.of(new Neg(), m.node("x")))), // x*-1 -> -x
            new Rule("negNeg", op(Neg.class, op(Neg.class, var("x"))), m -> m.node("x")),                // -(-x) -> x
            new Rule("notNot", op(Not.class, op(Not.class, var("x"))), m -> m.node("x")),                // !!x -> x
            new Rule("addNeg", op(Add.class, var("x"), op(Neg.class, var("y"))), m -> Node.of(new Sub(), m.node("x"), m.node("y"))), // x+(-y) -> x-y
            new Rule("subNeg", op(Sub.class, var("x"), op(Neg.class, var("y"))), m -> Node.of(new Add(), m.node("x"), m.node("y"))), // x-(-y) -> x+y
            new Rule("negSub", op(Neg.class, op(Sub.class, var("x"), var("y"))), m -> Node.of(new Sub(), m.node("y"), m.node("x"))), // -(x-y) -> y-x
            new Rule("maxSelf", op(Max.class, var("x"), var("x")), m -> m.node("x")),                    // max(x,x) -> x
            new Rule("minSelf", op(Min.class, var("x"), var("x")), m -> m.node("x")),                    // min(x,x) -> x
            new Rule("andSelf", op(And.class, var("x"), var("x")), m -> m.node("x")),                    // x&x -> x
            new Rule("orSelf", op(Or.class, var("x"), var("x")), m -> m.node("x")),                      // x|x -> x
            new Rule("andTrue", op(And.class, var("x"), constant(1)), m -> m.ifSameType(m.node("x"))),   // x&true -> x
            new Rule("orFalse", op(Or.class, var("x"), constant(0)), m -> m.ifSameType(m.node("x"))),    // x|false -> x
            new Rule("whereSame", op(Where.class, any(), var("x"), var("x")), m -> m.ifSameType(m.node("x"))), // c?x:x -> x
            new Rule("whereTrue", op(Where.class, constant(1), var("x"), any()), m -> m.ifSameType(m.node("x"))), // true?x:y -> x
            new Rule("whereFalse", op(Where.class, constant(0), any(), var("y")), m -> m.ifSameType(m.node("y")))); // false?x:y -> y

    // ---- layout: reshape, transpose, expand, (un)squeeze, concat ----
    static final RuleSet LAYOUT = RuleSet.of(
            new Rule("reshapeReshape", op(Reshape.class, op(Reshape.class, var("x"), any()), var("s")), Canonicalize::reshapeOfReshape), // reshape(reshape(x, s1), s2) -> reshape(x, s2)
            new Rule("reshapeIdentity", op(Reshape.class, var("x"), any()), m -> m.ifSameType(m.node("x"))),     // reshape(x, shape(x)) -> x
            new Rule("expandIdentity", op(Expand.class, var("x"), any()), m -> m.ifSameType(m.node("x"))),       // expand(x, shape(x)) -> x
            new Rule("transposeIdentity", op(Transpose.class, var("x")).where(t -> isIdentity(t.perm())), m -> m.node("x")), // transpose(x, [0,1,..]) -> x
            new Rule("transposeTranspose", op(Transpose.class, op(Transpose.class, var("x")).as("t1")).as("t2"), Canonicalize::composeTransposes), // transpose(transpose(x, p), q) -> transpose(x, p.q)
            new Rule("squeezeNoop", op(Squeeze.class, var("x")), m -> m.ifSameType(m.node("x"))),                // squeeze(x) without size-1 dims -> x
            new Rule("unsqueezeNoop", op(Unsqueeze.class, var("x")).where(u -> u.axes().isEmpty()), m -> m.node("x")), // unsqueeze(x, []) -> x
            new Rule("squeezeUnsqueeze", op(Squeeze.class, op(Unsqueeze.class, var("x"))), m -> m.ifSameType(m.node("x"))), // squeeze(unsqueeze(x, a), a) -> x
            new Rule("unsqueezeSqueeze", op(Unsqueeze.class, op(Squeeze.class, var("x"))), m -> m.ifSameType(m.node("x"))), // unsqueeze(squeeze(x, a), a) -> x
            new Rule("unsqueezeUnsqueeze", op(Unsqueeze.class, op(Unsqueeze.class, var("x")).as("u1")), Canonicalize::composeUnsqueezes), // unsqueeze(unsqueeze(x, a), b) -> unsqueeze(x, a+b)
            new Rule("sliceWhole", op(Slice.class, var("x"), var("starts"), any(), any(), var("steps")), Canonicalize::wholeSlice), // x[0:n:1] -> x
            new Rule("concatSingle", op(Concat.class, var("x")), m -> m.node("x")));                              // concat(x) -> x

    // ---- casts ----
    static final RuleSet CASTS = RuleSet.of(
            new Rule("castIdentity", op(Cast.class, var("x")).when(n -> n.type().equals(n.input(0).type())), m -> m.node("x")), // cast(x: T, T) -> x
            new Rule("castRoundTrip", op(Cast.class, op(Cast.class, var("x")).as("c1")).when(Canonicalize::sameWidthIntegerRoundTrip), m -> m.node("x")), // cast(cast(x: i32, u32), i32) -> x
            new Rule("castAfterLossless", op(Cast.class, op(Cast.class, var("x")).as("c1")), Canonicalize::skipLosslessCast)); // cast(cast(x: f16, f32), T) -> cast(x, T)

    static final RuleSet ALL = ARITHMETIC.plus(LAYOUT).plus(CASTS);

    private final RuleSet rules;

    public Canonicalize() {
        this(ALL);
    }

    /** Canonicalize with another rule set (tests use one rule at a time). */
    public Canonicalize(RuleSet rules) {
        this.rules = rules;
    }

    public static RuleSet rules() {
        return ALL;
    }

    @Override
    public String name() {
        return "canonicalize";
    }

    @Override
    public String summary() {
        return "algebraic identities: x*1, x+0, -(-x), reshape/transpose composition, identity reshape/cast/expand removal, ...";
    }

    @Override
    public Graph run(Graph graph, PassContext ctx) {
        RewriteDriver.Result r = RewriteDriver.run(graph, rules, ctx.rewriteOptions());
        ctx.add("rewrites", r.total());
        for (Map.Entry<String, Integer> e : r.firings().entrySet()) {
            ctx.add(e.getKey(), e.getValue());
        }
        return r.graph();
    }

    // ---- rule helpers ----

    /**
     * reshape(reshape(x, s1), s2) -> reshape(x, s2): only the element count of the middle shape matters, unless s2
     * copies dims from it with a 0 entry (ONNX "copy the input dim"), so s2 must be known to have none.
     */
    private static Node reshapeOfReshape(Match m) {
        Reshape outer = m.rootOp(Reshape.class);
        if (!outer.allowZero()) {
            List<Dim> target = SymbolicValues.dims(m.node("s")).orElse(null);
            if (target == null || target.stream().anyMatch(d -> d.isUnknown() || (d.isConstant() && d.value() == 0))) {
                return null;
            }
        }
        return m.ifSameType(Node.of(outer, m.node("x"), m.node("s")));
    }

    /**
     * A slice from 0 with step 1 on every sliced axis whose result has the input's type covers each axis whole.
     * (Equal types alone are not enough: a reversing slice, step -1, has them too.)
     */
    private static Node wholeSlice(Match m) {
        long[] starts = SymbolicValues.constants(m.node("starts")).orElse(null);
        long[] steps = SymbolicValues.constants(m.node("steps")).orElse(null);
        if (starts == null || steps == null) {
            return null;
        }
        for (int i = 0; i < starts.length; i++) {
            if (starts[i] != 0 || steps[i] != 1) {
                return null;
            }
        }
        return m.ifSameType(m.node("x"));
    }

    private static boolean isIdentity(List<Long> perm) {
        for (int i = 0; i < perm.size(); i++) {
            if (perm.get(i) != i) {
                return false;
            }
        }
        return true;
    }

    /** out[i] = t1[q[i]] = x[p[q[i]]], so the composed permutation is p[q[i]]. */
    private static Node composeTransposes(Match m) {
        List<Long> p = m.op("t1", Transpose.class).perm();
        List<Long> q = m.op("t2", Transpose.class).perm();
        List<Long> composed = new ArrayList<>(q.size());
        for (long qi : q) {
            composed.add(p.get((int) qi));
        }
        return Node.of(new Transpose(composed), m.node("x"));
    }

    /**
     * unsqueeze(unsqueeze(x, a), b) -> unsqueeze(x, c), c in final positions: the outer op inserts at b, and the
     * remaining final positions are the inner result's dims in order, so the inner insertions land on those of
     * them that a marks.
     */
    private static Node composeUnsqueezes(Match m) {
        Node x = m.node("x");
        List<Long> a = m.op("u1", Unsqueeze.class).axes();
        List<Long> b = m.rootOp(Unsqueeze.class).axes();
        int middle = x.rank() + a.size();
        int last = middle + b.size();
        boolean[] outer = new boolean[last];
        b.forEach(ax -> outer[Shape.normalizeAxis(ax, last)] = true);
        boolean[] inner = new boolean[middle];
        a.forEach(ax -> inner[Shape.normalizeAxis(ax, middle)] = true);
        List<Long> axes = new ArrayList<>();
        for (int i = 0, j = 0; i < last; i++) {
            if (outer[i]) {
                axes.add((long) i);
            } else if (inner[j++]) { // final position i holds dim j of the inner result
                axes.add((long) i);
            }
        }
        return m.ifSameType(Node.of(new Unsqueeze(axes), x));
    }

    /** x: S -> T -> S with S and T integers of one width: two's-complement wrapping both ways is the identity. */
    private static boolean sameWidthIntegerRoundTrip(Node outer) {
        Node inner = outer.input(0);
        Node x = inner.input(0);
        if (x.type().isQuantized()) {
            return false;
        }
        DType s = x.dtype();
        DType t = inner.dtype();
        return outer.dtype() == s && s.isInteger() && t.isInteger() && s.bits() == t.bits();
    }

    /** cast(cast(x, W), T) -> cast(x, T) when every value of x's dtype is exactly representable in W. */
    private static Node skipLosslessCast(Match m) {
        Node x = m.node("x");
        Node middle = m.node("c1");
        if (x.type().isQuantized() || !isLossless(x.dtype(), middle.dtype())) {
            return null;
        }
        return Node.of(m.rootOp(Cast.class), x);
    }

    /** Whether every value of {@code from} is exactly a value of {@code to} (a conservative table). */
    static boolean isLossless(DType from, DType to) {
        if (from == to) {
            return true;
        }
        if (from.isBool()) {
            return !to.isBool(); // 0 and 1 exist in every numeric dtype
        }
        if (from.isFloat() && to.isFloat()) {
            return switch (from) {
                case F16, BF16 -> to == DType.F32 || to == DType.F64;
                case F32 -> to == DType.F64;
                case FP8E4M3 -> to == DType.F16 || to == DType.BF16 || to == DType.F32 || to == DType.F64;
                case FP8E5M2 -> to == DType.F16 || to == DType.F32 || to == DType.F64;
                default -> false;
            };
        }
        if (from.isInteger() && to.isInteger()) {
            if (to.isUnsigned()) {
                return from.isUnsigned() && to.bits() >= from.bits();
            }
            return from.isUnsigned() ? to.bits() > from.bits() : to.bits() >= from.bits();
        }
        if (from.isInteger() && to.isFloat()) {
            // Integers of at most mantissa+1 bits are exact: f16 has 11, f32 24, f64 53.
            int magnitudeBits = from.bits();
            return switch (to) {
                case F64 -> magnitudeBits <= 32;
                case F32 -> magnitudeBits <= 16;
                case F16 -> magnitudeBits <= 8;
                default -> false;
            };
        }
        return false;
    }
}
