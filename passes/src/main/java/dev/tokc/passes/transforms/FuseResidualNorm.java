package dev.tokc.passes.transforms;

import static dev.tokc.passes.rewrite.Pattern.op;
import static dev.tokc.passes.rewrite.Pattern.var;

import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp.RmsNorm;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Add;
import dev.tokc.ir.PrimitiveOp.Gather;
import dev.tokc.ir.TargetOp.AddRmsNorm;
import dev.tokc.passes.Pass;
import dev.tokc.passes.PassContext;
import dev.tokc.passes.rewrite.Match;
import dev.tokc.passes.rewrite.Rule;
import dev.tokc.passes.rewrite.RuleSet;

/**
 * {@code fuse-residual-norm}: a residual add whose only reader is an RmsNorm becomes one {@code add_rms_norm}
 * kernel, which reads both summands once and never stores the sum.
 *
 * <p><b>Rewrites</b> (rules in {@link #rules}):
 * <pre>
 *   rms_norm(add(a, b), w)            -&gt; add_rms_norm(a, b, w)
 *   rms_norm(gather(add(a, b), i), w) -&gt; add_rms_norm(gather(a, i), gather(b, i), w)
 * </pre>
 * with the norm's eps and weight offset, when a and b have the same type (no broadcasting) and the sum (and its
 * gather) have no other user. In a decoder that is the last residual add before the final norm (<em>final norm
 * fused</em>); the step program gathers the rows that need logits before the final norm, so the second form adds
 * only those rows (gathering commutes with the add, so it is exact). Inside the stack every sum is also the next
 * residual, and there {@code fuse-linear-residual} (which runs after this pass) folds the add into the projection's
 * GEMM epilogue instead, so no sum is ever computed twice and every value keeps a single producer.
 *
 * <p><b>Does not fire</b> when the sum has another user or is a graph output, or when the summands broadcast.
 *
 * <p><b>Needs</b> model ops. <b>After</b>: no {@code rms_norm} reads a single-use same-type {@code add}.
 * <b>Numerics</b>: exact ({@code add_rms_norm} rounds the sum to the dtype, as the add did).
 *
 * <p><b>Counters</b>: {@code addRmsNorm}, {@code gatheredAddRmsNorm} (fused pairs), {@code finalNorm} (1 when the
 * last norm of the program, the one before the LM head, is among them).
 */
public final class FuseResidualNorm implements Pass {

    static RuleSet rules(FusionDriver.Uses u) {
        return RuleSet.of(
                new Rule("addRmsNorm", op(RmsNorm.class, op(Add.class, var("a"), var("b")).when(u::single), var("w")), FuseResidualNorm::fuse), // rms_norm(a + b, w) -> add_rms_norm(a, b, w)
                new Rule("gatheredAddRmsNorm", op(RmsNorm.class, op(Gather.class, op(Add.class, var("a"), var("b")).when(u::single), var("i")).when(u::single).as("g"), var("w")), FuseResidualNorm::fuseGathered)); // rms_norm((a + b)[i], w) -> add_rms_norm(a[i], b[i], w)
    }

    private static Node fuse(Match m) {
        Node a = m.node("a");
        Node b = m.node("b");
        if (!a.type().equals(b.type()) || !a.type().equals(m.root().type())) {
            return null;
        }
        RmsNorm norm = m.rootOp(RmsNorm.class);
        return Node.of(new AddRmsNorm(norm.eps(), norm.weightOffset()), a, b, m.node("w"));
    }

    /** The sum's rows are gathered first (the step program's logits rows): add only the gathered rows. */
    private static Node fuseGathered(Match m) {
        Node g = m.node("g");
        Gather gather = (Gather) g.op();
        Node a = Node.of(gather, m.node("a"), m.node("i"));
        Node b = Node.of(gather, m.node("b"), m.node("i"));
        if (!a.type().equals(b.type()) || !a.type().equals(m.root().type())) {
            return null;
        }
        RmsNorm norm = m.rootOp(RmsNorm.class);
        return Node.of(new AddRmsNorm(norm.eps(), norm.weightOffset()), a, b, m.node("w"));
    }

    @Override
    public String name() {
        return "fuse-residual-norm";
    }

    @Override
    public String summary() {
        return "rms_norm(a + b) where the sum has no other user -> add_rms_norm(a, b) (e.g. the final norm)";
    }

    @Override
    public Graph run(Graph graph, PassContext ctx) {
        Graph out = FusionDriver.run(graph, FuseResidualNorm::rules, ctx);
        ctx.add("finalNorm", lastNormIsFused(graph) ? 0 : lastNormIsFused(out) ? 1 : 0);
        return out;
    }

    /** Whether the last norm in schedule order is an {@code add_rms_norm}. */
    private static boolean lastNormIsFused(Graph g) {
        dev.tokc.ir.Node last = null;
        for (dev.tokc.ir.Node n : g.nodes()) {
            if (n.op() instanceof RmsNorm || n.op() instanceof AddRmsNorm) {
                last = n;
            }
        }
        return last != null && last.op() instanceof AddRmsNorm;
    }
}
