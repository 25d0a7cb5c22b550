package dev.tokc.ir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class NodeAndShapeTest {
    static final Dim BATCH = Dim.sym("batch");
    static final Dim SEQ = Dim.sym("seq");

    @Test
    void nodesAreHashConsed() {
        Node x = Node.of(new SourceOp.Param("x", TensorType.of(DType.F32, BATCH, SEQ, Dim.of(192))), List.of(), "x");
        Node a = Node.of(new PrimitiveOp.Neg(), x);
        Node b = Node.of(new PrimitiveOp.Neg(), x);
        assertSame(a, b);
        assertSame(a, a.withName(null));
        assertTrue(a != a.withName("n"));
    }

    @Test
    void dimsAreCanonicalPolynomials() {
        assertEquals(SEQ.plus(Dim.sym("ctx")), Dim.sym("ctx").plus(SEQ));
        assertEquals("2*batch*seq+1", BATCH.times(SEQ).times(2).plus(1).toString());
        assertEquals("seq-1", SEQ.plus(-1).toString());
        assertEquals(BATCH, BATCH.times(SEQ).exactDiv(SEQ).orElseThrow());
        assertTrue(BATCH.times(3).exactDiv(Dim.of(2)).isEmpty());
    }

    @Test
    void substituteReplacesSymbolsInPolynomials() {
        Dim tokens = Dim.sym("tokens");
        java.util.Map<String, Dim> m = java.util.Map.of("batch", Dim.of(1), "seq", tokens);
        assertEquals(tokens.times(2).plus(1), BATCH.times(SEQ).times(2).plus(1).substitute(m));
        assertEquals(Dim.sym("ctx").plus(tokens), Dim.sym("ctx").plus(SEQ).substitute(m));
        assertEquals(Dim.of(192), Dim.of(192).substitute(m));
        assertTrue(Dim.UNKNOWN.substitute(m).isUnknown());
    }

    @Test
    void reshapeKeepsSymbolsThroughShapeArithmetic() {
        Node x = Node.of(new SourceOp.Param("x", TensorType.of(DType.F32, BATCH, SEQ, Dim.of(192))), List.of(), "x");
        Node shape = Node.of(new PrimitiveOp.ShapeOf(0, 2), x);
        Node tail = Node.of(new SourceOp.Constant(Tensor.vector(DType.I64, 6, -1)));
        Node target = Node.of(new PrimitiveOp.Concat(0), shape, tail);
        Node r = Node.of(new PrimitiveOp.Reshape(false), x, target);
        assertEquals(TensorType.of(DType.F32, BATCH, SEQ, Dim.of(6), Dim.of(32)), r.type());
    }

    @Test
    void typeErrorsNameTheOp() {
        Node a = Node.of(new SourceOp.Param("a", TensorType.of(DType.F32, 2, 3)), List.of(), "a");
        Node b = Node.of(new SourceOp.Param("b", TensorType.of(DType.F32, 4, 5)), List.of(), "b");
        IrException e = assertThrows(IrException.class, () -> Node.of(new PrimitiveOp.MatMul(), List.of(a, b), "c"));
        assertTrue(e.getMessage().startsWith("mat_mul %c: contraction dims differ"), e.getMessage());
    }

    @Test
    void everyOpHasAUniqueName() {
        assertTrue(OpNames.all().containsKey("rms_norm"));
        assertTrue(OpNames.all().containsKey("gather_nd"));
        assertTrue(OpNames.all().containsKey("paged_attention"));
        assertTrue(OpNames.all().size() > 70, "ops: " + OpNames.all().keySet());
    }
}
