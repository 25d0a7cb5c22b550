package dev.tokc.passes.transforms;

import static dev.tokc.ir.DType.F32;
import static dev.tokc.ir.DType.I64;
import static dev.tokc.passes.Ir.dims;
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
import dev.tokc.ir.PrimitiveOp.Concat;
import dev.tokc.ir.PrimitiveOp.Gather;
import dev.tokc.ir.PrimitiveOp.Mul;
import dev.tokc.ir.PrimitiveOp.Reshape;
import dev.tokc.ir.PrimitiveOp.ShapeOf;
import dev.tokc.ir.PrimitiveOp.Unsqueeze;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.Verifier;
import dev.tokc.passes.PassContext;
import java.util.List;
import org.junit.jupiter.api.Test;

class ShapeInferTest {
    final Node x = param("x", F32, "batch", "seq", 192);

    Graph run(Graph g, PassContext ctx) {
        Graph out = new ShapeInfer().run(g, ctx);
        Verifier.verifyOrThrow(out);
        return out;
    }

    @Test
    void reshapeTargetFromShapeArithmeticBecomesDims() {
        // The exporter's soup: concat(gather(shape(x), 0), gather(shape(x), 1), [6, 32]) as the reshape target.
        Node shape = op(new ShapeOf(0, 3), x);
        Node b = op(new Unsqueeze(List.of(0L)), op(new Gather(0), shape, scalar(I64, 0)));
        Node s = op(new Unsqueeze(List.of(0L)), op(new Gather(0), shape, scalar(I64, 1)));
        Node target = named("target", new Concat(0), b, s, i64s(6, 32));
        Node r = named("r", new Reshape(false), x, target);
        PassContext ctx = new PassContext("shape-infer");
        Graph out = run(graph(List.of(x), r), ctx);
        Node t = out.outputs().getFirst().input(1);
        assertEquals(new SourceOp.Dims(List.of(dims("batch", "seq", 6, 32))), t.op());
        assertEquals("target", t.name());
        assertEquals(1, ctx.get("shapesResolved"), "only the surviving target counts, not its dead operands");
        assertTrue(out.nodes().stream().noneMatch(n -> n.op() instanceof ShapeOf), "the shape soup is gone");
        assertEquals(r.type(), out.outputs().getFirst().type());
    }

    @Test
    void staticShapesBecomeConstants() {
        Node w = param("w", F32, 2, 3);
        Node n = op(new Mul(), op(new ShapeOf(0, 2), w), i64s(2, 2));
        Node r = op(new Reshape(false), x, op(new Concat(0), i64s(-1), op(new ShapeOf(2, 3), x)));
        Graph out = run(graph(List.of(x, w), n, r), new PassContext("shape-infer"));
        assertEquals(new SourceOp.Constant(Tensor.vector(I64, 4, 6)), out.outputs().get(0).op());
        assertEquals(new SourceOp.Constant(Tensor.vector(I64, -1, 192)), out.outputs().get(1).input(1).op());
    }

    @Test
    void scalarsResolveToScalarConstants() {
        Node n = op(new Gather(0), op(new ShapeOf(0, 3), x), scalar(I64, 2));
        Graph out = run(graph(List.of(x), n), new PassContext("shape-infer"));
        assertEquals(new SourceOp.Constant(Tensor.scalar(I64, 192)), out.outputs().getFirst().op());
    }

    @Test
    void dontResolveSymbolicScalars() {
        // No op holds a symbolic scalar (dims is a vector): gather(shape(x), 0) = batch stays a gather, of the
        // resolved shape vector.
        Node n = op(new Gather(0), op(new ShapeOf(0, 3), x), scalar(I64, 0));
        PassContext ctx = new PassContext("shape-infer");
        Graph out = run(graph(List.of(x), n), ctx);
        Node g = out.outputs().getFirst();
        assertEquals(new Gather(0), g.op());
        assertEquals(new SourceOp.Dims(List.of(dims("batch", "seq", 192))), g.input(0).op());
        assertEquals(1, ctx.get("shapesResolved"));
    }

    @Test
    void dontResolveSymbolsNoInputBinds() {
        // x2's dims are polynomials: 'n' alone is no input's dim, so a dims node could not be evaluated.
        Node x2 = Node.of(new SourceOp.Param("x2", dev.tokc.ir.TensorType.of(F32, dims("n").clone()[0].times(2))), List.of(), "x2");
        Node s = op(new ShapeOf(0, 1), x2);
        Graph g = graph(List.of(x2), s);
        Graph out = run(g, new PassContext("shape-infer"));
        assertSame(g, out);
    }

    @Test
    void dontTouchFloatValues() {
        Node f = op(new Mul(), x, scalar(F32, 2));
        Graph g = graph(List.of(x), f);
        assertSame(g, run(g, new PassContext("shape-infer")));
        assertEquals(DType.F32, f.dtype());
    }
}
