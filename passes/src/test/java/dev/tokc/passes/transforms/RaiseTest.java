package dev.tokc.passes.transforms;

import static dev.tokc.ir.DType.F32;
import static dev.tokc.passes.Ir.graph;
import static dev.tokc.passes.Ir.op;
import static dev.tokc.passes.Ir.param;
import static dev.tokc.passes.Ir.scalar;
import static dev.tokc.passes.Ir.weight;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp.Silu;
import dev.tokc.ir.ModelOp.Swiglu;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.MatMul;
import dev.tokc.ir.PrimitiveOp.Mul;
import dev.tokc.ir.PrimitiveOp.Sigmoid;
import dev.tokc.ir.Verifier;
import dev.tokc.passes.PassContext;
import dev.tokc.passes.PassRegistry;
import dev.tokc.passes.rewrite.RewriteDriver;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RaiseTest {
    final Node x = param("x", F32, "batch", 64);

    @Test
    void countsEveryModelOpAndTheRuleThatRaisedIt() {
        Node gate = op(new MatMul(), x, weight("gate", F32, 64, 128));
        Node up = op(new MatMul(), x, weight("up", F32, 64, 128));
        Node silu = op(new Mul(), gate, op(new Sigmoid(), gate));
        Graph g = graph(List.of(x), op(new Mul(), silu, up));
        PassContext ctx = new PassContext("raise", RewriteDriver.Options.STRICT);
        Graph out = new Raise().run(g, ctx);
        Verifier.verifyOrThrow(out);
        assertEquals(2, ctx.get("linear"));
        assertEquals(1, ctx.get("silu"));
        assertEquals(1, ctx.get("swiglu"));
        assertEquals(0, ctx.get("attention"));
        assertTrue(ctx.report().startsWith("rmsNorm=0 layerNorm=0 rope=0 attention=0 silu=1 swiglu=1 gelu=0 linear=2"), ctx.report());
        Node root = out.outputs().getFirst();
        assertTrue(root.op() instanceof Swiglu, root.toString());
        assertFalse(out.nodes().stream().anyMatch(n -> n.op() instanceof Silu));
    }

    @Test
    void leavesAGraphWithoutPatternsAlone() {
        Graph g = graph(List.of(x), op(new Mul(), x, scalar(F32, 3)));
        PassContext ctx = new PassContext("raise", RewriteDriver.Options.STRICT);
        assertEquals(g, new Raise().run(g, ctx));
    }

    @Test
    void ruleNamesAreDistinctAndEveryRaisingRuleHasACounter() {
        Set<String> names = new HashSet<>();
        for (var set : Raise.SETS.values()) {
            for (String n : set.names()) {
                assertTrue(names.add(n), "rule " + n + " appears twice");
                assertTrue(Raise.isRaiseRule(n));
            }
        }
        assertEquals(null, Raise.counterOf("mulOne"));
        assertEquals("rmsNorm", Raise.counterOf("rmsNormDivSq"));
        assertEquals("gelu", Raise.counterOf("geluTanh"));
        assertTrue(PassRegistry.standard().contains("raise"));
    }
}
