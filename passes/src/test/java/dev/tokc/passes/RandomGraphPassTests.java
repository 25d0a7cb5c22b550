package dev.tokc.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.Graph;
import dev.tokc.ir.IrException;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.Verifier;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.ir.interp.WeightSource;
import dev.tokc.ir.testing.RandomGraphs;
import dev.tokc.ir.text.IrParser;
import dev.tokc.ir.text.IrPrinter;
import dev.tokc.passes.rewrite.RewriteDriver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every pass on random well-typed graphs that use every op ({@link RandomGraphs}): the result verifies, the rules
 * converge, the printed result parses back to the same graph, and where the reference interpreter can run the
 * graph on random inputs (no unknown dims, no runtime-only ops, in-range indices) the outputs are unchanged.
 */
class RandomGraphPassTests {
    /** Graphs with every op (too many runtime-only ops to interpret), checked for structure only. */
    static final int FULL_GRAPHS = 12;
    /** Graphs of a few ops, most of which the interpreter can run. */
    static final int SMALL_GRAPHS = 150;
    static final int SMALL_SIZE = 5;
    static final AtomicInteger INTERPRETED = new AtomicInteger();

    @TestFactory
    Stream<DynamicTest> passesOnRandomGraphs() {
        PassRegistry registry = PassRegistry.standard();
        List<DynamicTest> tests = new ArrayList<>();
        for (long seed = 0; seed < FULL_GRAPHS + SMALL_GRAPHS; seed++) {
            long s = seed;
            int size = seed < FULL_GRAPHS ? RandomGraphs.recipeCount() + (int) seed : SMALL_SIZE;
            for (String pass : registry.names()) {
                tests.add(DynamicTest.dynamicTest("seed " + s + " (" + size + " ops) | " + pass, () -> {
                    Graph g = RandomGraphs.graph(s, size);
                    Graph out = registry.create(pass).run(g, new PassContext(pass, RewriteDriver.Options.STRICT));
                    String where = "seed " + s + " after " + pass;
                    assertEquals(List.of(), Verifier.verify(out), where);
                    String text = IrPrinter.print(out);
                    assertEquals(out, IrParser.parseGraph(text, "random-" + s + ".ir"), where + ": round trip\n" + text);
                    if (interpretable(g)) {
                        INTERPRETED.incrementAndGet();
                        InterpreterEquivalenceTests.assertSameValues(where, g, out, registry.create(pass).exact());
                    }
                }));
            }
        }
        return tests.stream();
    }

    /** Whether the interpreter runs {@code g} on random inputs under the first symbol binding. */
    static boolean interpretable(Graph g) {
        try {
            Map<String, Long> bindings = InterpreterEquivalenceTests.bind(g, InterpreterEquivalenceTests.BINDINGS.getFirst());
            Map<String, Tensor> inputs = InterpreterEquivalenceTests.randomInputs(g, bindings, 0);
            Interpreter.run(g, inputs, InterpreterEquivalenceTests.randomWeights(0));
            return true;
        } catch (IrException | IllegalArgumentException | IllegalStateException | ArithmeticException e) {
            return false;
        }
    }

    @AfterAll
    static void reportCoverage() {
        // Most random graphs use runtime-only ops or unknown dims; enough of them must still run to mean something.
        assertTrue(INTERPRETED.get() >= 50, "only " + INTERPRETED.get() + " pass runs were compared with the interpreter");
    }
}
