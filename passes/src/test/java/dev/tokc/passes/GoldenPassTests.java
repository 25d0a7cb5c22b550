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
    static final String IR_OPT = "tokc ir-opt %s";

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
        Pipeline pipeline = pipelineOf(c.runLines().getFirst().command(), where);
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

    /**
     * The pipeline of a {@code tokc ir-opt %s [--passes=a,b | --passes a,b] [--verify-each]} command: the named
     * passes, or the standard pipeline without {@code --passes}. Tests always verify after each pass and fail on
     * non-convergence.
     */
    static Pipeline pipelineOf(String command, String where) {
        String cmd = command.strip();
        if (!cmd.startsWith(IR_OPT)) {
            fail(where + ": unsupported RUN line '" + cmd + "'; expected '" + IR_OPT + " [--passes=a,b] [--verify-each]'");
        }
        List<String> args = new ArrayList<>(List.of(cmd.substring(IR_OPT.length()).strip().split("\\s+")));
        args.removeIf(String::isEmpty);
        Pipeline pipeline = Pipeline.standard();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.startsWith("--passes=")) {
                pipeline = Pipeline.parse(a.substring("--passes=".length()), PassRegistry.standard());
            } else if (a.equals("--passes") && i + 1 < args.size()) {
                pipeline = Pipeline.parse(args.get(++i), PassRegistry.standard());
            } else if (!a.equals("--verify-each")) {
                fail(where + ": unsupported option '" + a + "' in RUN line '" + cmd + "'");
            }
        }
        return pipeline.verifyEach(true).failOnNonConvergence(true);
    }

    @Test
    void runLinesNameThePipeline() {
        assertEquals(List.of("cse", "dce"), pipelineOf("tokc ir-opt %s --passes=cse,dce", "t").passNames());
        assertEquals(List.of("cse"), pipelineOf(" tokc ir-opt %s --verify-each --passes cse", "t").passNames());
        assertEquals(Pipeline.standard().passNames(), pipelineOf("tokc ir-opt %s", "t").passNames());
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
