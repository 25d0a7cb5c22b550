package dev.tokc.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokc.ir.Graph;
import dev.tokc.ir.QuantType;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.ir.interp.WeightSource;
import dev.tokc.ir.text.IrParser;
import dev.tokc.ir.text.IrPrinter;
import dev.tokc.passes.filecheck.CheckResult;
import dev.tokc.passes.filecheck.GoldenFile;
import dev.tokc.passes.rewrite.RewriteDriver;
import dev.tokc.passes.transforms.QuantizeWeights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Golden files of {@code quantize-weights} (under {@code src/test/resources/quant-passes}, outside the standard
 * golden tree: the pass is not in the standard registry, whose every-pass-preserves-values test it could not pass by
 * design). RUN lines take {@code --quant=TYPE} [{@code --quant-lm-head}] as {@code tokc compile} does. Each case is
 * also run through the reference interpreter: the quantized graph must stay within the format's error of the float
 * graph on random weights, and quantizing must have changed the values (the pass is not a no-op).
 */
class QuantizeWeightsTest {
    private static final String RUN = "tokc ir-opt %s --passes=quantize-weights";

    static Path root() {
        try {
            return Path.of(QuantizeWeightsTest.class.getResource("/quant-passes").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @TestFactory
    Stream<DynamicTest> goldenCases() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        try (Stream<Path> files = Files.list(root())) {
            for (Path p : files.filter(f -> f.toString().endsWith(".ir")).sorted().toList()) {
                String rel = root().relativize(p).toString();
                for (GoldenFile.Case c : GoldenFile.load(p).cases()) {
                    String where = rel + ":" + c.firstLine() + " (case " + (c.index() + 1) + ")";
                    tests.add(DynamicTest.dynamicTest(where, () -> runCase(rel, c, where)));
                }
            }
        }
        assertFalse(tests.isEmpty(), "no golden files under " + root());
        return tests.stream();
    }

    private static void runCase(String file, GoldenFile.Case c, String where) {
        List<Graph> inputs = IrParser.parse(c.input(), file);
        List<Graph> outputs = new ArrayList<>();
        QuantizeWeights pass = null;
        for (Graph g : inputs) {
            pass = passOf(c.runLines().getFirst().command(), where, g);
            outputs.add(Pipeline.of(List.of(pass)).verifyEach(true).failOnNonConvergence(true).run(g).graph());
        }
        String printed = IrPrinter.print(outputs);
        CheckResult result = c.check(printed);
        if (!result.passed()) {
            fail(where + ": FileCheck failed\n" + result.diagnostic() + "\n--- output ---\n" + printed);
        }
        assertEquals(outputs, IrParser.parse(printed, file + " (printed)"), where + ": printed output does not parse back");
        for (int i = 0; i < inputs.size(); i++) {
            assertWithinQuantizationError(where, inputs.get(i), outputs.get(i), pass.options().type());
        }
    }

    /**
     * The pass of a RUN line: {@code tokc ir-opt %s --passes=quantize-weights --quant=T [--quant-lm-head | --lm-head=T]
     * [--uniform-scale=S] [--act-bits=B]}; {@code --uniform-scale} gives every named projection of {@code g} input
     * scales S (what calibration would compute per channel).
     */
    private static QuantizeWeights passOf(String command, String where, Graph g) {
        String cmd = command.strip();
        if (!cmd.startsWith(RUN)) {
            fail(where + ": RUN line must start with '" + RUN + "', got '" + cmd + "'");
        }
        QuantType type = QuantType.parse("int8");
        String lmHead = null;
        double uniform = 0;
        int bits = 0;
        for (String a : cmd.substring(RUN.length()).strip().split("\\s+")) {
            if (a.startsWith("--uniform-scale=")) {
                uniform = Double.parseDouble(a.substring("--uniform-scale=".length()));
                continue;
            }
            if (a.startsWith("--act-bits=")) {
                bits = Integer.parseInt(a.substring("--act-bits=".length()));
                continue;
            }
            if (a.startsWith("--quant=")) {
                type = QuantType.parse(a.substring("--quant=".length()));
            } else if (a.equals("--quant-lm-head")) {
                lmHead = "same";
            } else if (a.startsWith("--lm-head=")) {
                lmHead = a.substring("--lm-head=".length());
            } else if (!a.isEmpty()) {
                fail(where + ": unsupported option '" + a + "'");
            }
        }
        java.util.Map<String, double[]> scales = new java.util.HashMap<>();
        if (uniform > 0) {
            for (dev.tokc.ir.Node n : g.nodes()) {
                if (n.name() != null && (n.op() instanceof dev.tokc.ir.ModelOp.Linear || n.op() instanceof dev.tokc.ir.TargetOp.FusedLinear)) {
                    double[] s = new double[(int) n.input(0).shape().at(-1).value()];
                    java.util.Arrays.fill(s, uniform);
                    scales.put(n.name(), s);
                }
            }
        }
        QuantType head = lmHead == null ? null : lmHead.equals("same") ? type : QuantType.parse(lmHead);
        return new QuantizeWeights(new QuantizeWeights.Options(type, head, scales, bits));
    }

    /**
     * Outputs of {@code after} within the format's error of {@code before}'s, relative to the output's largest
     * magnitude; and different from them somewhere when the pass quantized anything (random weights are not on any
     * format's grid).
     */
    private static void assertWithinQuantizationError(String where, Graph before, Graph after, QuantType type) {
        double tol = switch (type.format()) {
            case INT8 -> 0.02;
            case FP8 -> 0.08;
            case INT4, NF4, W4A8 -> 0.25;
        };
        Map<String, Long> bindings = InterpreterEquivalenceTests.bind(before, new long[] {2, 3});
        Map<String, Tensor> inputs = InterpreterEquivalenceTests.randomInputs(before, bindings, 0);
        WeightSource weights = InterpreterEquivalenceTests.randomWeights(0);
        List<Tensor> expected = Interpreter.run(before, inputs, weights);
        List<Tensor> actual = Interpreter.run(after, inputs, weights);
        boolean differs = false;
        for (int o = 0; o < expected.size(); o++) {
            Tensor e = expected.get(o);
            Tensor a = actual.get(o);
            double scale = 1e-30;
            for (int i = 0; i < e.size(); i++) {
                scale = Math.max(scale, Math.abs(e.getDouble(i)));
            }
            for (int i = 0; i < e.size(); i++) {
                double err = Math.abs(e.getDouble(i) - a.getDouble(i));
                differs |= err > 0;
                assertTrue(err <= tol * scale, where + ": output " + o + " element " + i + " is " + a.getDouble(i)
                        + ", float graph " + e.getDouble(i) + " (tolerance " + tol + " x " + scale + ")");
            }
        }
        boolean quantized = IrPrinter.print(after).contains("quantize_weight(");
        assertEquals(quantized, differs, where + ": quantizing must change the values exactly when the pass fired");
    }
}
