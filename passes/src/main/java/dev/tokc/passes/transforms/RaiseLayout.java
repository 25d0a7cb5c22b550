package dev.tokc.passes.transforms;

import static dev.tokc.passes.rewrite.Pattern.op;
import static dev.tokc.passes.rewrite.Pattern.var;

import dev.tokc.ir.Dim;
import dev.tokc.ir.ModelOp.Embedding;
import dev.tokc.ir.ModelOp.LayerNorm;
import dev.tokc.ir.ModelOp.RmsNorm;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Add;
import dev.tokc.ir.PrimitiveOp.Expand;
import dev.tokc.ir.PrimitiveOp.Reshape;
import dev.tokc.ir.PrimitiveOp.Slice;
import dev.tokc.ir.PrimitiveOp.Squeeze;
import dev.tokc.ir.Shape;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.SymbolicValues;
import dev.tokc.ir.Tensor;
import dev.tokc.passes.rewrite.Match;
import dev.tokc.passes.rewrite.Rule;
import dev.tokc.passes.rewrite.RuleSet;
import java.util.ArrayList;
import java.util.List;

/**
 * Normal forms for the views that importers spell differently, so that raised ONNX graphs and checkpoint graphs
 * meet: a reshape's target as the {@code dims} of its (fully known) result with {@code allow_zero = false} (no -1,
 * no 0), squeeze's implicit axes made explicit, slice axes non-negative, norm epsilons read from f32 attributes as
 * the shortest decimal that rounds to them ({@code 9.9999997e-06} is a config's {@code 1e-05}; the difference is
 * below f32 resolution, and f32 is what the exporter had), and an embedding of broadcast ids
 * ({@code [1, seq]} added to {@code [batch, seq, h]}) reading ids expanded to the batch. Used by {@link Raise}.
 */
final class RaiseLayout {
    private RaiseLayout() {}

    static final RuleSet RULES = RuleSet.of(
            new Rule("reshapeTarget", op(Reshape.class, var("x"), var("s")), RaiseLayout::reshapeTarget), // reshape(x, [b, s, -1, 16]) -> reshape(x, dims [b, s, 4, 16])
            new Rule("squeezeAxes", op(Squeeze.class, var("x")).where(s -> s.axes().isEmpty()), RaiseLayout::squeezeAxes), // squeeze(x: [1, 4, 1]) -> squeeze(x) {axes = [0, 2]}
            new Rule("sliceAxes", op(Slice.class, var("x"), var("st"), var("en"), var("ax"), var("sp")), RaiseLayout::sliceAxes), // slice(x, .., axes = [-1]) -> slice(x, .., axes = [rank-1])
            new Rule("layerNormEps", op(LayerNorm.class).where(l -> f32Epsilon(l.eps())), m -> Node.of(new LayerNorm(configEpsilon(m.rootOp(LayerNorm.class).eps()), m.rootOp(LayerNorm.class).axis()), m.root().inputs())), // layer_norm {eps = 9.9999997e-06} -> layer_norm {eps = 1e-05}
            new Rule("rmsNormEps", op(RmsNorm.class).where(r -> f32Epsilon(r.eps())), m -> Node.of(new RmsNorm(configEpsilon(m.rootOp(RmsNorm.class).eps()), m.rootOp(RmsNorm.class).weightOffset()), m.root().inputs())), // rms_norm {eps = 9.9999997e-07} -> rms_norm {eps = 1e-06}
            new Rule("embeddingBroadcast", op(Add.class, var("x"), op(Embedding.class, var("w"), var("ids")).as("e")), RaiseLayout::embeddingBroadcast)); // x[b,s,h] + embedding(W, ids[1,s]) -> x + embedding(W, expand(ids, [b,s]))

    /** An epsilon that is exactly an f32 value but not its shortest decimal: read from an f32 attribute. */
    private static boolean f32Epsilon(double eps) {
        return eps == (double) (float) eps && configEpsilon(eps) != eps;
    }

    /** The shortest decimal that rounds to the same f32: the value a config file states ({@code 1e-05}). */
    private static double configEpsilon(double eps) {
        return Double.parseDouble(Float.toString((float) eps));
    }

    private static Node reshapeTarget(Match m) {
        Node r = m.root();
        List<Dim> out = r.shape().dims();
        if (out.stream().anyMatch(Dim::isUnknown)) {
            return null;
        }
        Node target = RaiseSupport.dims(out);
        Node s = m.node("s");
        if ((target == s || s.op() instanceof SourceOp.Dims d && d.dims().equals(out)) && !((Reshape) r.op()).allowZero()) {
            return null;
        }
        // Only symbols the old target already names: a new dims node must not mention a symbol of a weight's shape.
        java.util.Set<String> known = new java.util.HashSet<>();
        SymbolicValues.dims(s).ifPresent(ds -> ds.forEach(d -> known.addAll(d.symbols())));
        for (Dim d : out) {
            if ((d.isConstant() && d.value() == 0) || !known.containsAll(d.symbols())) {
                return null; // an empty dim, or a symbol the target does not name: keep the exporter's form
            }
        }
        return Node.of(new Reshape(false), m.node("x"), target);
    }

    private static Node squeezeAxes(Match m) {
        Shape s = m.node("x").shape();
        List<Long> axes = new ArrayList<>();
        for (int i = 0; i < s.rank(); i++) {
            Dim d = s.dim(i);
            if (!d.isConstant()) {
                return null; // a symbolic dim might be 1 at run time
            }
            if (d.value() == 1) {
                axes.add((long) i);
            }
        }
        return axes.isEmpty() ? null : Node.of(new Squeeze(axes), m.node("x"));
    }

    private static Node sliceAxes(Match m) {
        long[] axes = SymbolicValues.constants(m.node("ax")).orElse(null);
        if (axes == null || java.util.Arrays.stream(axes).allMatch(a -> a >= 0)) {
            return null;
        }
        int rank = m.node("x").rank();
        long[] norm = java.util.Arrays.stream(axes).map(a -> Shape.normalizeAxis(a, rank)).toArray();
        Node ax = Node.of(new SourceOp.Constant(Tensor.ofLongs(m.node("ax").dtype(), new long[] {norm.length}, norm)));
        return Node.of(m.root().op(), m.node("x"), m.node("st"), m.node("en"), ax, m.node("sp"));
    }

    private static Node embeddingBroadcast(Match m) {
        Node x = m.node("x");
        Node ids = m.node("ids");
        Node e = m.node("e");
        if (!x.type().equals(m.root().type()) || e.rank() != x.rank() || ids.rank() != x.rank() - 1) {
            return null;
        }
        List<Dim> target = x.shape().dims().subList(0, ids.rank());
        if (ids.shape().dims().equals(target) || target.stream().anyMatch(Dim::isUnknown)) {
            return null;
        }
        for (int i = 0; i < ids.rank(); i++) {
            Dim d = ids.shape().dim(i);
            if (!d.equals(target.get(i)) && !d.equals(Dim.of(1))) {
                return null;
            }
        }
        Node expanded = Node.of(new Expand(), ids, RaiseSupport.dims(target));
        Node emb = Node.of(new Embedding(), m.node("w"), expanded);
        return Node.of(new Add(), m.root().input(0) == e ? emb : x, m.root().input(0) == e ? x : emb);
    }
}
