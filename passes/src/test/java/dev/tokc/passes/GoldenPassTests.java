package dev.tokc.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokc.ir.Graph;
import dev.tokc.ir.text.IrParser;
import dev.tokc.ir.text.IrPrinter;
import dev.tokc.passes.filecheck.CheckResult;
import dev.tokc.passes.filecheck.GoldenFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs every golden file under {@code src/test/resources/passes/<pass>/*.ir}, case by case: parse the case's
 * input, run the pipeline of its {@code // RUN: tokc ir-opt %s --passes=a,b} line with verify-each and strict
 * convergence, print the result and FileCheck it against the case's {@code CHECK} lines. Each case also checks
 * that the printed output parses back to the same graphs ({@code parse(print(g)) == g} for every pass output).
 * A failure names the file, the case's first line and the graph.
 */
class GoldenPassTests {
    static final java.util.regex.Pattern IR_OPT =
            java.util.regex.Pattern.compile("^\\s*tokc ir-opt %s\\s+--passes[= ](\\S+)\\s*$");

    static Path root() {
        try {
            return Path.of(GoldenPassTests.class.getResource("/passes").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<Path> goldenFiles() {
        try (Stream<Path> files = Files.walk(root())) {
            return files.filter(p -> p.toString().endsWith(".ir")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @TestFactory
    Stream<DynamicNode> goldenCases() {
        return goldenFiles().stream().map(path -> {
            String rel = root().relativize(path).toString();
            GoldenFile file = GoldenFile.load(path);
            List<DynamicNode> cases = new ArrayList<>();
            for (GoldenFile.Case c : file.cases()) {
                String where = rel + ":" + c.firstLine() + " (case " + (c.index() + 1) + ")";
                cases.add(DynamicTest.dynamicTest(where, () -> runCase(rel, c, where)));
            }
            return DynamicContainer.dynamicContainer(rel, cases.stream());
        });
    }

    static void runCase(String fileName, GoldenFile.Case c, String where) {
        if (c.runLines().size() != 1) {
            fail(where + ": expected exactly one RUN line, got " + c.runLines().size());
        }
        String command = c.runLines().getFirst().command();
        Matcher m = IR_OPT.matcher(command);
        if (!m.matches()) {
            fail(where + ": unsupported RUN line '" + command.strip() + "'; expected 'tokc ir-opt %s --passes=a,b'");
        }
        Pipeline pipeline = Pipeline.parse(m.group(1), PassRegistry.standard())
                .verifyEach(true).failOnNonConvergence(true);
        List<Graph> inputs = IrParser.parse(c.input(), fileName);
        assertFalse(inputs.isEmpty(), where + ": the case has no graph");
        List<Graph> outputs = new ArrayList<>();
        for (Graph g : inputs) {
            try {
                outputs.add(pipeline.run(g).graph());
            } catch (RuntimeException e) {
                throw new AssertionError(where + ": pipeline failed on @" + g.name() + ": " + e.getMessage(), e);
            }
        }
        String printed = IrPrinter.print(outputs);
        CheckResult result = c.check(printed);
        if (!result.passed()) {
            fail(where + ": FileCheck failed\n" + result.diagnostic() + "\n--- output ---\n" + printed);
        }
        assertEquals(outputs, IrParser.parse(printed, fileName + " (printed)"),
                where + ": the printed pass output does not parse back to the same graph\n" + printed);
    }

    @Test
    void everyPassHasGoldenFilesWithANegativeCase() throws IOException {
        for (String pass : PassRegistry.standard().names()) {
            Path dir = root().resolve(pass);
            assertFalse(!Files.isDirectory(dir), "no golden files for pass " + pass + " under " + dir);
            boolean negative;
            try (Stream<Path> files = Files.list(dir)) {
                negative = files.filter(p -> p.toString().endsWith(".ir"))
                        .anyMatch(p -> read(p).contains("graph @dont_"));
            }
            assertFalse(!negative, "pass " + pass + " has no dont_... case where it must not fire");
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
