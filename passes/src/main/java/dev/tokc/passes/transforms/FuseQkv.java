package dev.tokc.passes.transforms;

import static dev.tokc.passes.rewrite.Pattern.op;

import dev.tokc.ir.Epilogue;
import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp.Linear;
import dev.tokc.ir.Node;
import dev.tokc.ir.TargetOp.FusedLinear;
import dev.tokc.passes.Pass;
import dev.tokc.passes.PassContext;
import dev.tokc.passes.rewrite.Match;
import dev.tokc.passes.rewrite.Rule;
import dev.tokc.passes.rewrite.RuleSet;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code fuse-qkv}: projections of one input merged into one GEMM, then sliced apart. Attention's q, k and v
 * projections read the same normalised hidden state; one GEMM over the stacked weight reads that input once and
 * launches one kernel instead of three.
 *
 * <p><b>Rewrites</b> (the rule in {@link #rules}): for every group of two or more {@code linear} nodes with the
 * same input x, the same {@code transpose_weight}, all with or all without a bias (Qwen2 has biases on q, k, v),
 * and one dtype:
 * <pre>
 *   %q = linear(%x, %wq, %bq)        %qkv = fused_linear(%x, concat(%wq, %wk, %wv), concat(%bq, %bk, %bv))
 *   %k = linear(%x, %wk, %bk)   -&gt;    %q = slice(%qkv, [0:192] on the last axis)
 *   %v = linear(%x, %wv, %bv)        %k = slice(%qkv, [192:256]), %v = slice(%qkv, [256:320])
 * </pre>
 * The stacked weight and bias are <em>weight expressions</em> ({@link WeightExpressions}): the backend evaluates
 * the concat once when it lays out the weights, so the program holds one {@code [q + k + v, in]} matrix.
 * Siblings are taken in topological order, so q, k, v stay in that order. The slices keep the projections' names.
 *
 * <p><b>Does not fire</b> for a lone projection, for siblings whose weights are not weight expressions, or whose
 * out-features are symbolic (the slice bounds must be constants). Run {@code fuse-gate-up} first: it claims the
 * gate and up projections, which are siblings too.
 *
 * <p><b>Needs</b> model ops. <b>After</b>: no two {@code linear}s that qualify share an input. <b>Numerics</b>:
 * exact (each output column is the same dot product as before).
 *
 * <p><b>Counters</b>: {@code groups} (fused GEMMs made), {@code linears} (projections merged into them),
 * {@code qkv} (groups of exactly three: attention's q, k, v).
 */
public final class FuseQkv implements Pass {

    static RuleSet rules(FusionDriver.Uses u) {
        return RuleSet.of(
                new Rule("siblings", op(Linear.class).when(n -> n.inputs().size() >= 2), m -> merge(m, u))); // linear(x, Wa), linear(x, Wb), ... -> slices of fused_linear(x, [Wa; Wb; ...])
    }

    private static Node merge(Match m, FusionDriver.Uses u) {
        Node root = m.root();
        Node x = root.input(0);
        List<Node> group = new ArrayList<>();
        for (Node s : u.users(x)) {
            if (compatible(root, s)) {
                group.add(s);
            }
        }
        if (group.size() < 2 || group.getFirst() != root) {
            return null;
        }
        Linear op = (Linear) root.op();
        int outAxis = op.transposeWeight() ? 1 : 0;
        List<Node> weights = new ArrayList<>();
        List<Node> biases = new ArrayList<>();
        List<Long> widths = new ArrayList<>();
        for (Node s : group) {
            weights.add(s.input(1));
            if (s.inputs().size() == 3) {
                biases.add(s.input(2));
            }
            widths.add(s.shape().at(-1).value());
        }
        boolean bias = !biases.isEmpty();
        List<Node> in = new ArrayList<>(List.of(x, WeightExpressions.concat(weights, outAxis)));
        if (bias) {
            in.add(WeightExpressions.concat(biases, 0));
        }
        Node fused = Node.of(new FusedLinear(Epilogue.NONE, bias, op.transposeWeight()), in, fusedName(group, u));
        int axis = fused.rank() - 1;
        long start = 0;
        Node first = null;
        for (int i = 0; i < group.size(); i++) {
            Node slice = WeightExpressions.slice(fused, axis, start, start + widths.get(i));
            start += widths.get(i);
            if (!slice.type().equals(group.get(i).type())) {
                return null;
            }
            if (i == 0) {
                first = slice;
            } else {
                u.alsoReplace(group.get(i), slice);
            }
        }
        return first;
    }

    /**
     * {@code l0.qkv} for siblings {@code l0.q, l0.k, l0.v} (their common prefix up to a '.', then "qkv" for three
     * projections or "proj" otherwise), or null (a number) when they are unnamed or the name is taken.
     */
    private static String fusedName(List<Node> group, FusionDriver.Uses u) {
        String prefix = null;
        for (Node s : group) {
            if (s.name() == null || s.name().lastIndexOf('.') < 0) {
                return null;
            }
            String p = s.name().substring(0, s.name().lastIndexOf('.') + 1);
            if (prefix != null && !prefix.equals(p)) {
                return null;
            }
            prefix = p;
        }
        String name = prefix + (group.size() == 3 ? "qkv" : "proj");
        return u.nameTaken(name) ? null : name;
    }

    /** Whether {@code s} can share one GEMM with {@code root}: same input, layout, bias-ness and dtype. */
    private static boolean compatible(Node root, Node s) {
        if (!(s.op() instanceof Linear l) || s.input(0) != root.input(0)
                || l.transposeWeight() != ((Linear) root.op()).transposeWeight()
                || s.inputs().size() != root.inputs().size() || !s.type().elementType().equals(root.type().elementType())
                || !s.shape().at(-1).isConstant()) {
            return false;
        }
        for (Node w : s.inputs().subList(1, s.inputs().size())) {
            if (!WeightExpressions.isWeightExpression(w) || !w.type().elementType().equals(s.type().elementType())) {
                return false;
            }
        }
        int inAxis = ((Linear) s.op()).transposeWeight() ? 0 : 1;
        return s.input(1).shape().dim(inAxis).equals(root.input(1).shape().dim(inAxis));
    }

    @Override
    public String name() {
        return "fuse-qkv";
    }

    @Override
    public String summary() {
        return "projections of one input (q, k, v) -> one fused_linear over the stacked weight, then slices";
    }

    @Override
    public Graph run(Graph graph, PassContext ctx) {
        ctx.add("groups", 0);
        ctx.add("linears", 0);
        ctx.add("qkv", 0);
        Graph before = graph;
        Graph out = FusionDriver.run(graph, FuseQkv::rules, ctx);
        long groups = ctx.get("siblings");
        ctx.add("groups", groups);
        long fusedBefore = count(before);
        ctx.add("linears", fusedBefore - count(out));
        ctx.add("qkv", qkvGroups(out) - qkvGroups(before));
        return out;
    }

    private static long count(Graph g) {
        return g.nodes().stream().filter(n -> n.op() instanceof Linear).count();
    }

    /** Fused GEMMs whose output feeds exactly three slices. */
    private static long qkvGroups(Graph g) {
        var users = g.users();
        return g.nodes().stream().filter(n -> n.op() instanceof FusedLinear f && f.epilogue() == Epilogue.NONE)
                .filter(n -> users.get(n).size() == 3
                        && users.get(n).stream().allMatch(s -> s.op() instanceof dev.tokc.ir.PrimitiveOp.Slice))
                .count();
    }
}
