package dev.tokc.frontend.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokc.ir.Graph;
import dev.tokc.ir.Verifier;
import dev.tokc.ir.testing.SharedData;
import dev.tokc.ir.text.IrParser;
import dev.tokc.ir.text.IrPrinter;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * ONNX's backend node tests through the importer and the reference interpreter: one dynamic test per case folder of
 * {@code ../shared/onnx-node-tests}. A case passes when {@link OnnxConformance#run} says so, except the cases listed in
 * {@code onnx-conformance-known-failures.txt}, which must fail: a listed case that passes fails its test too, so the
 * list stays exactly the set of cases that cannot pass yet.
 */
class OnnxConformanceTest {
    private static final String KNOWN_FAILURES = "/onnx-conformance-known-failures.txt";

    @TestFactory
    Stream<DynamicTest> everyNodeTestCase() {
        Path root = SharedData.root().resolve("onnx-node-tests");
        Assumptions.assumeTrue(Files.isDirectory(root), "../shared/onnx-node-tests not found; skipping");
        List<Path> cases = OnnxNodeTestCase.caseDirectories(root);
        Map<String, String> known = knownFailures();
        List<String> names = cases.stream().map(p -> p.getFileName().toString()).toList();
        for (String k : known.keySet()) {
            assertTrue(names.contains(k), "known-failures list names " + k + ", which is not a case folder");
        }
        return cases.stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            OnnxConformance.Result r = OnnxConformance.run(dir);
            String why = known.get(r.caseName());
            if (why == null && !r.passed()) {
                fail(r.line());
            }
            if (why != null && r.passed()) {
                fail(r.caseName() + " passes but is listed as a known failure (" + why + "): remove it from "
                        + KNOWN_FAILURES);
            }
        }));
    }

    /**
     * What the importer makes of every case is valid IR: the verifier finds nothing and the text form round-trips
     * ({@code parse(print(g))} is {@code g}). Cases whose import fails are the known failures' business.
     */
    @TestFactory
    Stream<DynamicTest> everyImportedCaseVerifiesAndRoundTrips() {
        Path root = SharedData.root().resolve("onnx-node-tests");
        Assumptions.assumeTrue(Files.isDirectory(root), "../shared/onnx-node-tests not found; skipping");
        Map<String, String> known = knownFailures();
        return OnnxNodeTestCase.caseDirectories(root).stream()
                .filter(dir -> !known.containsKey(dir.getFileName().toString()))
                .map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
                    OnnxNodeTestCase c = OnnxNodeTestCase.load(dir);
                    Graph g = OnnxConformance.importFor(c, c.dataSets().getFirst()).graph();
                    assertEquals(List.of(), Verifier.verify(g));
                    String text = IrPrinter.print(g);
                    assertEquals(g, IrParser.parseGraph(text, c.name() + ".ir"), text);
                }));
    }

    /** Case name to reason, from the resource: one {@code case_name: reason} per line, '#' comments. */
    static Map<String, String> knownFailures() {
        Map<String, String> out = new LinkedHashMap<>();
        try (var in = Objects.requireNonNull(OnnxConformanceTest.class.getResourceAsStream(KNOWN_FAILURES), KNOWN_FAILURES);
                var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                line = line.strip();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                int colon = line.indexOf(':');
                assertTrue(colon > 0, "known-failures line without 'case: reason': " + line);
                String name = line.substring(0, colon).strip();
                String reason = line.substring(colon + 1).strip();
                assertFalse(reason.isEmpty(), "known failure " + name + " has no reason");
                assertTrue(out.put(name, reason) == null, "known failure " + name + " is listed twice");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    @Test
    void casesAcceptsACaseOrAFolderOfCases() {
        Path root = SharedData.root().resolve("onnx-node-tests");
        Assumptions.assumeTrue(Files.isDirectory(root), "../shared/onnx-node-tests not found; skipping");
        assertEquals(List.of(root.resolve("test_add")), OnnxConformance.cases(root.resolve("test_add")));
        List<OnnxConformance.Result> some = OnnxConformance.cases(root).stream().limit(3).map(OnnxConformance::run).toList();
        assertEquals("3 passed, 0 failed", OnnxConformance.summary(some));
        assertEquals("PASS test_add", OnnxConformance.run(root.resolve("test_add")).line());
        var missing = OnnxConformance.run(root.resolve("no_such_case"));
        assertFalse(missing.passed());
        assertTrue(missing.line().startsWith("FAIL no_such_case: load: "), missing.line());
    }

    @Test
    void closeFollowsAssertAllclose() {
        assertTrue(OnnxConformance.close(Double.NaN, Double.NaN));
        assertFalse(OnnxConformance.close(Double.NaN, 0));
        assertFalse(OnnxConformance.close(1, Double.NaN));
        assertTrue(OnnxConformance.close(Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY));
        assertFalse(OnnxConformance.close(Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY));
        assertFalse(OnnxConformance.close(Double.POSITIVE_INFINITY, 1e308));
        assertTrue(OnnxConformance.close(1000, 1000.9));
        assertFalse(OnnxConformance.close(1000, 1001.2));
        assertTrue(OnnxConformance.close(0, 1e-7));
        assertFalse(OnnxConformance.close(0, 2e-7));
    }

    @Test
    void mismatchNamesOutputIndexExpectedAndActual() {
        OnnxTensor expected = OnnxTensor.of("y", OnnxDataType.FLOAT, new long[] {3}, new float[] {1, 2, 3});
        var actual = dev.tokc.ir.Tensor.ofDoubles(dev.tokc.ir.DType.F32, new long[] {3}, new double[] {1, 2, 4});
        OnnxConformance.Mismatch m = OnnxConformance.compare("test_data_set_0", "y", expected, actual);
        assertEquals(new OnnxConformance.Mismatch("test_data_set_0", "y", 2, "3.0", "4.0"), m);
        assertEquals("FAIL c: output 'y'[2] (test_data_set_0): expected 3.0, actual 4.0",
                new OnnxConformance.Result("c", m).line());
        var wrongShape = dev.tokc.ir.Tensor.ofDoubles(dev.tokc.ir.DType.F32, new long[] {1, 3}, new double[] {1, 2, 3});
        assertEquals(-1, OnnxConformance.compare("s", "y", expected, wrongShape).index());
        var wrongType = dev.tokc.ir.Tensor.ofDoubles(dev.tokc.ir.DType.F64, new long[] {3}, new double[] {1, 2, 3});
        assertEquals("f32[3]", OnnxConformance.compare("s", "y", expected, wrongType).expected());
    }
}
