package dev.tokc.ir.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.DType;
import dev.tokc.ir.FloatFormats;
import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.ir.OpNames;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.Verifier;
import dev.tokc.ir.testing.RandomGraphs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.IntToDoubleFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The text form's contract, on random graphs covering every op: {@code parse(print(g))} is {@code g} (the same
 * interned nodes), printing is stable ({@code print(parse(text)) == text}), and comments change nothing.
 */
class RoundTripTest {
    private static final int GRAPHS = 150;

    @Test
    void everyOpHasARecipe() {
        assertEquals(new TreeSet<>(OpNames.all().keySet()), RandomGraphs.recipeOps(),
                "RandomGraphs needs a recipe for every op (and none for ops that no longer exist)");
    }

    @Test
    void randomGraphsRoundTrip() {
        Set<String> applied = new TreeSet<>();
        Set<DType> literalTypes = EnumSet.noneOf(DType.class);
        for (long s = 0; s < GRAPHS; s++) {
            long seed = s;
            // Small graphs for variety, and every tenth one large enough to apply every op.
            int size = seed % 10 == 0 ? 2 * RandomGraphs.recipeCount() : 1 + (int) (seed % 17);
            Graph g = RandomGraphs.graph(seed, size);
            assertEquals(List.of(), Verifier.verify(g), "seed " + seed + " made an invalid graph");
            String text = IrPrinter.print(g);
            Graph back = IrParser.parseGraph(text, "random-" + seed + ".ir");
            assertEquals(g, back, () -> "seed " + seed + " did not round-trip:\n" + text);
            assertEquals(text, IrPrinter.print(back), "seed " + seed + " printed differently after parsing");
            applied.addAll(RandomGraphs.opsIn(g));
            g.nodes().forEach(n -> {
                if (n.op() instanceof SourceOp.Constant c) {
                    literalTypes.add(c.value().dtype());
                }
            });
        }
        assertEquals(new TreeSet<>(OpNames.all().keySet()), applied, "ops never generated");
        assertEquals(EnumSet.allOf(DType.class), literalTypes, "dtypes never seen in a constant");
    }

    @Test
    void randomGraphsCanBeLimitedToSomeOps() {
        Graph g = RandomGraphs.graph(11, 40, Set.of("add", "mat_mul", "softmax"));
        Set<String> allowed = Set.of("add", "mat_mul", "softmax", "param", "weight", "constant");
        assertTrue(allowed.containsAll(RandomGraphs.opsIn(g)), RandomGraphs.opsIn(g)::toString);
        assertEquals(g, IrParser.parseGraph(IrPrinter.print(g), "limited.ir"));
    }

    @Test
    void aFileHoldsASequenceOfGraphs() {
        List<Graph> graphs = new ArrayList<>();
        for (long seed = 1000; seed < 1005; seed++) {
            graphs.add(RandomGraphs.graph(seed, 12));
        }
        String text = IrPrinter.print(graphs);
        assertEquals(graphs, IrParser.parse(text, "many.ir"));
        assertEquals(List.of(), IrParser.parse("// nothing but a comment\n", "empty.ir"));
    }

    @Test
    void largeConstantsOfEveryDtypePrintInFull() {
        for (DType d : DType.values()) {
            Tensor t = Tensor.generate(d, new long[] {64, 64},
                    i -> i % 7 == 0 ? Double.NaN : Math.sinh(i % 40 - 20) * 1e3);
            Node c = Node.of(new SourceOp.Constant(t), List.of(), null);
            Graph g = new Graph("big", List.of(), List.of(c));
            String text = IrPrinter.print(g);
            assertEquals(g, IrParser.parseGraph(text, "big.ir"), d.textName());
            assertEquals(text, IrPrinter.print(IrParser.parseGraph(text, "big.ir")));
        }
    }

    @Test
    void everyCodeOfTheNarrowFloatsRoundTrips() {
        Map<DType, IntToDoubleFunction> decoders = Map.of(
                DType.FP8E4M3, FloatFormats::decodeE4M3, DType.FP8E5M2, FloatFormats::decodeE5M2,
                DType.FP8E4M3FNUZ, FloatFormats::decodeE4M3Fnuz, DType.FP8E5M2FNUZ, FloatFormats::decodeE5M2Fnuz,
                DType.FP8E8M0, FloatFormats::decodeE8M0, DType.FP4E2M1, FloatFormats::decodeE2M1);
        for (var e : decoders.entrySet()) {
            int codes = 1 << e.getKey().bits();
            Tensor t = Tensor.generate(e.getKey(), new long[] {codes}, i -> e.getValue().applyAsDouble((int) i));
            for (int i = 0; i < codes; i++) {
                double v = e.getValue().applyAsDouble(i);
                assertTrue(Double.compare(v, t.doubles()[i]) == 0 || Double.isNaN(v), e.getKey() + " code " + i + " is held exactly");
            }
            Graph g = new Graph("codes", List.of(), List.of(Node.of(new SourceOp.Constant(t), List.of(), null)));
            String text = IrPrinter.print(g);
            assertEquals(g, IrParser.parseGraph(text, "codes.ir"), e.getKey().textName());
            assertEquals(text, IrPrinter.print(IrParser.parseGraph(text, "codes.ir")));
        }
    }

    @Test
    void readsFiles(@TempDir Path dir) throws IOException {
        Graph g = RandomGraphs.graph(3, 20);
        Path file = Files.writeString(dir.resolve("program.ir"), IrPrinter.print(g));
        assertEquals(List.of(g), IrParser.parse(file));
        Files.writeString(file, "graph @g() -> () {\n  oops\n}\n");
        IrSyntaxException e = assertThrows(IrSyntaxException.class, () -> IrParser.parse(file));
        assertEquals(file + ":2:3", e.fileName() + ":" + e.line() + ":" + e.column());
    }

    @Test
    void commentsAreIgnored() {
        Graph g = RandomGraphs.graph(7, RandomGraphs.recipeCount());
        StringBuilder annotated = new StringBuilder("// RUN: tokc ir-opt %s\n");
        for (String line : IrPrinter.print(g).split("\n")) {
            annotated.append("// CHECK: ").append(line).append('\n').append(line).append(" // trailing note\n");
        }
        annotated.append("// -----\n");
        assertSame(g.outputs().getFirst(), IrParser.parseGraph(annotated.toString(), "golden.ir").outputs().getFirst());
        assertEquals(g, IrParser.parseGraph(annotated.toString(), "golden.ir"));
    }
}
