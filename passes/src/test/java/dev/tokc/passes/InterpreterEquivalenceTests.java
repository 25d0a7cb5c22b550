package dev.tokc.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Graph;
import dev.tokc.ir.IrException;
import dev.tokc.ir.Node;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import dev.tokc.ir.KvCacheSpec;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.interp.ExecutionContext;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.ir.interp.ReferenceKvCache;
import dev.tokc.ir.interp.WeightSource;
import dev.tokc.ir.text.IrParser;
import dev.tokc.passes.filecheck.GoldenFile;
import dev.tokc.passes.rewrite.RewriteDriver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every pass preserves values: for every graph of the golden files and every registered pass, the reference
 * interpreter gives the same outputs before and after the pass, on random inputs and weights, for a few bindings of
 * the shape symbols. "The same" is exact (the rules are exact in IEEE arithmetic), except that {@code -0.0} equals
 * {@code 0.0} ({@code x+0 -> x}) and NaN equals NaN. Passes that declare themselves inexact ({@link Pass#exact()}:
 * fusions that keep an intermediate unrounded, as the fused kernel does) are compared within a float tolerance of
 * their dtype instead. Graphs that write the paged KV cache run with a fresh {@link ReferenceKvCache} each, and the
 * caches' contents after the run must agree as well as the outputs. A full forward that became a step program is
 * compared by {@link StepPrograms} (same logits for every token, fed as a ragged batch over a paged cache).
 */
class InterpreterEquivalenceTests {
    /** Symbol bindings to try, in order; a graph whose input fails under one (a reshape that needs seq = 1) tries the next. */
    static final List<long[]> BINDINGS = List.of(new long[] {2, 3, 4, 5}, new long[] {3, 1, 2, 2}, new long[] {1, 1, 1, 1});
    static final int SEEDS = 3;

    record Sample(String where, Graph graph) {}

    static List<Sample> goldenGraphs() {
        List<Sample> out = new ArrayList<>();
        for (Path p : GoldenPassTests.goldenFiles()) {
            String rel = GoldenPassTests.root().relativize(p).toString();
            for (GoldenFile.Case c : GoldenFile.load(p).cases()) {
                for (Graph g : IrParser.parse(c.input(), rel)) {
                    out.add(new Sample(rel + ":" + c.firstLine() + " @" + g.name(), g));
                }
            }
        }
        return out;
    }

    @TestFactory
    Stream<DynamicTest> everyPassPreservesValues() {
        PassRegistry registry = PassRegistry.standard();
        List<DynamicTest> tests = new ArrayList<>();
        for (Sample s : goldenGraphs()) {
            for (String pass : registry.names()) {
                tests.add(DynamicTest.dynamicTest(s.where() + " | " + pass, () -> {
                    Pass p = registry.create(pass);
                    Graph after = p.run(s.graph(), new PassContext(pass, RewriteDriver.Options.STRICT));
                    assertSameValues(s.where() + " after " + pass, s.graph(), after, p.exact());
                }));
            }
            tests.add(DynamicTest.dynamicTest(s.where() + " | standard pipeline", () -> {
                Pipeline standard = Pipeline.standard();
                boolean exact = standard.phases().stream().flatMap(ph -> ph.passes().stream()).allMatch(Pass::exact);
                Graph after = standard.verifyEach(true).failOnNonConvergence(true).run(s.graph()).graph();
                assertSameValues(s.where() + " after the standard pipeline", s.graph(), after, exact);
            }));
        }
        return tests.stream();
    }

    /** Runs both graphs on the same random inputs and weights; fails naming the output and element that differ. */
    static void assertSameValues(String where, Graph before, Graph after) {
        assertSameValues(where, before, after, true);
    }

    /** Like {@link #assertSameValues(String, Graph, Graph)}; {@code exact} false: within {@link #tolerance}. */
    static void assertSameValues(String where, Graph before, Graph after, boolean exact) {
        if (StepPrograms.isStepProgram(after) && !StepPrograms.isStepProgram(before)) {
            // lower-to-paged-attention changes the signature: compare the step program over a paged cache instead.
            for (int seed = 0; seed < SEEDS; seed++) {
                StepPrograms.assertMatchesForward(where, before, after, seed);
            }
            return;
        }
        int compared = 0;
        for (long[] values : BINDINGS) {
            Map<String, Long> bindings = bind(before, values);
            for (int seed = 0; seed < SEEDS; seed++) {
                Map<String, Tensor> inputs = randomInputs(before, bindings, seed);
                WeightSource weights = randomWeights(seed);
                List<Tensor> expected;
                ExecutionContext beforeCtx = context(before);
                try {
                    expected = Interpreter.run(before, inputs, weights, beforeCtx);
                } catch (IrException e) {
                    break; // these symbol values do not fit the graph (e.g. a reshape that needs seq = 1)
                }
                ExecutionContext afterCtx = context(before);
                List<Tensor> actual = Interpreter.run(after, inputs, weights, afterCtx);
                assertEquals(expected.size(), actual.size(), where);
                for (int i = 0; i < expected.size(); i++) {
                    String at = where + ", output " + i + ", bindings " + bindings + ", seed " + seed;
                    if (exact) {
                        assertClose(at, expected.get(i), actual.get(i));
                    } else {
                        assertWithinTolerance(at, expected.get(i), actual.get(i));
                    }
                }
                if (beforeCtx.kvCache() != null) {
                    assertSameCache(where + ", kv cache, bindings " + bindings + ", seed " + seed, beforeCtx.kvCache(),
                            afterCtx.kvCache(), exact);
                }
                compared++;
            }
        }
        assertTrue(compared > 0, where + ": no symbol binding gave a runnable input");
    }

    /** Relative tolerance of an inexact rewrite per dtype: a few roundings of the dtype, scaled by max(1, |x|). */
    static double tolerance(DType d) {
        return switch (d) {
            case F64 -> 1e-12;
            case F32 -> 1e-4; // raise: a model op computes in double and rounds once, the soup after every op
            case F16 -> 4e-3;
            default -> 3e-2;
        };
    }

    static void assertWithinTolerance(String where, Tensor expected, Tensor actual) {
        assertEquals(expected.dtype(), actual.dtype(), where);
        assertEquals(Arrays.toString(expected.shape()), Arrays.toString(actual.shape()), where);
        if (!expected.isFloat()) {
            assertClose(where, expected, actual);
            return;
        }
        double tol = tolerance(expected.dtype());
        for (int i = 0; i < expected.size(); i++) {
            double e = expected.getDouble(i);
            double a = actual.getDouble(i);
            boolean ok = e == a || (Double.isNaN(e) && Double.isNaN(a)) || Math.abs(e - a) <= tol * Math.max(1, Math.abs(e));
            if (!ok) {
                throw new AssertionError(where + ": element " + i + " is " + a + ", expected " + e + " (tolerance " + tol + ")");
            }
        }
    }

    /** A fresh KV cache for graphs that read or write one (the spec of their first cache op), else none. */
    static ExecutionContext context(Graph g) {
        for (Node n : g.nodes()) {
            KvCacheSpec spec = switch (n.op()) {
                case TargetOp.KvWrite w -> w.spec();
                case TargetOp.KvWriteRope w -> w.spec();
                case TargetOp.PagedAttention p -> p.spec();
                default -> null;
            };
            if (spec != null) {
                // Random slots are below 300; negative ones mark padding and are not written.
                return ExecutionContext.withKvCache(new ReferenceKvCache(spec, Math.ceilDiv(300, spec.blockSize()) + 1));
            }
        }
        return ExecutionContext.EMPTY;
    }

    static void assertSameCache(String where, ReferenceKvCache expected, ReferenceKvCache actual, boolean exact) {
        KvCacheSpec s = expected.spec();
        double tol = exact ? 0 : tolerance(s.dtype());
        for (int l = 0; l < s.layers(); l++) {
            for (int b = 0; b < expected.numBlocks(); b++) {
                for (int o = 0; o < s.blockSize(); o++) {
                    for (int h = 0; h < s.kvHeads(); h++) {
                        for (int d = 0; d < s.headDim(); d++) {
                            double[] e = {expected.key(l, b, o, h, d), expected.value(l, b, o, h, d)};
                            double[] a = {actual.key(l, b, o, h, d), actual.value(l, b, o, h, d)};
                            for (int i = 0; i < 2; i++) {
                                boolean ok = e[i] == a[i] || (Double.isNaN(e[i]) && Double.isNaN(a[i]))
                                        || Math.abs(e[i] - a[i]) <= tol * Math.max(1, Math.abs(e[i]));
                                if (!ok) {
                                    throw new AssertionError(where + ": " + (i == 0 ? "key" : "value") + " of layer " + l
                                            + " block " + b + " offset " + o + " head " + h + " dim " + d + " is " + a[i]
                                            + ", expected " + e[i]);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static void assertClose(String where, Tensor expected, Tensor actual) {
        assertEquals(expected.dtype(), actual.dtype(), where);
        assertEquals(Arrays.toString(expected.shape()), Arrays.toString(actual.shape()), where);
        for (int i = 0; i < expected.size(); i++) {
            double e = expected.getDouble(i);
            double a = actual.getDouble(i);
            boolean same = e == a || (Double.isNaN(e) && Double.isNaN(a));
            if (!same) {
                throw new AssertionError(where + ": element " + i + " is " + a + ", expected " + e);
            }
        }
    }

    /** Symbols of the inputs' shapes, sorted, bound to {@code values} in turn (cycling). */
    static Map<String, Long> bind(Graph g, long[] values) {
        TreeSet<String> symbols = new TreeSet<>();
        for (Node p : g.inputs()) {
            for (Dim d : p.shape().dims()) {
                symbols.addAll(d.symbols());
            }
        }
        Map<String, Long> out = new LinkedHashMap<>();
        int i = 0;
        for (String s : symbols) {
            out.put(s, values[i++ % values.length]);
        }
        return out;
    }

    static Map<String, Tensor> randomInputs(Graph g, Map<String, Long> bindings, int seed) {
        Map<String, Tensor> out = new HashMap<>();
        SplittableRandom rnd = new SplittableRandom(1000 + seed);
        for (Node p : g.inputs()) {
            SourceOp.Param param = (SourceOp.Param) p.op();
            long rows = embeddingRows(g, p);
            out.put(param.paramName(), rows > 0
                    ? Tensor.generate(p.dtype(), p.shape().evaluate(bindings), i -> rnd.nextLong(rows))
                    : random(p.type(), p.shape().evaluate(bindings), rnd));
        }
        return out;
    }

    /** Rows of the smallest embedding table that {@code p} indexes (token ids must be in range), else 0. */
    static long embeddingRows(Graph g, Node p) {
        return g.nodes().stream().filter(n -> n.op() instanceof dev.tokc.ir.ModelOp.Embedding && n.input(1) == p)
                .mapToLong(n -> n.input(0).shape().dim(0).value()).min().orElse(0);
    }

    /** Weights by key, random but deterministic per key and seed, so both runs see the same tensors. */
    static WeightSource randomWeights(int seed) {
        return (key, type) -> random(type, type.shape().evaluate(Map.of()), new SplittableRandom(key.hashCode() * 31L + seed));
    }

    /** Floats in [-2, 2) (with an exact zero now and then), integers in [-300, 300), bools half true. */
    static Tensor random(TensorType type, long[] shape, SplittableRandom rnd) {
        DType d = type.dtype();
        if (d.isBool()) {
            return Tensor.generate(d, shape, i -> rnd.nextBoolean() ? 1 : 0);
        }
        if (d.isFloat()) {
            return Tensor.generate(d, shape, i -> rnd.nextInt(10) == 0 ? 0.0 : rnd.nextDouble(-2, 2));
        }
        return Tensor.generate(d, shape, i -> rnd.nextLong(-300, 300));
    }
}
