package dev.tokc.passes.transforms;

import static dev.tokc.passes.rewrite.Pattern.op;
import static dev.tokc.passes.rewrite.Pattern.var;

import dev.tokc.ir.Epilogue;
import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp.Linear;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Add;
import dev.tokc.ir.TargetOp.FusedLinear;
import dev.tokc.passes.Pass;
import dev.tokc.passes.PassContext;
import dev.tokc.passes.rewrite.Match;
import dev.tokc.passes.rewrite.Rule;
import dev.tokc.passes.rewrite.RuleSet;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code fuse-linear-residual}: the residual add after a projection goes into the GEMM's epilogue. In a decoder
 * block {@code h = h + o_proj(attn)} and {@code h = h + down_proj(mlp)}: the GEMM adds the residual to each
 * output element as it stores it, so the projection's result is never written and read back.
 *
 * <p><b>Rewrites</b> (rules in {@link #rules}), the add in either operand order:
 * <pre>
 *   add(r, linear(x, W[, b]))                   -&gt; fused_linear(x, W[, b], r) {epilogue = residual_add}
 *   add(r, fused_linear(x, W[, b]) {none})      -&gt; fused_linear(x, W[, b], r) {epilogue = residual_add}
 * </pre>
 * when the projection has no other user and r has exactly the result's type (no broadcasting). Together with
 * {@code fuse-residual-norm} (which runs first and takes the add before the final norm) this is the residual
 * fusion: the sum stays an ordinary single-output SSA value, the next RmsNorm reads it, and the next residual
 * add reads it again.
 *
 * <p><b>Does not fire</b> when the projection has another user, when r broadcasts, or on other epilogues.
 *
 * <p><b>Needs</b> model ops. <b>Numerics</b>: the epilogue adds r to the unrounded GEMM result, so results agree
 * with the unfused graph within float rounding.
 *
 * <p><b>Counters</b>: {@code residualAdd} (total), {@code linearResidual}, {@code fusedLinearResidual}.
 */
public final class FuseLinearResidual implements Pass {

    static RuleSet rules(FusionDriver.Uses u) {
        return RuleSet.of(
                new Rule("linearResidual", op(Add.class, var("r"), op(Linear.class).when(u::single).as("p")), FuseLinearResidual::fuse), // r + linear(x, W) -> fused_linear(x, W, r) residual_add
                new Rule("fusedLinearResidual", op(Add.class, var("r"), op(FusedLinear.class).where(f -> f.epilogue() == Epilogue.NONE).when(u::single).as("p")), FuseLinearResidual::fuse)); // r + fused_linear(x, W) -> fused_linear(x, W, r) residual_add
    }

    private static Node fuse(Match m) {
        Node p = m.node("p");
        Node r = m.node("r");
        if (!r.type().equals(p.type()) || !m.root().type().equals(p.type())) {
            return null;
        }
        boolean transpose = p.op() instanceof Linear l ? l.transposeWeight() : ((FusedLinear) p.op()).transposeWeight();
        List<Node> in = new ArrayList<>(p.inputs());
        in.add(r);
        return Node.of(new FusedLinear(Epilogue.RESIDUAL_ADD, p.inputs().size() == 3, transpose), in);
    }

    @Override
    public String name() {
        return "fuse-linear-residual";
    }

    @Override
    public String summary() {
        return "r + linear(x, W) where the projection has no other user -> fused_linear residual_add epilogue";
    }

    @Override
    public boolean exact() {
        return false;
    }

    @Override
    public Graph run(Graph graph, PassContext ctx) {
        ctx.add("residualAdd", 0);
        Graph out = FusionDriver.run(graph, FuseLinearResidual::rules, ctx);
        ctx.add("residualAdd", ctx.get("linearResidual") + ctx.get("fusedLinearResidual"));
        return out;
    }
}
