package dev.tokc.passes.transforms;

import static dev.tokc.ir.DType.BOOL;
import static dev.tokc.ir.DType.F16;
import static dev.tokc.ir.DType.F32;
import static dev.tokc.ir.DType.I32;
import static dev.tokc.ir.DType.I64;
import static dev.tokc.ir.DType.I8;
import static dev.tokc.ir.DType.U32;
import static dev.tokc.passes.Ir.dimsNode;
import static dev.tokc.passes.Ir.fill;
import static dev.tokc.passes.Ir.graph;
import static dev.tokc.passes.Ir.i64s;
import static dev.tokc.passes.Ir.named;
import static dev.tokc.passes.Ir.op;
import static dev.tokc.passes.Ir.param;
import static dev.tokc.passes.Ir.scalar;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.DType;
import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Add;
import dev.tokc.ir.PrimitiveOp.And;
import dev.tokc.ir.PrimitiveOp.Cast;
import dev.tokc.ir.PrimitiveOp.Concat;
import dev.tokc.ir.PrimitiveOp.Div;
import dev.tokc.ir.PrimitiveOp.Exp;
import dev.tokc.ir.PrimitiveOp.Expand;
import dev.tokc.ir.PrimitiveOp.Greater;
import dev.tokc.ir.PrimitiveOp.Max;
import dev.tokc.ir.PrimitiveOp.Min;
import dev.tokc.ir.PrimitiveOp.Mul;
import dev.tokc.ir.PrimitiveOp.Neg;
import dev.tokc.ir.PrimitiveOp.Not;
import dev.tokc.ir.PrimitiveOp.Or;
import dev.tokc.ir.PrimitiveOp.Pow;
import dev.tokc.ir.PrimitiveOp.Reshape;
import dev.tokc.ir.PrimitiveOp.Slice;
import dev.tokc.ir.PrimitiveOp.Squeeze;
import dev.tokc.ir.PrimitiveOp.Sub;
import dev.tokc.ir.PrimitiveOp.Transpose;
import dev.tokc.ir.PrimitiveOp.Unsqueeze;
import dev.tokc.ir.PrimitiveOp.Where;
import dev.tokc.ir.Verifier;
import dev.tokc.passes.PassContext;
import dev.tokc.passes.rewrite.RewriteDriver;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** One positive test per rule (checked by {@link #everyRuleFiredSomewhere}) and the cases where rules must not fire. */
class CanonicalizeTest {
    static final Set<String> FIRED = new HashSet<>();

    final Node x = param("x", F32, "batch", 4);
    final Node b = param("b", BOOL, "batch", 4);

    /** Canonicalizes a one-output graph with strict convergence, verifies it and returns the output. */
    static Node canon(List<Node> inputs, Node out) {
        PassContext ctx = new PassContext("canonicalize", RewriteDriver.Options.STRICT);
        Graph g = new Canonicalize().run(graph(inputs, out), ctx);
        Verifier.verifyOrThrow(g);
        ctx.counters().keySet().forEach(FIRED::add);
        return g.outputs().getFirst();
    }

    Node canon(Node out) {
        return canon(List.of(x, b), out);
    }

    @AfterAll
    static void everyRuleFiredSomewhere() {
        for (String rule : Canonicalize.rules().names()) {
            assertTrue(FIRED.contains(rule), "no test makes rule " + rule + " fire");
        }
    }

    // ---- arithmetic ----

    @Test
    void addZero() {
        assertSame(x, canon(op(new Add(), x, scalar(F32, 0))));
        assertSame(x, canon(op(new Add(), scalar(F32, 0), x)));
    }

    @Test
    void subZero() {
        assertSame(x, canon(op(new Sub(), x, scalar(F32, 0))));
    }

    @Test
    void dontRewriteZeroMinusX() {
        Node n = op(new Sub(), scalar(F32, 0), x);
        assertSame(n, canon(n));
    }

    @Test
    void mulOne() {
        assertSame(x, canon(op(new Mul(), x, scalar(F32, 1))));
        assertSame(x, canon(op(new Mul(), fill(F32, 1, 4), x)));
    }

    @Test
    void dontRemoveMulOneThatBroadcasts() {
        // x * ones[2, batch, 4] has a larger shape than x: the multiplication is a broadcast, not an identity.
        Node ones = op(new Expand(), fill(F32, 1, 1), dimsNode(2, "batch", 4));
        Node n = op(new Mul(), x, ones);
        assertSame(n, canon(n));
    }

    @Test
    void dontRemoveMulByOtherConstants() {
        Node n = op(new Mul(), x, scalar(F32, 2));
        assertSame(n, canon(n));
    }

    @Test
    void divOne() {
        assertSame(x, canon(op(new Div(), x, scalar(F32, 1))));
    }

    @Test
    void powOne() {
        assertSame(x, canon(op(new Pow(), x, scalar(F32, 1))));
    }

    @Test
    void mulNegOne() {
        assertEquals(op(new Neg(), x), canon(op(new Mul(), scalar(F32, -1), x)));
    }

    @Test
    void negSub() {
        Node y = op(new Exp(), x);
        assertEquals(op(new Sub(), y, x), canon(op(new Neg(), op(new Sub(), x, y))));
    }

    @Test
    void whereOnAConstantCondition() {
        Node y = op(new Exp(), x);
        assertSame(x, canon(op(new Where(), fill(BOOL, 1, 4), x, y)));
        assertSame(y, canon(op(new Where(), fill(BOOL, 0, 1, 1), x, y)));
    }

    @Test
    void dontSelectOnAMixedCondition() {
        Node c = Node.of(new dev.tokc.ir.SourceOp.Constant(dev.tokc.ir.Tensor.ofLongs(BOOL, new long[] {4}, new long[] {1, 0, 1, 0})));
        Node n = op(new Where(), c, x, op(new Exp(), x));
        assertSame(n, canon(n));
    }

    @Test
    void sliceWhole() {
        Node n = op(new Slice(), x, i64s(0), i64s(Integer.MAX_VALUE), i64s(0), i64s(1));
        assertSame(x, canon(n));
        Node x3 = param("x3", F32, 2, 3);
        assertSame(x3, canon(List.of(x3), op(new Slice(), x3, i64s(0, 0), i64s(2, 3), i64s(0, 1), i64s(1, 1))));
    }

    @Test
    void dontRemoveReversingOrPartialSlices() {
        // Reversing the whole axis keeps the type but not the value.
        Node rev = op(new Slice(), x, i64s(-1), i64s(Long.MIN_VALUE), i64s(1), i64s(-1));
        assertEquals(x.type(), rev.type());
        assertSame(rev, canon(rev));
        Node head = op(new Slice(), x, i64s(0), i64s(2), i64s(1), i64s(1));
        assertSame(head, canon(head));
    }

    @Test
    void negNeg() {
        assertSame(x, canon(op(new Neg(), op(new Neg(), x))));
        Node three = op(new Neg(), op(new Neg(), op(new Neg(), x)));
        assertEquals(op(new Neg(), x), canon(three));
    }

    @Test
    void notNot() {
        assertSame(b, canon(op(new Not(), op(new Not(), b))));
    }

    @Test
    void addNeg() {
        Node y = op(new Exp(), x);
        assertEquals(op(new Sub(), x, y), canon(op(new Add(), x, op(new Neg(), y))));
        assertEquals(op(new Sub(), x, y), canon(op(new Add(), op(new Neg(), y), x)));
    }

    @Test
    void subNeg() {
        Node y = op(new Exp(), x);
        assertEquals(op(new Add(), x, y), canon(op(new Sub(), x, op(new Neg(), y))));
    }

    @Test
    void idempotentBinaries() {
        assertSame(x, canon(op(new Max(), x, x)));
        assertSame(x, canon(op(new Min(), x, x)));
        assertSame(b, canon(op(new And(), b, b)));
        assertSame(b, canon(op(new Or(), b, b)));
    }

    @Test
    void dontMergeMaxOfDifferentValues() {
        Node n = op(new Max(), x, op(new Exp(), x));
        assertSame(n, canon(n));
    }

    @Test
    void whereSame() {
        Node c = op(new Greater(), x, scalar(F32, 0));
        assertSame(x, canon(op(new Where(), c, x, x)));
    }

    // ---- layout ----

    @Test
    void reshapeReshape() {
        Node r1 = op(new Reshape(false), x, dimsNode("batch", 2, 2));
        Node r2 = named("r2", new Reshape(false), r1, dimsNode(2, "batch", 2));
        Node out = canon(r2);
        assertSame(x, out.input(0));
        assertEquals("r2", out.name());
        assertEquals(r2.type(), out.type());
    }

    @Test
    void dontSkipAReshapeWhoseDimsTheNextCopies() {
        // The second reshape's 0 copies dim 0 of the first one's result (2), not of x (batch).
        Node x3 = param("x3", F32, 2, 3, 4);
        Node r1 = op(new Reshape(false), x3, i64s(3, 2, 4));
        Node r2 = op(new Reshape(false), r1, i64s(0, -1));
        Node out = canon(List.of(x3), r2);
        assertSame(r1, out.input(0));
    }

    @Test
    void reshapeIdentity() {
        assertSame(x, canon(op(new Reshape(false), x, dimsNode("batch", 4))));
        assertSame(x, canon(op(new Reshape(false), x, dimsNode("batch", -1))));
    }

    @Test
    void expandIdentity() {
        assertSame(x, canon(op(new Expand(), x, i64s(1, 4))));
    }

    @Test
    void transposeIdentity() {
        assertSame(x, canon(op(new Transpose(List.of(0L, 1L)), x)));
    }

    @Test
    void transposeTranspose() {
        Node x3 = param("x3", F32, 2, 3, 4);
        Node t1 = op(new Transpose(List.of(1L, 2L, 0L)), x3); // [3, 4, 2]
        Node t2 = op(new Transpose(List.of(0L, 2L, 1L)), t1); // [3, 2, 4]
        Node out = canon(List.of(x3), t2);
        assertEquals(op(new Transpose(List.of(1L, 0L, 2L)), x3), out);
        // Inverse permutations cancel completely.
        Node back = op(new Transpose(List.of(2L, 0L, 1L)), t1);
        assertSame(x3, canon(List.of(x3), back));
    }

    @Test
    void squeezeNoop() {
        assertSame(x, canon(op(new Squeeze(List.of()), x)));
    }

    @Test
    void dontRemoveARealSqueeze() {
        Node x1 = param("x1", F32, 1, 4);
        Node n = op(new Squeeze(List.of()), x1);
        assertSame(n, canon(List.of(x1), n));
    }

    @Test
    void unsqueezeNoop() {
        assertSame(x, canon(op(new Unsqueeze(List.of()), x)));
    }

    @Test
    void squeezeUnsqueeze() {
        assertSame(x, canon(op(new Squeeze(List.of(1L)), op(new Unsqueeze(List.of(1L)), x))));
        assertSame(x, canon(op(new Squeeze(List.of(-1L)), op(new Unsqueeze(List.of(2L)), x))));
    }

    @Test
    void unsqueezeSqueeze() {
        Node x1 = param("x1", F32, "batch", 1, 4);
        assertSame(x1, canon(List.of(x1), op(new Unsqueeze(List.of(1L)), op(new Squeeze(List.of(1L)), x1))));
    }

    @Test
    void dontCancelUnsqueezeSqueezeThatMovesTheAxis() {
        Node x1 = param("x1", F32, "batch", 1, 4);
        Node n = op(new Unsqueeze(List.of(0L)), op(new Squeeze(List.of(1L)), x1)); // [1, batch, 4]
        assertSame(n, canon(List.of(x1), n));
    }

    @Test
    void unsqueezeUnsqueeze() {
        // [batch, 4] -> [1, batch, 4] -> [1, batch, 4, 1]
        assertEquals(op(new Unsqueeze(List.of(0L, 3L)), x),
                canon(op(new Unsqueeze(List.of(-1L)), op(new Unsqueeze(List.of(0L)), x))));
        // [batch, 4] -> [batch, 1, 4] -> [1, batch, 1, 4]: the inner axis moves right by the outer insertion.
        assertEquals(op(new Unsqueeze(List.of(0L, 2L)), x),
                canon(op(new Unsqueeze(List.of(0L)), op(new Unsqueeze(List.of(1L)), x))));
        // Three in a row compose to one.
        Node s = param("s", I64, "seq");
        Node three = op(new Unsqueeze(List.of(3L)), op(new Unsqueeze(List.of(1L)), op(new Unsqueeze(List.of(0L)), s)));
        assertEquals(op(new Unsqueeze(List.of(0L, 1L, 3L)), s), canon(List.of(s), three));
    }

    @Test
    void booleanIdentities() {
        assertSame(b, canon(op(new And(), Node.of(new dev.tokc.ir.SourceOp.Constant(dev.tokc.ir.Tensor.scalar(BOOL, 1))), b)));
        assertSame(b, canon(op(new Or(), b, fill(BOOL, 0, 4))));
    }

    @Test
    void dontDropAndFalse() {
        Node n = op(new And(), b, fill(BOOL, 0, 4));
        assertSame(n, canon(n));
    }

    @Test
    void concatSingle() {
        assertSame(x, canon(op(new Concat(0), x)));
    }

    // ---- casts ----

    @Test
    void castIdentity() {
        assertSame(x, canon(op(new Cast(F32, false), x)));
    }

    @Test
    void castRoundTrip() {
        Node i = param("i", I32, 4);
        assertSame(i, canon(List.of(i), op(new Cast(I32, false), op(new Cast(U32, false), i))));
    }

    @Test
    void dontDropANarrowingRoundTrip() {
        Node i = param("i", I32, 4);
        Node n = op(new Cast(I32, false), op(new Cast(I8, false), i));
        assertSame(n, canon(List.of(i), n));
        Node f = op(new Cast(F32, false), op(new Cast(F16, false), x));
        assertSame(f, canon(f));
    }

    @Test
    void castAfterLossless() {
        Node h = param("h", F16, 4);
        // f16 -> f32 is exact, so f16 -> f32 -> i32 is f16 -> i32.
        assertEquals(op(new Cast(I32, false), h), canon(List.of(h), op(new Cast(I32, false), op(new Cast(F32, false), h))));
        // ... and f16 -> f32 -> f16 is nothing at all (castAfterLossless then castIdentity).
        assertSame(h, canon(List.of(h), op(new Cast(F16, false), op(new Cast(F32, false), h))));
    }

    @Test
    void losslessTable() {
        assertTrue(Canonicalize.isLossless(DType.I32, DType.I64));
        assertTrue(Canonicalize.isLossless(DType.U8, DType.I16));
        assertTrue(Canonicalize.isLossless(DType.I16, DType.F32));
        assertTrue(Canonicalize.isLossless(DType.BF16, DType.F32));
        assertTrue(!Canonicalize.isLossless(DType.U8, DType.I8));
        assertTrue(!Canonicalize.isLossless(DType.I32, DType.F32));
        assertTrue(!Canonicalize.isLossless(DType.F32, DType.BF16));
        assertTrue(!Canonicalize.isLossless(DType.I8, DType.U64));
        assertTrue(!Canonicalize.isLossless(I64, DType.F64));
    }

    @Test
    void countersNameTheRules() {
        PassContext ctx = new PassContext("canonicalize", RewriteDriver.Options.STRICT);
        Node n = op(new Mul(), op(new Neg(), op(new Neg(), x)), scalar(F32, 1));
        new Canonicalize().run(graph(List.of(x), n), ctx);
        assertEquals(2, ctx.get("rewrites"));
        assertEquals(1, ctx.get("mulOne"));
        assertEquals(1, ctx.get("negNeg"));
    }
}
