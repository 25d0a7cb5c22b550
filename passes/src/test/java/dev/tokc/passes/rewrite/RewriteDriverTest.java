package dev.tokc.passes.rewrite;

import static dev.tokc.ir.DType.F32;
import static dev.tokc.passes.Ir.graph;
import static dev.tokc.passes.Ir.named;
import static dev.tokc.passes.Ir.op;
import static dev.tokc.passes.Ir.param;
import static dev.tokc.passes.rewrite.Pattern.var;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Abs;
import dev.tokc.ir.PrimitiveOp.Add;
import dev.tokc.ir.PrimitiveOp.Exp;
import dev.tokc.ir.PrimitiveOp.Neg;
import dev.tokc.ir.PrimitiveOp.ReduceSum;
import dev.tokc.ir.PrimitiveOp.Relu;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RewriteDriverTest {
    final Node x = param("x", F32, 4);
    final Node y = param("y", F32, 4);

    static final Rule NEG_NEG = new Rule("negNeg", Pattern.op(Neg.class, Pattern.op(Neg.class, var("x"))), m -> m.node("x")); // -(-x) -> x
    static final Rule ABS_NEG = new Rule("absNeg", Pattern.op(Abs.class, Pattern.op(Neg.class, var("x"))), m -> Node.of(new Abs(), m.node("x"))); // |-x| -> |x|

    @Test
    void rewritesToAFixedPointAcrossNestedChains() {
        // -(-(-(-x))) needs two firings on the same chain.
        Node n = op(new Neg(), op(new Neg(), op(new Neg(), op(new Neg(), x))));
        RewriteDriver.Result r = RewriteDriver.run(graph(List.of(x), n), RuleSet.of(NEG_NEG), RewriteDriver.Options.STRICT);
        assertSame(x, r.graph().outputs().getFirst());
        assertEquals(Map.of("negNeg", 2), r.firings());
        assertTrue(r.converged());
    }

    @Test
    void unchangedGraphIsReturnedAsIs() {
        Graph g = graph(List.of(x), op(new Exp(), x));
        RewriteDriver.Result r = RewriteDriver.run(g, RuleSet.of(NEG_NEG), RewriteDriver.Options.STRICT);
        assertSame(g, r.graph());
        assertEquals(1, r.iterations());
        assertEquals(0, r.total());
    }

    @Test
    void freshReplacementsInheritTheReplacedName() {
        Node abs = named("a", new Abs(), named("n", new Neg(), x));
        Graph out = RewriteDriver.run(graph(List.of(x), abs), RuleSet.of(ABS_NEG), RewriteDriver.Options.STRICT).graph();
        Node a = out.outputs().getFirst();
        assertEquals("a", a.name());
        assertSame(x, a.input(0));
    }

    @Test
    void existingReplacementsKeepTheirOwnName() {
        Node xe = named("e", new Exp(), x);
        Node n = named("n2", new Neg(), named("n1", new Neg(), xe));
        Node sum = named("s", new Add(), n, xe);
        Graph out = RewriteDriver.run(graph(List.of(x), sum), RuleSet.of(NEG_NEG), RewriteDriver.Options.STRICT).graph();
        Node s = out.outputs().getFirst();
        assertSame(xe, s.input(0));
        assertSame(xe, s.input(1));
    }

    @Test
    void ruleSetsComposeInOrder() {
        RuleSet a = RuleSet.of(NEG_NEG);
        RuleSet b = RuleSet.of(ABS_NEG);
        assertEquals(List.of("negNeg", "absNeg"), a.plus(b).names());
        assertThrows(IllegalArgumentException.class, () -> a.plus(a), "rule names are counters: no duplicates");
        assertEquals(List.of(NEG_NEG), a.plus(b).candidates(new Neg()));
    }

    @Test
    void ruleThatChangesTheTypeIsReported() {
        Rule bad = new Rule("sumAll", Pattern.op(Relu.class, var("x")), m -> Node.of(new ReduceSum(List.of(), false), m.node("x")));
        Graph g = graph(List.of(x), op(new Relu(), x));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> RewriteDriver.run(g, RuleSet.of(bad), RewriteDriver.Options.STRICT));
        assertTrue(e.getMessage().contains("rule sumAll changed the type"), e.getMessage());
    }

    @Test
    void nonConvergenceNamesTheRulesThatKeptFiring() {
        // Two rules undoing each other: a + b -> b + a (on every add) never reaches a fixed point.
        Rule swap = new Rule("swapAdd", Pattern.op(Add.class, var("a"), var("b")).where(o -> true),
                m -> Node.of(new Add(), m.root().input(1), m.root().input(0)));
        Graph g = graph(List.of(x, y), op(new Add(), x, y));
        NonConvergenceException e = assertThrows(NonConvergenceException.class,
                () -> RewriteDriver.run(g, RuleSet.of(swap), new RewriteDriver.Options(3, true)));
        assertTrue(e.getMessage().contains("swapAdd"), e.getMessage());
        assertTrue(e.stillFiring().containsKey("swapAdd"));

        RewriteDriver.Result lenient = RewriteDriver.run(g, RuleSet.of(swap), new RewriteDriver.Options(3, false));
        assertFalse(lenient.converged());
        assertEquals(3, lenient.iterations());
    }

    @Test
    void badRuleNamesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new Rule("x*1", Pattern.any(), m -> null));
    }
}
