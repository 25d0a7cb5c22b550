package dev.tokc.passes.transforms;

import static dev.tokc.passes.rewrite.Pattern.any;
import static dev.tokc.passes.rewrite.Pattern.op;
import static dev.tokc.passes.rewrite.Pattern.var;

import dev.tokc.ir.Dim;
import dev.tokc.ir.ModelOp.Embedding;
import dev.tokc.ir.ModelOp.Linear;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Add;
import dev.tokc.ir.PrimitiveOp.Gather;
import dev.tokc.ir.PrimitiveOp.Gemm;
import dev.tokc.ir.PrimitiveOp.MatMul;
import dev.tokc.ir.PrimitiveOp.Reshape;
import dev.tokc.ir.PrimitiveOp.Transpose;
import dev.tokc.passes.rewrite.Match;
import dev.tokc.passes.rewrite.Rule;
import dev.tokc.passes.rewrite.RuleSet;
import java.util.ArrayList;
import java.util.List;

/**
 * Raising rules for projections and lookups. A MatMul by a 2-D {@code weight} becomes a Linear: a weight stored
 * {@code [in, out]} (dynamo exports pre-transposed, GPT-2 Conv1D) gives {@code transpose_weight = true}, a
 * {@code transpose(W, [1, 0])} of a weight stored {@code [out, in]} gives {@code transpose_weight = false}; a
 * following {@code + b} with a rank-1 weight of length out becomes the bias. A Gemm (alpha = beta = 1, no transA)
 * between the flattening reshape {@code [-1, in]} and the unflattening one is a Linear of the unflattened input.
 * A Gather along axis 0 of a 2-D weight is an Embedding (which, unlike Gather, rejects negative ids: token ids
 * never are). MatMuls of two activations never match. Used by {@link Raise}.
 */
final class RaiseLinear {
    private RaiseLinear() {}

    static final RuleSet RULES = RuleSet.of(
            new Rule("linearTransposed", op(MatMul.class, var("x"), op(Transpose.class, var("w")).where(t -> t.perm().equals(List.of(1L, 0L)))), m -> linear(m, false)), // x @ transpose(W[out,in]) -> linear(x, W)
            new Rule("linear", op(MatMul.class, var("x"), var("w")), m -> linear(m, true)), // x @ W[in,out] -> linear(x, W) {transpose_weight}
            new Rule("linearBias", op(Add.class, op(Linear.class, var("x"), var("w")).as("lin"), var("b")), RaiseLinear::bias), // linear(x, W) + b -> linear(x, W, b)
            new Rule("gemm", op(Gemm.class), RaiseLinear::gemm), // gemm(x, W, b) {trans_b = t} -> linear(x, W, b) {transpose_weight = !t}
            new Rule("linearUnflatten", op(Reshape.class, op(Linear.class).when(l -> l.input(0).op() instanceof Reshape).as("lin"), any()), RaiseLinear::unflatten), // reshape(linear(reshape(x, [-1, in]), W), [..., out]) -> linear(x, W)
            new Rule("embedding", op(Gather.class, var("w"), var("ids")).where(g -> g.axis() == 0), RaiseLinear::embedding)); // gather(W, ids) -> embedding(W, ids)

    private static Node linear(Match m, boolean transposeWeight) {
        Node x = m.node("x");
        Node w = m.node("w");
        if (!RaiseSupport.isWeight(w, 2) || x.rank() < 2 || w.dtype() != x.dtype() || !x.dtype().isFloat()) {
            return null;
        }
        return RaiseSupport.sameType(m.root(), Node.of(new Linear(transposeWeight), x, w));
    }

    private static Node bias(Match m) {
        Node lin = m.node("lin");
        Node b = m.node("b");
        if (!RaiseSupport.isWeight(b, 1) || !b.shape().dim(0).equals(lin.shape().at(-1))) {
            return null;
        }
        return RaiseSupport.sameType(m.root(), Node.of(lin.op(), m.node("x"), m.node("w"), b));
    }

    /**
     * {@code reshape(linear(reshape(x, [-1, in]), ...), [L..., out])}: the Linear reads x viewed as
     * {@code [L..., in]} (x itself when it has that shape), so the flattening disappears.
     */
    private static Node unflatten(Match m) {
        Node lin = m.node("lin");
        Node flat = lin.input(0);
        List<Dim> outer = new ArrayList<>(m.root().shape().dims());
        if (flat.rank() != 2 || outer.size() < 2 || outer.stream().anyMatch(Dim::isUnknown)) {
            return null;
        }
        outer.set(outer.size() - 1, flat.shape().dim(1));
        Node x = flat.input(0);
        if (!x.shape().dims().equals(outer)) {
            x = Node.of(new Reshape(false), x, RaiseSupport.dims(outer));
        }
        List<Node> in = new ArrayList<>(lin.inputs());
        in.set(0, x);
        return RaiseSupport.sameType(m.root(), Node.of(lin.op(), in));
    }

    private static Node gemm(Match m) {
        Node g = m.root();
        Gemm op = (Gemm) g.op();
        Node w = g.input(1);
        if (op.alpha() != 1 || op.transA() || !RaiseSupport.isWeight(w, 2) || !g.dtype().isFloat() || (g.inputs().size() == 3
                && (op.beta() != 1 || !RaiseSupport.isWeight(g.input(2), 1)))) {
            return null;
        }
        return RaiseSupport.sameType(g, Node.of(new Linear(!op.transB()), g.inputs()));
    }

    private static Node embedding(Match m) {
        Node w = m.node("w");
        Node ids = m.node("ids");
        if (!RaiseSupport.isWeight(w, 2) || !ids.dtype().isInteger()) {
            return null;
        }
        return RaiseSupport.sameType(m.root(), Node.of(new Embedding(), w, ids));
    }
}
