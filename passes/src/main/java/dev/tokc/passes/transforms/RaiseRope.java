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
import dev.tokc.ir.PrimitiveOp.MatMul;
import dev.tokc.ir.PrimitiveOp.Mul;
import dev.tokc.ir.PrimitiveOp.Neg;
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
 * Raising rules for rotary embeddings in the half-rotation ("rotate_half", NeoX/Llama) form:
 * {@code x * cos(emb) + concat(-x[..., h:], x[..., :h]) * sin(emb)} with {@code emb = concat(f, f)} and the
 * angles {@code f = inv_freq @ positions} (a constant {@code inv_freq}, positions cast to float: the Hugging Face
 * computation, so the result is bit-identical to the model op's 3-input form). x may be {@code [b, s, h, d]} or
 * the transposed {@code [b, h, s, d]} (cos/sin unsqueezed at the heads axis); the rope then runs between two
 * transposes that canonicalisation cancels against the exporter's. Positions that broadcast over the batch
 * ({@code [1, s]}) are expanded to {@code [b, s]}. Only full rotation (rotary dim = head dim) is raised. Used by
 * {@link Raise}.
 */
final class RaiseRope {
    private RaiseRope() {}

    private static final List<Long> SWAP_1_2 = List.of(0L, 2L, 1L, 3L);

    static final RuleSet RULES = RuleSet.of(
            new Rule("ropeHalf", op(Add.class, op(Mul.class, var("x"), var("cos")), op(Mul.class, op(Concat.class, op(Neg.class, op(Slice.class, var("x"), any(), any(), any(), any()).as("hi")), op(Slice.class, var("x"), any(), any(), any(), any()).as("lo")).as("rot"), var("sin"))), RaiseRope::half)); // x*cos + rotate_half(x)*sin -> rope(x, pos, inv_freq)

    private static Node half(Match m) {
        Node x = m.node("x");
        if (x.rank() != 4 || !x.shape().at(-1).isConstant()) {
            return null;
        }
        long d = x.shape().at(-1).value();
        if (d % 2 != 0 || !lastAxisConcat(m.node("rot")) || !isSlice(m.node("hi"), d / 2, d) || !isSlice(m.node("lo"), 0, d / 2)) {
            return null;
        }
        Node cosEmb = strip(m.node("cos"), Cos.class);
        Node sinEmb = strip(m.node("sin"), Sin.class);
        if (cosEmb == null || cosEmb != sinEmb) {
            return null;
        }
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
        Angles a = angles(cosEmb, d);
        if (a == null) {
            return null;
        }
        Node pos = positions(a.positions, batch, seq);
        if (pos == null) {
            return null;
        }
        Node in = headsFirst ? Node.of(new Transpose(SWAP_1_2), x) : x;
        Node rope = Node.of(new Rope(false), in, pos, a.invFreq);
        return RaiseSupport.sameType(m.root(), headsFirst ? Node.of(new Transpose(SWAP_1_2), rope) : rope);
    }

    private record Angles(Node invFreq, Node positions) {}

    /**
     * emb = concat(f, f) on the last axis, f = transpose(inv_freq[1, d/2, 1] @ cast(pos)[1, 1, s], [0, 2, 1]) or
     * cast(pos)[..., s, 1] * inv_freq[d/2]; returns inv_freq as a vector and the integer positions.
     */
    private static Angles angles(Node emb, long d) {
        if (!(emb.op() instanceof Concat c) || emb.inputs().size() != 2 || emb.input(0) != emb.input(1)
                || Shape.normalizeAxis(c.axis(), emb.rank()) != emb.rank() - 1) {
            return null;
        }
        Node f = emb.input(0);
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

    /** The argument of {@code unaryClass} under unsqueezes, else null. */
    private static Node strip(Node n, Class<?> unaryClass) {
        Node c = n;
        while (c.op() instanceof Unsqueeze) {
            c = c.input(0);
        }
        return unaryClass.isInstance(c.op()) ? c.input(0) : null;
    }

    private static boolean lastAxisConcat(Node n) {
        return n.op() instanceof Concat c && n.inputs().size() == 2 && Shape.normalizeAxis(c.axis(), n.rank()) == n.rank() - 1;
    }

    /** A slice of the last axis over [start, end) (end clamped), step 1. */
    private static boolean isSlice(Node s, long start, long end) {
        long[] st = SymbolicValues.constants(s.input(1)).orElse(null);
        long[] en = SymbolicValues.constants(s.input(2)).orElse(null);
        long[] ax = SymbolicValues.constants(s.input(3)).orElse(null);
        long[] sp = SymbolicValues.constants(s.input(4)).orElse(null);
        if (st == null || en == null || ax == null || sp == null || st.length != 1) {
            return false;
        }
        int rank = s.rank();
        return Shape.normalizeAxis(ax[0], rank) == rank - 1 && sp[0] == 1 && st[0] == start
                && (en[0] == end || (end == s.input(0).shape().at(-1).value() && en[0] >= end));
    }
}
