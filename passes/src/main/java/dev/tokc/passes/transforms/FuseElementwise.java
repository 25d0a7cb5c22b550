package dev.tokc.passes.transforms;

import static dev.tokc.passes.rewrite.Pattern.op;

import dev.tokc.ir.ElementwiseExpr;
import dev.tokc.ir.ElementwiseExpr.Fn;
import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.Op;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TargetOp.Elementwise;
import dev.tokc.passes.Pass;
import dev.tokc.passes.PassContext;
import dev.tokc.passes.rewrite.Match;
import dev.tokc.passes.rewrite.Rule;
import dev.tokc.passes.rewrite.RuleSet;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code fuse-elementwise}: chains of elementwise float ops become one {@code elementwise} kernel that reads its
 * inputs once and writes one result, with the chain as a small expression ({@link ElementwiseExpr}).
 *
 * <p><b>Rewrites</b> (the rule in {@link #rules}): an elementwise op (float add, sub, mul, div, max, min, pow; neg,
 * abs, relu, sqrt, reciprocal, exp, log, sin, cos, tanh, sigmoid, erf, floor, ceil, round; model silu and gelu;
 * or an {@code elementwise} already fused) absorbs every operand that is itself such an op of the same dtype with
 * no other user, recursively; scalar float constants become literals, everything else becomes an input
 * ({@code $0, $1, ...}, one per distinct value). For example
 * <pre>
 *   %d = div(%logits, %c30); %t = tanh(%d); %y = mul(%t, %c30)
 *     -&gt; %y = elementwise(%logits) {expr = "mul(tanh(div($0, 30.0)), 30.0)"}
 * </pre>
 * which is <em>logit soft-capping</em> (Gemma 2) fused; the counter {@code softcap} counts those.
 *
 * <p><b>Does not fire</b> on a lone op (nothing to fuse), across a value with another user (it would be computed
 * twice), across a dtype change or a cast, on integer or bool ops and comparisons, or when the fused node's
 * broadcast result type would differ from the root's.
 *
 * <p><b>Needs</b> nothing. Run it last among the fusions: the others match specific ops (silu, mul) that this pass
 * would otherwise hide inside an expression. <b>Numerics</b>: exact, since each function of the expression is
 * rounded to the dtype as the op it replaces was.
 *
 * <p><b>Counters</b>: {@code chains} (elementwise nodes made), {@code opsFused} (ops they replaced),
 * {@code softcap} (chains that are a soft-cap {@code c * tanh(x / c)}), {@code absorb} (rule firings).
 */
public final class FuseElementwise implements Pass {

    static RuleSet rules(FusionDriver.Uses u) {
        return RuleSet.of(
                new Rule("absorb", op(Op.class).when(FuseElementwise::fusible), m -> absorb(m, u))); // f(g(x), y) with g single-use -> elementwise(x, y) {expr = "f(g($0), $1)"}
    }

    /** The expression function of an elementwise float op, or null when {@code n} is not one. */
    static Fn fn(Node n) {
        if (n.type().isQuantized() || !n.dtype().isFloat()) {
            return null;
        }
        for (Node in : n.inputs()) {
            if (in.type().isQuantized() || in.dtype() != n.dtype()) {
                return null;
            }
        }
        return switch (n.op()) {
            case PrimitiveOp.Add o -> Fn.ADD;
            case PrimitiveOp.Sub o -> Fn.SUB;
            case PrimitiveOp.Mul o -> Fn.MUL;
            case PrimitiveOp.Div o -> Fn.DIV;
            case PrimitiveOp.Max o -> Fn.MAX;
            case PrimitiveOp.Min o -> Fn.MIN;
            case PrimitiveOp.Pow o -> Fn.POW;
            case PrimitiveOp.Neg o -> Fn.NEG;
            case PrimitiveOp.Abs o -> Fn.ABS;
            case PrimitiveOp.Relu o -> Fn.RELU;
            case PrimitiveOp.Sqrt o -> Fn.SQRT;
            case PrimitiveOp.Reciprocal o -> Fn.RECIPROCAL;
            case PrimitiveOp.Exp o -> Fn.EXP;
            case PrimitiveOp.Log o -> Fn.LOG;
            case PrimitiveOp.Sin o -> Fn.SIN;
            case PrimitiveOp.Cos o -> Fn.COS;
            case PrimitiveOp.Tanh o -> Fn.TANH;
            case PrimitiveOp.Sigmoid o -> Fn.SIGMOID;
            case PrimitiveOp.Erf o -> Fn.ERF;
            case PrimitiveOp.Floor o -> Fn.FLOOR;
            case PrimitiveOp.Ceil o -> Fn.CEIL;
            case PrimitiveOp.Round o -> Fn.ROUND;
            case ModelOp.Silu o -> Fn.SILU;
            case ModelOp.Gelu g -> g.tanh() ? Fn.GELU_TANH : Fn.GELU;
            default -> null;
        };
    }

    private static boolean fusible(Node n) {
        return n.op() instanceof Elementwise || fn(n) != null;
    }

    /** A scalar float constant of {@code dtype}: becomes a literal. */
    private static boolean isLiteral(Node n, Node user) {
        return n.op() instanceof SourceOp.Constant c && n.rank() == 0 && c.value().isFloat() && n.dtype() == user.dtype();
    }

    /** Builds the expression of {@code root}, absorbing single-use fusible operands; null when none absorbs. */
    private static Node absorb(Match m, FusionDriver.Uses u) {
        Node root = m.root();
        boolean any = false;
        for (Node in : root.inputs()) {
            if (fusible(in) && u.single(in) && in.dtype() == root.dtype()) {
                any = true;
            }
        }
        if (!any) {
            return null;
        }
        Builder b = new Builder(u, root);
        ElementwiseExpr e = b.expr(root, true);
        if (b.inputs.isEmpty()) {
            return null; // a chain over literals only: constant folding's, not a kernel
        }
        Node fused = Node.of(new Elementwise(e.toString()), b.inputs);
        return fused.type().equals(root.type()) ? fused : null;
    }

    /** Walks the absorbed tree, numbering its inputs. */
    private static final class Builder {
        final FusionDriver.Uses uses;
        final Node root;
        final List<Node> inputs = new ArrayList<>();
        final Map<Node, Integer> index = new IdentityHashMap<>();

        Builder(FusionDriver.Uses uses, Node root) {
            this.uses = uses;
            this.root = root;
        }

        ElementwiseExpr expr(Node n, boolean isRoot) {
            boolean absorb = isRoot || (fusible(n) && uses.single(n) && n.dtype() == root.dtype());
            if (absorb) {
                if (n.op() instanceof Elementwise ew) {
                    List<ElementwiseExpr> args = new ArrayList<>();
                    for (Node in : n.inputs()) {
                        args.add(expr(in, false));
                    }
                    return substitute(ew.expression(), args);
                }
                List<ElementwiseExpr> args = new ArrayList<>();
                for (Node in : n.inputs()) {
                    args.add(isLiteral(in, n) ? ElementwiseExpr.literal(((SourceOp.Constant) in.op()).value().getDouble(0))
                            : expr(in, false));
                }
                return new ElementwiseExpr.Apply(fn(n), args);
            }
            Integer i = index.get(n);
            if (i == null) {
                i = inputs.size();
                index.put(n, i);
                inputs.add(n);
            }
            return ElementwiseExpr.input(i);
        }

        /** {@code e} with its input i replaced by {@code args.get(i)}. */
        static ElementwiseExpr substitute(ElementwiseExpr e, List<ElementwiseExpr> args) {
            return switch (e) {
                case ElementwiseExpr.Input in -> args.get(in.index());
                case ElementwiseExpr.Literal l -> l;
                case ElementwiseExpr.Apply a -> new ElementwiseExpr.Apply(a.fn(),
                        a.args().stream().map(x -> substitute(x, args)).toList());
            };
        }
    }

    /** Whether {@code e} is {@code c * tanh(x / c)} (either mul order) for one literal c. */
    static boolean isSoftcap(ElementwiseExpr e) {
        if (!(e instanceof ElementwiseExpr.Apply mul) || mul.fn() != Fn.MUL) {
            return false;
        }
        for (int i = 0; i < 2; i++) {
            if (mul.args().get(i) instanceof ElementwiseExpr.Literal c
                    && mul.args().get(1 - i) instanceof ElementwiseExpr.Apply t && t.fn() == Fn.TANH
                    && t.args().getFirst() instanceof ElementwiseExpr.Apply d && d.fn() == Fn.DIV
                    && d.args().get(1) instanceof ElementwiseExpr.Literal c2 && c2.value() == c.value()
                    && d.args().getFirst() instanceof ElementwiseExpr.Input) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String name() {
        return "fuse-elementwise";
    }

    @Override
    public String summary() {
        return "chains of single-use elementwise float ops -> one elementwise node with an expression (incl. logit soft-capping)";
    }

    @Override
    public Graph run(Graph graph, PassContext ctx) {
        ctx.add("chains", 0);
        ctx.add("opsFused", 0);
        ctx.add("softcap", 0);
        Graph out = FusionDriver.run(graph, FuseElementwise::rules, ctx);
        if (out != graph) {
            List<ElementwiseExpr> before = expressions(graph);
            List<ElementwiseExpr> after = expressions(out);
            ctx.add("chains", after.size() - before.size());
            ctx.add("opsFused", after.stream().mapToInt(ElementwiseExpr::functionCount).sum()
                    - before.stream().mapToInt(ElementwiseExpr::functionCount).sum());
            ctx.add("softcap", after.stream().filter(FuseElementwise::isSoftcap).count()
                    - before.stream().filter(FuseElementwise::isSoftcap).count());
        }
        return out;
    }

    private static List<ElementwiseExpr> expressions(Graph g) {
        return g.nodes().stream().filter(n -> n.op() instanceof Elementwise).map(n -> ((Elementwise) n.op()).expression()).toList();
    }
}
