package dev.tokc.passes.transforms;

import static dev.tokc.passes.rewrite.Pattern.any;
import static dev.tokc.passes.rewrite.Pattern.op;
import static dev.tokc.passes.rewrite.Pattern.var;

import dev.tokc.ir.Dim;
import dev.tokc.ir.DType;
import dev.tokc.ir.ModelOp.Rope;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Add;
import dev.tokc.ir.PrimitiveOp.Cast;
import dev.tokc.ir.PrimitiveOp.Concat;
import dev.tokc.ir.PrimitiveOp.Cos;
import dev.tokc.ir.PrimitiveOp.Expand;
import dev.tokc.ir.PrimitiveOp.Gather;
import dev.tokc.ir.PrimitiveOp.MatMul;
import dev.tokc.ir.PrimitiveOp.Mul;
import dev.tokc.ir.PrimitiveOp.Neg;
import dev.tokc.ir.PrimitiveOp.Reshape;
import dev.tokc.ir.PrimitiveOp.Sin;
import dev.tokc.ir.PrimitiveOp.Slice;
import dev.tokc.ir.PrimitiveOp.Transpose;
import dev.tokc.ir.PrimitiveOp.Unsqueeze;
import dev.tokc.ir.Shape;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.SymbolicValues;
import dev.tokc.ir.Tensor;
import dev.tokc.passes.rewrite.Match;
import dev.tokc.passes.rewrite.Rule;
import dev.tokc.passes.rewrite.RuleSet;
import java.util.List;

/**
 * Raising rules for rotary embeddings, in the half-rotation ("rotate_half", NeoX/Llama) form
 * {@code x * cos(emb) + concat(-x[..., h:], x[..., :h]) * sin(emb)} with {@code emb = concat(f, f)}, and in the
 * interleaved (GPT-J) form {@code x * cos(emb) + flatten(stack(-x[..., 1::2], x[..., 0::2], -1)) * sin(emb)} with
 * {@code emb = repeat_interleave(f, 2)} (as {@code reshape(concat(unsqueeze(f, -1), unsqueeze(f, -1)))}). The
 * angles are either {@code f = inv_freq @ positions} (a constant {@code inv_freq}, positions cast to float: the
 * Hugging Face computation, so the result is the model op's 3-input form), or cos and sin are rows of constant
 * tables gathered at the positions (a cos/sin cache: the model op's 4-input form, the tables cut to the half that
 * does not repeat; a table whose halves, or pairs, differ is not a rotary cache). x may be {@code [b, s, h, d]} or
 * the transposed {@code [b, h, s, d]} (cos/sin unsqueezed at the heads axis); the rope then runs between two
 * transposes that canonicalisation cancels against the exporter's. Positions that broadcast over the batch
 * ({@code [1, s]}) are expanded to {@code [b, s]}. Only full rotation (rotary dim = head dim) is raised. Used by
 * {@link Raise}.
 */
final class RaiseRope {
    private RaiseRope() {}

    private static final List<Long> SWAP_1_2 = List.of(0L, 2L, 1L, 3L);

    static final RuleSet RULES = RuleSet.of(
            new Rule("ropeHalf", op(Add.class, op(Mul.class, var("x"), var("cos")), op(Mul.class, op(Concat.class, op(Neg.class, op(Slice.class, var("x"), any(), any(), any(), any()).as("hi")), op(Slice.class, var("x"), any(), any(), any(), any()).as("lo")).as("rot"), var("sin"))), RaiseRope::half), // x*cos + rotate_half(x)*sin -> rope(x, pos, inv_freq)
            new Rule("ropeInterleaved", op(Add.class, op(Mul.class, var("x"), var("cos")), op(Mul.class, op(Reshape.class, op(Concat.class, op(Unsqueeze.class, op(Neg.class, op(Slice.class, var("x"), any(), any(), any(), any()).as("odd"))), op(Unsqueeze.class, op(Slice.class, var("x"), any(), any(), any(), any()).as("even"))).as("rot"), any()), var("sin"))), RaiseRope::interleaved)); // x*cos + stack(-x_odd, x_even).flatten*sin -> rope(x, pos, inv_freq) {interleaved}

    private static Node half(Match m) {
        Node x = m.node("x");
        if (x.rank() != 4 || !x.shape().at(-1).isConstant()) {
            return null;
        }
        long d = x.shape().at(-1).value();
        if (d % 2 != 0 || !lastAxisConcat(m.node("rot")) || !isSlice(m.node("hi"), d / 2, d, 1) || !isSlice(m.node("lo"), 0, d / 2, 1)) {
            return null;
        }
        return rope(m, false, d);
    }

