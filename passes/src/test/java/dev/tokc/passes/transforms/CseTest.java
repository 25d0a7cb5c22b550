package dev.tokc.passes.transforms;

import static dev.tokc.ir.DType.F32;
import static dev.tokc.passes.Ir.graph;
import static dev.tokc.passes.Ir.i64s;
import static dev.tokc.passes.Ir.named;
import static dev.tokc.passes.Ir.op;
import static dev.tokc.passes.Ir.param;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Add;
import dev.tokc.ir.PrimitiveOp.Exp;
import dev.tokc.ir.PrimitiveOp.MatMul;
import dev.tokc.ir.PrimitiveOp.Reshape;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TensorType;
import dev.tokc.ir.Verifier;
import dev.tokc.passes.PassContext;
import java.util.List;
import org.junit.jupiter.api.Test;

class CseTest {
    final Node x = param("x", F32, "batch", 4);
    final Node y = param("y", F32, "batch", 4);

    static Graph cse(Graph g, PassContext ctx) {
        Graph out = new Cse().run(g, ctx);
        Verifier.verifyOrThrow(out);
        return out;
    }

    @Test
    void mergesNodesThatDifferOnlyInNameAndKeepsTheFirst() {
        Node a = named("a", new Exp(), x);
        Node b = named("b", new Exp(), x);
        Node sum = named("s", new Add(), a, b);
        PassContext ctx = new PassContext("cse");
        Graph out = cse(graph(List.of(x), sum), ctx);
        Node s = out.outputs().getFirst();
        assertSame(a, s.input(0));
        assertSame(a, s.input(1));
        assertEquals(1, ctx.get("merged"));
    }

    @Test
    void mergingCascadesToUsers() {
        // Two weight references with different names, each reshaped: merging the weights makes the reshapes equal.
        TensorType t = TensorType.of(F32, 4, 4);
        Node w1 = Node.of(new SourceOp.Weight("w", t), List.of(), "w_a");
        Node w2 = Node.of(new SourceOp.Weight("w", t), List.of(), "w_b");
        Node r1 = named("r1", new Reshape(false), w1, i64s(16));
        Node r2 = named("r2", new Reshape(false), w2, i64s(16));
        PassContext ctx = new PassContext("cse");
        Graph out = cse(graph(List.of(x), op(new Add(), r1, r2)), ctx);
        Node add = out.outputs().getFirst();
        assertSame(add.input(0), add.input(1));
        assertEquals("r1", add.input(0).name());
        assertEquals(2, ctx.get("merged"));
    }

    @Test
    void dontMergeDifferentInputsOrAttributes() {
        Node w = param("w", F32, 4, 4);
        Node a = named("a", new Exp(), x);
        Node b = named("b", new Exp(), y);
        Node m1 = named("m1", new MatMul(), a, w);
        Node m2 = named("m2", new MatMul(), b, w);
        Graph g = graph(List.of(x, y, w), m1, m2);
        PassContext ctx = new PassContext("cse");
        assertSame(g, cse(g, ctx));
        assertEquals(0, ctx.get("merged"));
        assertNotSame(m1, m2);
    }

    @Test
    void dontMergeGraphInputs() {
        Node x2 = param("x2", F32, "batch", 4);
        Graph g = graph(List.of(x, x2), op(new Add(), x, x2));
        assertSame(g, cse(g, new PassContext("cse")));
    }
}
