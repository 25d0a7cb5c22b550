package dev.tokc.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokc.ir.Graph;
import dev.tokc.ir.Verifier;
import dev.tokc.ir.text.IrParser;
import dev.tokc.ir.text.IrSyntaxException;
import dev.tokc.passes.filecheck.GoldenFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Invalid IR in the MLIR {@code invalid.mlir} style: each case carries {@code // expected-error@+N {{message}}}
 * and must fail either while parsing (the parser infers types, so type errors surface with {@code line:col}) or in
 * the {@link Verifier}, whose messages name the offending value; the value's definition line must be the
 * annotated one.
 */
class VerifierDiagnosticsTest {
    private static final Pattern VALUE = Pattern.compile("^%([A-Za-z0-9_.$]+) = ");

    @TestFactory
    Stream<DynamicTest> invalidIrIsReportedOnTheAnnotatedLine() throws Exception {
        Path file = Path.of("src/test/resources/verifier/invalid.ir");
        GoldenFile golden = GoldenFile.parse(file.toString(), Files.readString(file));
        return golden.cases().stream().map(c -> DynamicTest.dynamicTest("case " + c.index() + " (line " + c.firstLine() + ")", () -> {
            assertEquals(1, c.expected().size(), "each case has one expected error");
            GoldenFile.ExpectedDiagnostic want = c.expected().get(0);
            List<Graph> graphs;
            try {
                graphs = IrParser.parse(c.input(), file.toString());
            } catch (IrSyntaxException e) {
                assertEquals(want.inputLine(), e.line(), "error on the wrong line: " + e.getMessage());
                assertTrue(e.getMessage().contains(want.message()), "'" + want.message() + "' not in: " + e.getMessage());
                return;
            }
            List<String> problems = Verifier.verify(graphs.get(0));
            assertFalse(problems.isEmpty(), "the case parsed and verified, but expected: " + want.message());
            String problem = problems.stream().filter(p -> p.contains(want.message())).findFirst()
                    .orElseGet(() -> fail("'" + want.message() + "' not among " + problems));
            Matcher m = VALUE.matcher(problem);
            assertTrue(m.find(), "verifier message does not name a value: " + problem);
            assertEquals(want.inputLine(), definitionLine(c.input(), m.group(1)), "reported value defined elsewhere: " + problem);
        }));
    }

    private static int definitionLine(String input, String value) {
        String[] lines = input.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].strip().startsWith("%" + value + " = ")) {
                return i + 1;
            }
        }
        return -1;
    }
}