    /** The GPT-J form: pairs (2i, 2i+1), rotated as stack(-x[..., 1::2], x[..., 0::2], -1) flattened. */
    private static Node interleaved(Match m) {
        Node x = m.node("x");
        if (x.rank() != 4 || !x.shape().at(-1).isConstant()) {
            return null;
        }
        long d = x.shape().at(-1).value();
        Node rot = m.node("rot");
        if (d % 2 != 0 || !lastAxisConcat(rot) || rot.rank() != 5 || !rot.shape().at(-1).equals(Dim.of(2))
                || !isSlice(m.node("odd"), 1, d, 2) || !isSlice(m.node("even"), 0, d, 2)) {
            return null;
        }
        return rope(m, true, d);
    }

    private static Node rope(Match m, boolean interleaved, long d) {
        Node x = m.node("x");
        Node cosB = m.node("cos");
        // The axis of the seq dim of the broadcast cos tells the layout: [., 1, s, d] -> [b, h, s, d].
        boolean headsFirst;
        if (cosB.rank() == 4 && cosB.shape().dim(1).equals(Dim.of(1)) && !cosB.shape().dim(2).equals(Dim.of(1))) {
            headsFirst = true;
        } else if (cosB.rank() == 4 && cosB.shape().dim(2).equals(Dim.of(1))) {
            headsFirst = false;
        } else {
            return null;
        }
        Dim seq = x.shape().dim(headsFirst ? 2 : 1);
        Dim batch = x.shape().dim(0);
        List<Node> tables = angleSource(m.node("cos"), m.node("sin"), d, interleaved);
        if (tables == null) {
            return null;
        }
        Node pos = positions(tables.get(0), batch, seq);
        if (pos == null) {
            return null;
        }
        Node in = headsFirst ? Node.of(new Transpose(SWAP_1_2), x) : x;
        List<Node> operands = new java.util.ArrayList<>(List.of(in, pos));
        operands.addAll(tables.subList(1, tables.size()));
        Node rope;
        try {
            rope = Node.of(new Rope(interleaved), operands);
        } catch (RuntimeException e) {
            return null;
        }
        return RaiseSupport.sameType(m.root(), headsFirst ? Node.of(new Transpose(SWAP_1_2), rope) : rope);
    }

    private record Angles(Node invFreq, Node positions) {}

    /**
     * Where the cos and sin come from: [positions, inv_freq] when they are cos/sin of the angles
     * {@code inv_freq @ positions} (duplicated as concat(f, f), or interleaved as repeat_interleave(f, 2)), or
     * [positions, cos_half, sin_half] when they are rows of constant tables gathered at the positions (the ONNX
     * cos/sin cache), the tables cut to their distinct half. Null when neither.
     */
    private static List<Node> angleSource(Node cosB, Node sinB, long d, boolean interleaved) {
        Node c = unsqueezed(cosB);
        Node s = unsqueezed(sinB);
        if (c.op() instanceof Gather gc && s.op() instanceof Gather gs && gc.axis() == 0 && gs.axis() == 0 && c.input(1) == s.input(1)) {
            Node ct = halfTable(c.input(0), d, interleaved);
            Node st = halfTable(s.input(0), d, interleaved);
            return ct == null || st == null ? null : List.of(c.input(1), ct, st);
        }
        if (!(c.op() instanceof Cos) || !(s.op() instanceof Sin) || c.input(0) != s.input(0)) {
            return null;
        }
        Node f = interleaved ? repeatedPairs(c.input(0)) : duplicatedHalves(c.input(0));
        Angles a = f == null ? null : angles(f, d);
        return a == null ? null : List.of(a.positions, a.invFreq);
    }

    private static Node unsqueezed(Node n) {
        Node c = n;
        while (c.op() instanceof Unsqueeze) {
            c = c.input(0);
        }
        return c;
    }

    /** f for {@code concat(f, f)} on the last axis. */
    private static Node duplicatedHalves(Node emb) {
        return emb.op() instanceof Concat c && emb.inputs().size() == 2 && emb.input(0) == emb.input(1)
                && Shape.normalizeAxis(c.axis(), emb.rank()) == emb.rank() - 1 ? emb.input(0) : null;
    }

    /** f for {@code reshape(concat(unsqueeze(f, -1), unsqueeze(f, -1)), [..., 2 * h])} (repeat_interleave). */
    private static Node repeatedPairs(Node emb) {
        if (!(emb.op() instanceof Reshape) || !(emb.input(0).op() instanceof Concat c)) {
            return null;
        }
        Node st = emb.input(0);
        if (st.inputs().size() != 2 || st.input(0) != st.input(1) || Shape.normalizeAxis(c.axis(), st.rank()) != st.rank() - 1
                || !(st.input(0).op() instanceof Unsqueeze u) || u.axes().size() != 1
                || Shape.normalizeAxis(u.axes().get(0), st.rank()) != st.rank() - 1) {
            return null;
        }
        Node f = st.input(0).input(0);
        return f.rank() == emb.rank() ? f : null;
    }

