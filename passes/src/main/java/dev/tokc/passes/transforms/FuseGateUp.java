package dev.tokc.passes.transforms;

import static dev.tokc.passes.rewrite.Pattern.op;
import static dev.tokc.passes.rewrite.Pattern.var;

import dev.tokc.ir.Epilogue;
import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp.Gelu;
import dev.tokc.ir.ModelOp.Linear;
import dev.tokc.ir.ModelOp.Silu;
import dev.tokc.ir.ModelOp.Swiglu;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Mul;
import dev.tokc.ir.TargetOp.FusedLinear;
import dev.tokc.passes.Pass;
import dev.tokc.passes.PassContext;
import dev.tokc.passes.rewrite.Match;
import dev.tokc.passes.rewrite.Pattern;
import dev.tokc.passes.rewrite.Rule;
import dev.tokc.passes.rewrite.RuleSet;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code fuse-gate-up}: the gated MLP's two projections and its activation-multiply become one GEMM with a gated
 * epilogue.
 *
 * <p><b>Rewrites</b> (rules in {@link #rules}): {@code swiglu(linear(x, Wg), linear(x, Wu))} and
 * {@code silu(linear(x, Wg)) * linear(x, Wu)} to {@code fused_linear(x, concat(Wg, Wu)) {epilogue = silu_mul}};
 * {@code gelu(linear(x, Wg)) * linear(x, Wu)} (erf GELU, GeGLU as in Gemma 1) to the {@code gelu_mul} epilogue.
 * With biases on both projections the biases are concatenated too. The stacked weight is a <em>weight
 * expression</em> (see {@link WeightExpressions}): {@code concat(Wg, Wu)} along the out-features axis (axis 0,
 * or 1 for {@code transpose_weight}), evaluated once by the backend when it lays out the weights.
 *
 * <p><b>Does not fire</b> when a projection or the activation has another user (the unfused value would have to
 * be computed anyway), when the projections differ in {@code transpose_weight}, bias or dtype, when a weight is
 * not a weight expression (a weight computed from inputs), or for the tanh GELU (no epilogue has it).
 *
 * <p><b>Needs</b> model ops (HF import or raising). <b>After</b>: no matched swiglu/gated-mul over two linears.
 * <b>Numerics</b>: the epilogue reads the GEMM results before rounding to the dtype (as a fused kernel keeps its
 * accumulators), so results agree with the unfused graph within float rounding, not bit for bit.
 *
 * <p><b>Counters</b>: {@code gateUp} (fused MLPs), plus one per rule: {@code swiglu}, {@code siluMul},
 * {@code geluMul}.
 */
public final class FuseGateUp implements Pass {

    static RuleSet rules(FusionDriver.Uses u) {
        return RuleSet.of(
                new Rule("swiglu", op(Swiglu.class, proj(u, "g"), proj(u, "u")), m -> fuse(m, Epilogue.SILU_MUL)),                        // swiglu(x·Wg, x·Wu) -> fused_linear(x, [Wg; Wu]) silu_mul
                new Rule("siluMul", op(Mul.class, op(Silu.class, proj(u, "g")).when(u::single), proj(u, "u")), m -> fuse(m, Epilogue.SILU_MUL)), // silu(x·Wg) * x·Wu -> fused_linear silu_mul
                new Rule("geluMul", op(Mul.class, op(Gelu.class, proj(u, "g")).where(g -> !g.tanh()).when(u::single), proj(u, "u")), m -> fuse(m, Epilogue.GELU_MUL))); // gelu(x·Wg) * x·Wu -> fused_linear gelu_mul
    }

    /** A single-use linear of any arity, captured as {@code name}. */
    private static Pattern proj(FusionDriver.Uses u, String name) {
        return op(Linear.class).when(u::single).as(name);
    }

    private static Node fuse(Match m, Epilogue epilogue) {
        Node g = m.node("g");
        Node up = m.node("u");
        Linear lg = (Linear) g.op();
        Linear lu = (Linear) up.op();
        if (g.input(0) != up.input(0) || lg.transposeWeight() != lu.transposeWeight()
                || g.inputs().size() != up.inputs().size() || g.dtype() != up.dtype()
                || !g.type().equals(up.type())) {
            return null;
        }
        for (Node n : List.of(g, up)) {
            for (Node w : n.inputs().subList(1, n.inputs().size())) {
                if (!WeightExpressions.isWeightExpression(w) || w.dtype() != n.dtype()) {
                    return null;
                }
            }
        }
        boolean bias = g.inputs().size() == 3;
        List<Node> in = new ArrayList<>();
        in.add(g.input(0));
        in.add(WeightExpressions.concat(List.of(g.input(1), up.input(1)), lg.transposeWeight() ? 1 : 0));
        if (bias) {
            in.add(WeightExpressions.concat(List.of(g.input(2), up.input(2)), 0));
        }
        Node fused = Node.of(new FusedLinear(epilogue, bias, lg.transposeWeight()), in);
        return fused.type().equals(m.root().type()) ? fused : null;
    }

    @Override
    public String name() {
        return "fuse-gate-up";
    }

    @Override
    public String summary() {
        return "swiglu / silu*mul / gelu*mul over two projections of one input -> one fused_linear with a gated epilogue";
    }

    @Override
    public boolean exact() {
        return false;
    }

    @Override
    public Graph run(Graph graph, PassContext ctx) {
        ctx.add("gateUp", 0);
        Graph out = FusionDriver.run(graph, FuseGateUp::rules, ctx);
        ctx.add("gateUp", ctx.get("swiglu") + ctx.get("siluMul") + ctx.get("geluMul"));
        return out;
    }
}
