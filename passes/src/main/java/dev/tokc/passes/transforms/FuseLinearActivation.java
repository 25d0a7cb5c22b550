package dev.tokc.passes.transforms;

import static dev.tokc.passes.rewrite.Pattern.op;

import dev.tokc.ir.Epilogue;
import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp.Gelu;
import dev.tokc.ir.ModelOp.Linear;
import dev.tokc.ir.Node;
import dev.tokc.ir.TargetOp.FusedLinear;
import dev.tokc.passes.Pass;
import dev.tokc.passes.PassContext;
import dev.tokc.passes.rewrite.Match;
import dev.tokc.passes.rewrite.Rule;
import dev.tokc.passes.rewrite.RuleSet;

/**
 * {@code fuse-linear-activation}: an activation applied to a projection goes into the GEMM's epilogue (GPT-2's
 * {@code gelu_tanh(c_fc(x))}, BERT-style MLPs).
 *
 * <p><b>Rewrites</b> (rules in {@link #rules}):
 * <pre>
 *   gelu(linear(x, W[, b])) {tanh = false}   -&gt; fused_linear(x, W[, b]) {epilogue = gelu}
 *   gelu(linear(x, W[, b])) {tanh = true}    -&gt; fused_linear(x, W[, b]) {epilogue = gelu_tanh}
 *   gelu(fused_linear(x, W[, b]) {none})     -&gt; the same, from a merged projection
 * </pre>
 * when the projection has no other user.
 *
 * <p><b>Does not fire</b> when the projection has another user or already has an epilogue. Gated activations
 * (silu/gelu times a second projection) are {@code fuse-gate-up}'s, which runs first.
 *
 * <p><b>Needs</b> model ops. <b>Numerics</b>: the activation reads the unrounded GEMM result (within float rounding
 * of the unfused graph).
 *
 * <p><b>Counters</b>: {@code activation} (total), {@code geluLinear}, {@code geluFusedLinear}.
 */
public final class FuseLinearActivation implements Pass {

    static RuleSet rules(FusionDriver.Uses u) {
        return RuleSet.of(
                new Rule("geluLinear", op(Gelu.class, op(Linear.class).when(u::single).as("p")), FuseLinearActivation::fuse), // gelu(linear(x, W)) -> fused_linear(x, W) gelu | gelu_tanh
                new Rule("geluFusedLinear", op(Gelu.class, op(FusedLinear.class).where(f -> f.epilogue() == Epilogue.NONE).when(u::single).as("p")), FuseLinearActivation::fuse)); // gelu(fused_linear(x, W)) -> fused_linear(x, W) gelu | gelu_tanh
    }

    private static Node fuse(Match m) {
        Node p = m.node("p");
        boolean transpose = p.op() instanceof Linear l ? l.transposeWeight() : ((FusedLinear) p.op()).transposeWeight();
        Epilogue e = m.rootOp(Gelu.class).tanh() ? Epilogue.GELU_TANH : Epilogue.GELU;
        return Node.of(new FusedLinear(e, p.inputs().size() == 3, transpose), p.inputs());
    }

    @Override
    public String name() {
        return "fuse-linear-activation";
    }

    @Override
    public String summary() {
        return "gelu(linear(x, W)) where the projection has no other user -> fused_linear gelu / gelu_tanh epilogue";
    }

    @Override
    public boolean exact() {
        return false;
    }

    @Override
    public Graph run(Graph graph, PassContext ctx) {
        ctx.add("activation", 0);
        Graph out = FusionDriver.run(graph, FuseLinearActivation::rules, ctx);
        ctx.add("activation", ctx.get("geluLinear") + ctx.get("geluFusedLinear"));
        return out;
    }
}
