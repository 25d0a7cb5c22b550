package dev.tokc.passes.transforms;

import static dev.tokc.ir.DType.F32;
import static dev.tokc.ir.DType.I32;
import static dev.tokc.ir.DType.I64;
import static dev.tokc.passes.Ir.dimsNode;
import static dev.tokc.passes.Ir.graph;
import static dev.tokc.passes.Ir.i64s;
import static dev.tokc.passes.Ir.named;
import static dev.tokc.passes.Ir.op;
import static dev.tokc.passes.Ir.param;
import static dev.tokc.passes.Ir.scalar;
import static dev.tokc.passes.Ir.weight;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Add;
import dev.tokc.ir.PrimitiveOp.Cast;
import dev.tokc.ir.PrimitiveOp.Concat;
import dev.tokc.ir.PrimitiveOp.ConstantOfShape;
import dev.tokc.ir.PrimitiveOp.Exp;
import dev.tokc.ir.PrimitiveOp.Mul;
import dev.tokc.ir.PrimitiveOp.Range;
import dev.tokc.ir.PrimitiveOp.Reshape;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.Verifier;
import dev.tokc.passes.PassContext;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ConstantFoldTest {
    final Node x = param("x", F32, "batch", 4);

    static Graph fold(Graph g, PassContext ctx) {
        Graph out = new ConstantFold().run(g, ctx);
        Verifier.verifyOrThrow(out);
        return out;
    }

    @Test
    void foldsIntegerArithmeticKeepingTheName() {
        Node n = named("n", new Mul(), op(new Add(), i64s(1, 2), i64s(3, 4)), scalar(I64, 10));
        PassContext ctx = new PassContext("constant-fold");
        Graph out = fold(graph(List.of(x), n), ctx);
        Node c = out.outputs().getFirst();
        assertEquals(new SourceOp.Constant(Tensor.vector(I64, 40, 60)), c.op());
        assertEquals("n", c.name());
        assertEquals(2, ctx.get("folded"));
    }

    @Test
    void foldsConcatOfConstantsAndStaticDims() {
        Node n = op(new Concat(0), i64s(2), dimsNode(3, 4));
        Graph out = fold(graph(List.of(x), n), new PassContext("constant-fold"));
        assertEquals(new SourceOp.Constant(Tensor.vector(I64, 2, 3, 4)), out.outputs().getFirst().op());
    }

    @Test
    void castWrapsToTheTargetWidth() {
        Node n = op(new Cast(dev.tokc.ir.DType.I8, false), i64s(300, -1));
        Graph out = fold(graph(List.of(x), n), new PassContext("constant-fold"));
        assertEquals(new SourceOp.Constant(Tensor.vector(dev.tokc.ir.DType.I8, 44, -1)), out.outputs().getFirst().op());
    }

    @Test
    void foldsFloatMathRoundedToTheDtype() {
        // exp(1) in f32 is the f32 nearest e, not the double.
        Node n = named("e", new Exp(), scalar(F32, 1));
        Graph out = fold(graph(List.of(x), n), new PassContext("constant-fold"));
        assertEquals(new SourceOp.Constant(Tensor.scalar(F32, (float) Math.E)), out.outputs().getFirst().op());
    }

    @Test
    void dontFoldWhatTheInterpreterRejects() {
        // An integer division by zero is reported at run time, not folded (nor thrown by the compiler).
        Node n = op(new dev.tokc.ir.PrimitiveOp.Div(), i64s(1), i64s(0));
        PassContext ctx = new PassContext("constant-fold");
        Graph g = graph(List.of(x), n);
        assertSame(g, fold(g, ctx));
        assertEquals(1, ctx.get("unevaluated"));
    }

    @Test
    void dontFoldWeights() {
        Node w = weight("w", I64, 2);
        Node n = op(new Add(), w, i64s(1, 1));
        Graph g = graph(List.of(x), n);
        assertSame(g, fold(g, new PassContext("constant-fold")));
    }

    @Test
    void dontFoldNodesWithNonConstantInputs() {
        Node n = op(new Reshape(false), x, i64s(-1));
        Graph g = graph(List.of(x), n);
        assertSame(g, fold(g, new PassContext("constant-fold")));
    }

    @Test
    void dontFoldLargeResults() {
        // range(0, 5000, 1) has static shape [5000]: above the size limit, it stays a range.
        Node n = op(new Range(), scalar(I64, 0), scalar(I64, 5000), scalar(I64, 1));
        PassContext ctx = new PassContext("constant-fold");
        Graph g = graph(List.of(x), n);
        assertSame(g, fold(g, ctx));
        assertEquals(1, ctx.get("tooLarge"));
        Node big = op(new ConstantOfShape(Tensor.scalar(I32, 0)), i64s(64, 64));
        Graph bigGraph = graph(List.of(x), big);
        assertSame(bigGraph, fold(bigGraph, new PassContext("constant-fold")));
    }

    @Test
    void unevaluatedNodesAreCounted() {
        Node n = op(new Exp(), scalar(F32, 1));
        PassContext ctx = new PassContext("constant-fold");
        Graph g = graph(List.of(x), n);
        Graph out = new ConstantFold(1024, (node, in) -> Optional.empty()).run(g, ctx);
        assertSame(g, out);
        assertEquals(1, ctx.get("unevaluated"));
    }

    @Test
    void evaluatorsChainAndAreChecked() {
        Node n = op(new Exp(), scalar(F32, 0));
        ConstantFold.Evaluator none = (node, in) -> Optional.empty();
        ConstantFold.Evaluator one = (node, in) -> Optional.of(Tensor.scalar(F32, 1));
        Graph out = new ConstantFold(1024, none.orElse(one)).run(graph(List.of(x), n), new PassContext("constant-fold"));
        assertEquals(new SourceOp.Constant(Tensor.scalar(F32, 1)), out.outputs().getFirst().op());
        ConstantFold.Evaluator wrongShape = (node, in) -> Optional.of(Tensor.vector(I64, 1));
        assertThrows(IllegalStateException.class,
                () -> new ConstantFold(1024, wrongShape).run(graph(List.of(x), n), new PassContext("constant-fold")));
    }
}
