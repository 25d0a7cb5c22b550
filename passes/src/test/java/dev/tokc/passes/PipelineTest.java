package dev.tokc.passes;

import static dev.tokc.ir.DType.F32;
import static dev.tokc.ir.DType.I64;
import static dev.tokc.passes.Ir.graph;
import static dev.tokc.passes.Ir.named;
import static dev.tokc.passes.Ir.op;
import static dev.tokc.passes.Ir.param;
import static dev.tokc.passes.Ir.scalar;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.Graph;
import dev.tokc.ir.IrException;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Concat;
import dev.tokc.ir.PrimitiveOp.Exp;
import dev.tokc.ir.PrimitiveOp.Mul;
import dev.tokc.ir.PrimitiveOp.Neg;
import dev.tokc.ir.PrimitiveOp.Reshape;
import dev.tokc.ir.PrimitiveOp.ShapeOf;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TensorType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PipelineTest {
    final Node x = param("x", F32, "batch", "seq", 8);

    /** A pass that returns a graph using a parameter it does not declare: invalid IR. */
    static final class BreakingPass implements Pass {
        @Override
        public String name() {
            return "break-it";
        }

        @Override
        public String summary() {
            return "makes the graph invalid (for testing verify-each)";
        }

        @Override
        public Graph run(Graph graph, PassContext ctx) {
            Node stray = Node.of(new SourceOp.Param("stray", TensorType.of(F32, 1)), List.of(), "stray");
            List<Node> outs = new ArrayList<>(graph.outputs());
            outs.add(stray);
            return graph.withOutputs(outs);
        }
    }

    @Test
    void standardPipelineRunsPhasesInOrderAndReportsCounters() {
        Node target = op(new Concat(0), op(new ShapeOf(0, 2), x), Ir.i64s(2, 4));
        Node r = named("r", new Reshape(false), op(new Mul(), x, scalar(F32, 1)), target);
        Pipeline.Result res = Pipeline.standard().verifyEach(true).failOnNonConvergence(true).run(graph(List.of(x), r));
        assertEquals(List.of("shape-infer", "constant-fold", "canonicalize", "cse", "dce"),
                res.runs().stream().map(Pipeline.PassRun::pass).toList().subList(0, 5));
        // No token ids and no attention: the step-program phase leaves the graph as it is and says why.
        assertEquals(1, res.counter("lower-to-paged-attention", "skipped"), res.report());
        assertEquals(1, res.counter("shape-infer", "shapesResolved"));
        assertEquals(1, res.counter("canonicalize", "mulOne"));
        assertTrue(res.report().contains("simplify/canonicalize: rewrites=1 mulOne=1"), res.report());
        assertEquals(new SourceOp.Dims(List.of(Ir.dims("batch", "seq", 2, 4))), res.graph().outputs().getFirst().input(1).op());
    }

    @Test
    void verifyEachNamesThePassThatBrokeTheGraph() {
        Pipeline p = Pipeline.of(Pipeline.Phase.of("test", "a canonicalize, then a pass that breaks the graph",
                new dev.tokc.passes.transforms.Canonicalize(), new BreakingPass())).verifyEach(true);
        IrException e = assertThrows(IrException.class, () -> p.run(graph(List.of(x), op(new Exp(), x))));
        assertTrue(e.getMessage().startsWith("verification failed after pass break-it (phase test)"), e.getMessage());
        assertTrue(e.getMessage().contains("stray"), e.getMessage());
        // Without verify-each the broken graph goes through.
        p.verifyEach(false).run(graph(List.of(x), op(new Exp(), x)));
    }

    @Test
    void dumpAfterPrintsTheGraphAfterThatPassOrPhase() {
        List<String> dumps = new ArrayList<>();
        Pipeline p = Pipeline.standard().withPrinter(g -> String.join(",", Ir.ops(g)))
                .dumpAfter("canonicalize", dumps::add).dumpAfter("cleanup", dumps::add);
        p.run(graph(List.of(x), op(new Neg(), op(new Neg(), op(new Exp(), x)))));
        assertEquals(List.of("// -----// IR dump after pass canonicalize //----- //\nexp",
                "// -----// IR dump after phase cleanup //----- //\nexp",
                "// -----// IR dump after pass canonicalize //----- //\nexp", // again in phase raise
                "// -----// IR dump after pass canonicalize //----- //\nexp"), dumps); // and in phase step-program
    }

    @Test
    void dumpAfterRejectsUnknownNamesListingTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Pipeline.standard().dumpAfter("frobnicate", s -> {}));
        assertTrue(e.getMessage().contains("passes: shape-infer, constant-fold, canonicalize, cse, dce"), e.getMessage());
        assertTrue(e.getMessage().contains("phases: simplify, cleanup"), e.getMessage());
    }

    @Test
    void dumpsUseTheTextFormByDefault() {
        List<String> dumps = new ArrayList<>();
        Pipeline.standard().dumpAfter("dce", dumps::add).run(graph("d", List.of(x), named("y", new Exp(), x)));
        assertEquals("""
                // -----// IR dump after pass dce //----- //
                graph @d(%x: f32[batch, seq, 8]) -> (f32[batch, seq, 8]) {
                  %y = exp(%x) : f32[batch, seq, 8]
                  return %y
                }
                """, dumps.getFirst());
    }

    @Test
    void passListFromTheCommandLine() {
        Pipeline p = Pipeline.parse("cse, canonicalize,dce", PassRegistry.standard());
        assertEquals(List.of("cse", "canonicalize", "dce"), p.passNames());
        Graph g = graph(List.of(x), op(new Exp(), x));
        assertSame(g, p.run(g).graph());
    }

    @Test
    void unknownPassNamesListTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PassRegistry.standard().parse("canonicalize,frobnicate"));
        assertTrue(e.getMessage().startsWith("unknown pass 'frobnicate'; known passes: canonicalize, constant-fold, "
                + "shape-infer, cse, dce, "), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PassRegistry.standard().parse("cse,,dce"));
    }

    @Test
    void registryIsExtensibleAndRejectsDuplicates() {
        PassRegistry r = PassRegistry.standard().with(BreakingPass::new);
        assertTrue(r.contains("break-it"));
        assertTrue(!PassRegistry.standard().contains("break-it"));
        assertThrows(IllegalArgumentException.class, () -> r.with(BreakingPass::new));
        assertTrue(r.describe().contains("cse - merges nodes"), r.describe());
    }

    @Test
    void failingPassesAreNamed() {
        Pass boom = new Pass() {
            public String name() {
                return "boom";
            }

            public String summary() {
                return "throws";
            }

            public Graph run(Graph graph, PassContext ctx) {
                throw new IllegalArgumentException("kaput");
            }
        };
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Pipeline.of(List.of(boom)).run(graph(List.of(x), op(new Exp(), x))));
        assertEquals("pass boom (phase passes) failed on @g: kaput", e.getMessage());
    }

    @Test
    void standardPipelinePrintsItsPhases() {
        String s = Pipeline.standard().toString();
        assertTrue(s.startsWith("simplify: shape-infer, constant-fold, canonicalize  // "), s);
        assertEquals(I64, Ir.i64s(1).dtype());
    }
}
