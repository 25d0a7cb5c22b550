package dev.tokc.passes;

import static dev.tokc.ir.DType.F32;
import static dev.tokc.passes.Ir.graph;
import static dev.tokc.passes.Ir.named;
import static dev.tokc.passes.Ir.op;
import static dev.tokc.passes.Ir.param;
import static dev.tokc.passes.Ir.scalar;
import static dev.tokc.passes.Ir.weight;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp.Linear;
import dev.tokc.ir.ModelOp.RmsNorm;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Add;
import dev.tokc.ir.PrimitiveOp.Exp;
import dev.tokc.ir.PrimitiveOp.Mul;
import dev.tokc.ir.PrimitiveOp.Sub;
import java.util.List;
import org.junit.jupiter.api.Test;

class GraphComparisonTest {
    final Node x = param("x", F32, "batch", 8);
    final Node y = param("y", F32, "batch", 8);

    @Test
    void namesAndWeightKeysDoNotMatter() {
        Graph a = graph(List.of(x), named("out", new Linear(false), named("h", new Exp(), x), weight("model.q.weight", F32, 4, 8)));
        Graph b = graph(List.of(x), op(new Linear(false), op(new Exp(), x), weight("val_7", F32, 4, 8)));
        GraphComparison.Result r = GraphComparison.compare(a, b);
        assertTrue(r.equal(), r.report());
        assertEquals(List.of(new GraphComparison.WeightPair("model.q.weight", "val_7", false)), r.weights());
        assertFalse(GraphComparison.compare(a, b, new GraphComparison.Options(1e-6, true)).equal());
    }

    @Test
    void aWeightStoredTransposedMatchesTheOtherTransposeFlag() {
        Graph a = graph(List.of(x), op(new Linear(false), x, weight("w", F32, 4, 8)));
        Graph b = graph(List.of(x), op(new Linear(true), x, weight("wt", F32, 8, 4)));
        GraphComparison.Result r = GraphComparison.compare(a, b);
        assertTrue(r.equal(), r.report());
        assertEquals(List.of(new GraphComparison.WeightPair("w", "wt", true)), r.weights());
        // With a bias on one side only, they differ.
        Graph c = graph(List.of(x), op(new Linear(true), x, weight("wt", F32, 8, 4), weight("b", F32, 4)));
        assertFalse(GraphComparison.compare(a, c).equal());
    }

    @Test
    void commutativeOperandsMaySwapButOthersMayNot() {
        assertTrue(GraphComparison.compare(graph(List.of(x, y), op(new Add(), x, y)), graph(List.of(x, y), op(new Add(), y, x))).equal());
        GraphComparison.Result r = GraphComparison.compare(graph(List.of(x, y), op(new Sub(), x, y)), graph(List.of(x, y), op(new Sub(), y, x)));
        assertFalse(r.equal());
        assertTrue(r.report().contains("different parameters"), r.report());
    }

    @Test
    void attributesCompareToARelativeToleranceForF32Constants() {
        Node w = weight("w", F32, 8);
        Graph a = graph(List.of(x), op(new RmsNorm(1e-5, 0), x, w));
        Graph b = graph(List.of(x), op(new RmsNorm(9.999999747378752e-06, 0), x, w));
        assertTrue(GraphComparison.compare(a, b).equal());
        Graph c = graph(List.of(x), op(new RmsNorm(1e-6, 0), x, w));
        GraphComparison.Result r = GraphComparison.compare(a, c);
        assertFalse(r.equal());
        assertTrue(r.report().contains("attributes differ"), r.report());
        assertTrue(r.report().contains("rms_norm"), r.report());
    }

    @Test
    void reportsTheInnermostDifferingPairAndTheHistogram() {
        Graph a = graph(List.of(x), named("out", new Add(), named("e", new Exp(), x), scalar(F32, 1)));
        Graph b = graph(List.of(x), named("out", new Add(), named("m", new Mul(), x, x), scalar(F32, 1)));
        GraphComparison.Result r = GraphComparison.compare(a, b);
        assertFalse(r.equal());
        String report = r.report();
        assertTrue(report.contains("ops differ"), report);
        assertTrue(report.contains("left:  %e = exp(%x)"), report);
        assertTrue(report.contains("right: %m = mul(%x, %x)"), report);
        assertTrue(report.contains("op histogram: exp: 1 vs 0, mul: 0 vs 1"), report);
    }

    @Test
    void sharingMustCorrespond() {
        Node e1 = op(new Exp(), x);
        Node e2 = named("other", new Exp(), x);
        Graph shared = graph(List.of(x), op(new Add(), e1, e1));
        Graph twoCopies = graph(List.of(x), op(new Add(), e1, e2));
        assertFalse(GraphComparison.compare(shared, twoCopies).equal());
    }
}