    /** The distinct half of a constant f32 table [max_pos, d] whose halves (or pairs) repeat, as [max_pos, d/2]. */
    private static Node halfTable(Node t, long d, boolean interleaved) {
        if (!(t.op() instanceof SourceOp.Constant c) || t.rank() != 2 || !t.shape().dim(1).equals(Dim.of(d))) {
            return null;
        }
        Tensor v = c.value();
        long rows = v.dim(0);
        long h = d / 2;
        double[] out = new double[(int) (rows * h)];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < h; i++) {
                int a = (int) (r * d + (interleaved ? 2L * i : i));
                int b = (int) (r * d + (interleaved ? 2L * i + 1 : i + h));
                if (Double.compare(v.getDouble(a), v.getDouble(b)) != 0) {
                    return null;
                }
                out[(int) (r * h + i)] = v.getDouble(a);
            }
        }
        return Node.of(new SourceOp.Constant(Tensor.ofDoubles(v.dtype(), new long[] {rows, h}, out)));
    }

    /**
     * The angles f = transpose(inv_freq[1, d/2, 1] @ cast(pos)[1, 1, s], [0, 2, 1]) or cast(pos)[..., s, 1] *
     * inv_freq[d/2]; returns inv_freq as a vector and the integer positions.
     */
    private static Angles angles(Node f, long d) {
        if (f.op() instanceof Transpose t && f.rank() == 3 && t.perm().equals(List.of(0L, 2L, 1L))
                && f.input(0).op() instanceof MatMul) {
            Node mm = f.input(0);
            Node inv = vector(mm.input(0), d / 2);
            Node pos = castFromInteger(mm.input(1));
            return inv == null || pos == null ? null : new Angles(inv, pos);
        }
        if (f.op() instanceof Mul) {
            for (int i = 0; i < 2; i++) {
                Node inv = vector(f.input(i), d / 2);
                Node pos = castFromInteger(f.input(1 - i));
                if (inv != null && pos != null && pos.shape().at(-1).equals(Dim.of(1))) {
                    return new Angles(inv, pos);
                }
            }
        }
        return null;
    }

    /** A float constant with exactly n elements, as an f32 vector [n]. */
    private static Node vector(Node n, long count) {
        if (!(n.op() instanceof SourceOp.Constant c) || c.value().size() != count || n.dtype() != DType.F32) {
            return null;
        }
        Tensor v = c.value().reshape(count);
        return Node.of(new SourceOp.Constant(v));
    }

    /** The integer tensor under a cast to float, else null. */
    private static Node castFromInteger(Node n) {
        if (n.op() instanceof Cast && n.input(0).dtype().isInteger() && n.dtype().isFloat()) {
            return n.input(0);
        }
        return null;
    }

    /**
     * Positions {@code [batch, seq]} from integer positions of any rank whose size-1 dims are unsqueezes: the
     * vector {@code [seq]} under them becomes {@code expand(unsqueeze(v, [0]), [batch, seq])}, the checkpoint
     * importer's form.
     */
    private static Node positions(Node p, Dim batch, Dim seq) {
        Node base = p;
        while (base.op() instanceof Unsqueeze) {
            base = base.input(0);
        }
        if (base.rank() == 1 && base.shape().dim(0).equals(seq)) {
            Node row = Node.of(new Unsqueeze(List.of(0L)), base);
            return Node.of(new Expand(), row, RaiseSupport.dims(List.of(batch, seq)));
        }
        if (base.rank() == 2 && base.shape().dim(1).equals(seq)) {
            if (base.shape().dim(0).equals(batch)) {
                return base;
            }
            return base.shape().dim(0).equals(Dim.of(1)) ? Node.of(new Expand(), base, RaiseSupport.dims(List.of(batch, seq))) : null;
        }
        return null;
    }

    private static boolean lastAxisConcat(Node n) {
        return n.op() instanceof Concat c && n.inputs().size() == 2 && Shape.normalizeAxis(c.axis(), n.rank()) == n.rank() - 1;
    }

    /** A slice of the last axis over [start, end) (end clamped) with that step. */
    private static boolean isSlice(Node s, long start, long end, long step) {
        long[] st = SymbolicValues.constants(s.input(1)).orElse(null);
        long[] en = SymbolicValues.constants(s.input(2)).orElse(null);
        long[] ax = SymbolicValues.constants(s.input(3)).orElse(null);
        long[] sp = SymbolicValues.constants(s.input(4)).orElse(null);
        if (st == null || en == null || ax == null || sp == null || st.length != 1) {
            return false;
        }
        int rank = s.rank();
        return Shape.normalizeAxis(ax[0], rank) == rank - 1 && sp[0] == step && st[0] == start
                && (en[0] == end || (end == s.input(0).shape().at(-1).value() && en[0] >= end));
    }
}
