package dev.tokc.passes.rewrite;

import static dev.tokc.ir.DType.F32;
import static dev.tokc.ir.DType.I64;
import static dev.tokc.passes.Ir.fill;
import static dev.tokc.passes.Ir.i64s;
import static dev.tokc.passes.Ir.op;
import static dev.tokc.passes.Ir.param;
import static dev.tokc.passes.Ir.scalar;
import static dev.tokc.passes.rewrite.Pattern.any;
import static dev.tokc.passes.rewrite.Pattern.constant;
import static dev.tokc.passes.rewrite.Pattern.var;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Add;
import dev.tokc.ir.PrimitiveOp.Cast;
import dev.tokc.ir.PrimitiveOp.Mul;
import dev.tokc.ir.PrimitiveOp.Neg;
import dev.tokc.ir.PrimitiveOp.Sub;
import dev.tokc.ir.PrimitiveOp.Transpose;
import dev.tokc.ir.PrimitiveOp.Unary;
import java.util.List;
import org.junit.jupiter.api.Test;

class PatternTest {
    final Node x = param("x", F32, 2, 3);
    final Node y = param("y", F32, 2, 3);

    @Test
    void anyMatchesEverythingAndVarCaptures() {
        assertNotNull(any().match(x));
        Match m = var("v").match(x);
        assertSame(x, m.node("v"));
        assertSame(x, m.root());
    }

    @Test
    void opPatternChecksClassArityAndOperands() {
        Node neg = op(new Neg(), x);
        assertNotNull(Pattern.op(Neg.class).match(neg));
        assertNotNull(Pattern.op(Unary.class).match(neg), "an interface matches every op implementing it");
        assertNull(Pattern.op(Add.class).match(neg));
        assertNull(Pattern.op(Neg.class, var("a"), var("b")).match(neg), "arity must agree when operands are given");
        Match m = Pattern.op(Neg.class, var("a")).match(neg);
        assertSame(x, m.node("a"));
    }

    @Test
    void nestedPatternsCaptureInnerNodes() {
        Node t1 = op(new Transpose(List.of(1L, 0L)), x);
        Node t2 = op(new Transpose(List.of(1L, 0L)), t1);
        Match m = Pattern.op(Transpose.class, Pattern.op(Transpose.class, var("x")).as("inner")).as("outer").match(t2);
        assertSame(x, m.node("x"));
        assertSame(t1, m.node("inner"));
        assertSame(t2, m.node("outer"));
        assertEquals(List.of(1L, 0L), m.op("inner", Transpose.class).perm());
        assertNull(Pattern.op(Transpose.class, Pattern.op(Transpose.class, any())).match(t1));
    }

    @Test
    void attributePredicatesAreTypedByTheOpClass() {
        Node c = op(new Cast(I64, false), x);
        assertNotNull(Pattern.op(Cast.class).where(k -> k.to() == I64).match(c));
        assertNull(Pattern.op(Cast.class).where(k -> k.saturate()).match(c));
    }

    @Test
    void nodeGuardsSeeTheMatchedNode() {
        assertNotNull(var("v").when(n -> n.rank() == 2).match(x));
        assertNull(var("v").when(n -> n.rank() == 3).match(x));
    }

    @Test
    void sameNameMustCaptureTheSameNode() {
        assertNotNull(Pattern.op(Sub.class, var("a"), var("a")).match(op(new Sub(), x, x)));
        assertNull(Pattern.op(Sub.class, var("a"), var("a")).match(op(new Sub(), x, y)));
    }

    @Test
    void commutativeOpsMatchEitherOrder() {
        Node one = scalar(F32, 1);
        Pattern mulOne = Pattern.op(Mul.class, var("x"), constant(1));
        assertSame(x, mulOne.match(op(new Mul(), x, one)).node("x"));
        assertSame(x, mulOne.match(op(new Mul(), one, x)).node("x"));
        // Sub does not commute: 1 - x is not x - 1.
        assertNull(Pattern.op(Sub.class, var("x"), constant(1)).match(op(new Sub(), one, x)));
        assertNotNull(Pattern.op(Sub.class, var("x"), constant(1)).commutative().match(op(new Sub(), one, x)));
    }

    @Test
    void aFailedFirstOrderLeavesNoCaptures() {
        // add(neg(y), x) against add(var a, neg(var b)): the first order binds a=neg(y) and then fails on x; the
        // swapped order must see a fresh binding (a=x, b=y), not the stale a=neg(y).
        Node negY = op(new Neg(), y);
        Match m = Pattern.op(Add.class, var("a"), Pattern.op(Neg.class, var("b"))).match(op(new Add(), negY, x));
        assertSame(x, m.node("a"));
        assertSame(y, m.node("b"));
        assertEquals(2, m.captures().size());
    }

    @Test
    void constantSplatMatchesEveryElementEqual() {
        assertNotNull(constant(1).match(fill(F32, 1, 2, 2)));
        assertNotNull(constant(1).match(i64s(1, 1, 1)));
        assertNull(constant(1).match(i64s(1, 2, 1)));
        assertNull(constant(0).match(x));
        assertNotNull(constant().match(i64s(4)));
    }

    @Test
    void constantCapturesGiveTheirValue() {
        Node eps = scalar(F32, 1e-5);
        Match m = Pattern.op(Add.class, var("x"), constant().as("eps")).match(op(new Add(), x, eps));
        assertEquals(dev.tokc.ir.Tensor.scalar(F32, 1e-5), m.tensor("eps"));
        assertThrows(IllegalArgumentException.class, () -> m.tensor("x"));
    }

    @Test
    void missingCaptureIsAnError() {
        Match m = var("v").match(x);
        assertThrows(IllegalArgumentException.class, () -> m.node("w"));
    }

    @Test
    void commutativeNeedsTwoOperands() {
        assertThrows(IllegalStateException.class, () -> Pattern.op(Neg.class, any()).commutative());
    }
}
