package dev.tokc.passes.transforms;

import static dev.tokc.ir.DType.F32;
import static dev.tokc.passes.Ir.graph;
import static dev.tokc.passes.Ir.op;
import static dev.tokc.passes.Ir.param;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Exp;
import dev.tokc.passes.PassContext;
import java.util.List;
import org.junit.jupiter.api.Test;

class DceTest {
    @Test
    void keepsUnusedInputsAndReportsNothingRemovedForAGraph() {
        Node x = param("x", F32, 4);
        Node unused = param("unused", F32, 8);
        Graph g = graph(List.of(x, unused), op(new Exp(), x));
        PassContext ctx = new PassContext("dce");
        Graph out = new Dce().run(g, ctx);
        assertSame(g, out);
        assertEquals(List.of(x, unused), out.inputs());
        assertEquals(0, ctx.get("removed"));
    }

    @Test
    void nodesNotReachableFromOutputsAreNotInTheGraph() {
        Node x = param("x", F32, 4);
        Node dead = op(new Exp(), op(new Exp(), x));
        Graph g = graph(List.of(x), op(new Exp(), x));
        Graph out = new Dce().run(g, new PassContext("dce"));
        assertEquals(false, out.nodes().contains(dead));
        assertEquals(2, out.nodes().size());
    }
}
