package dev.tokc.passes.filecheck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.passes.filecheck.GoldenFile.Case;
import dev.tokc.passes.filecheck.GoldenFile.ExpectedDiagnostic;
import dev.tokc.passes.filecheck.GoldenFile.RunLine;
import dev.tokc.passes.filecheck.GoldenFile.Severity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GoldenFileTest {

    private static final String FILE = """
            // RUN: tokc ir-opt %s --passes=raise \\
            // RUN:   --verify-each
            // CHECK-LABEL: graph @rmsnorm_from_primitives
            // CHECK: rms_norm(%x, %w)
            // CHECK-NOT: reduce_mean
            graph @rmsnorm_from_primitives(%x: f32[4], %w: f32[4]) -> (f32[4]) {
              %m = reduce_mean(%x) : f32[1]  // CHECK: unused trailing directive
              return %m
            }
            // -----
            // CHECK-LABEL: graph @dont_raise
            graph @dont_raise(%x: f32[4]) -> (f32[4]) {
              return %x
            }
            // -----
            // RUN: tokc ir-opt %s --verify-diagnostics
            graph @bad(%x: f32[4]) -> (f32[4]) {
              // expected-error@+1 {{unknown op 'frob'}}
              %y = frob(%x) : f32[4]
              %z = add(%y) : f32[4] // expected-error {{add takes 2 operands}}
              // expected-note@-2 {{defined here}}
              return %z
            }
            """;

    @Test
    void splitsCasesAtSeparators() {
        GoldenFile g = GoldenFile.parse("raise.ir", FILE);
        assertEquals("raise.ir", g.name());
        assertEquals(3, g.cases().size());
        assertEquals(List.of(1, 11, 16), g.cases().stream().map(Case::firstLine).toList());
        assertEquals(List.of(0, 1, 2), g.cases().stream().map(Case::index).toList());
    }

    @Test
    void runLinesJoinContinuationsAndAreInherited() {
        GoldenFile g = GoldenFile.parse("raise.ir", FILE);
        RunLine first = new RunLine(1, "tokc ir-opt %s --passes=raise --verify-each");
        assertEquals(List.of(first), g.cases().get(0).runLines());
        assertTrue(g.cases().get(0).ownRun());
        assertEquals(List.of(first), g.cases().get(1).runLines());
        assertFalse(g.cases().get(1).ownRun());
        assertEquals(List.of(new RunLine(16, "tokc ir-opt %s --verify-diagnostics")), g.cases().get(2).runLines());
    }

    @Test
    void inputHasDirectivesBlankedAndKeepsLineNumbers() {
        Case c = GoldenFile.parse("raise.ir", FILE).cases().getFirst();
        List<String> lines = c.input().lines().toList();
        assertEquals(9, lines.size());
        assertEquals(List.of("", "", "", "", ""), lines.subList(0, 5));
        assertEquals("graph @rmsnorm_from_primitives(%x: f32[4], %w: f32[4]) -> (f32[4]) {", lines.get(5));
        assertEquals("  %m = reduce_mean(%x) : f32[1]", lines.get(6));
        assertEquals(7, c.fileLine(7));
        assertFalse(c.input().contains("CHECK"));
        assertFalse(c.input().contains("RUN"));
    }

    @Test
    void expectedDiagnosticsResolveToAbsoluteLines() {
        Case c = GoldenFile.parse("raise.ir", FILE).cases().get(2);
        assertEquals(List.of(
                new ExpectedDiagnostic(Severity.ERROR, "unknown op 'frob'", 19, 4, 18),
                new ExpectedDiagnostic(Severity.ERROR, "add takes 2 operands", 20, 5, 20),
                new ExpectedDiagnostic(Severity.NOTE, "defined here", 19, 4, 21)), c.expected());
        List<String> input = c.input().lines().toList();
        assertEquals("  %y = frob(%x) : f32[4]", input.get(4 - 1));
        assertEquals("  %z = add(%y) : f32[4]", input.get(5 - 1));
        assertTrue(GoldenFile.parse("raise.ir", FILE).cases().get(0).expected().isEmpty());
    }

    @Test
    void checkLinesKeepTheirFileNumbers() {
        Case c = GoldenFile.parse("raise.ir", FILE).cases().getFirst();
        assertEquals(List.of(3, 4, 5, 7), c.checkLines().stream().map(SourceLine::number).toList());
        assertEquals("// CHECK-NOT: reduce_mean", c.checkLines().get(2).text());
        assertEquals(List.of(11), GoldenFile.parse("raise.ir", FILE).cases().get(1).checkLines().stream().map(SourceLine::number).toList());
    }

    @Test
    void casesRunTheirOwnChecks() {
        GoldenFile g = GoldenFile.parse("raise.ir", FILE);
        String optimised = """
                graph @rmsnorm_from_primitives(%x: f32[4], %w: f32[4]) -> (f32[4]) {
                  %0 = rms_norm(%x, %w) {eps = 1.0e-05} : f32[4]
                  return %0
                }
                """;
        // The trailing "// CHECK: unused trailing directive" on line 7 is a directive too, and fails.
        CheckResult r = g.cases().get(0).check(optimised);
        assertEquals(7, ((CheckResult.Failed) r).failure().checkLine().number(), r.diagnostic());
        assertTrue(g.cases().get(1).check("graph @dont_raise(%x: f32[4]) -> (f32[4]) {\n  return %x\n}\n").passed());
    }

    @Test
    void annotationOutsideItsCaseIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GoldenFile.parse("bad.ir", "x\n// -----\n// expected-error@-1 {{too far}}\n"));
        assertTrue(e.getMessage().contains("bad.ir:3"), e.getMessage());
    }

    @Test
    void unsupportedAnnotationFormsAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GoldenFile.parse("bad.ir", "x\n// expected-error@above {{no}}\n"));
        assertTrue(e.getMessage().contains("bad.ir:2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GoldenFile.parse("bad.ir", "x // expected-error {{a}} {{b}} x\n"));
        // Mentioning the words in a check is fine.
        assertEquals(1, GoldenFile.parse("ok.ir", "// CHECK: expected-error seen\n").cases().size());
    }

    @Test
    void danglingRunContinuationIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> GoldenFile.parse("bad.ir", "// RUN: a \\\ngraph\n"));
        assertThrows(IllegalArgumentException.class, () -> GoldenFile.parse("bad.ir", "// RUN: a \\\n"));
    }

    @Test
    void singleCaseAndTrailingSeparator() {
        GoldenFile one = GoldenFile.parse("one.ir", "// RUN: x\nbody\n");
        assertEquals(1, one.cases().size());
        assertEquals("\nbody\n", one.cases().getFirst().input());
        GoldenFile trailing = GoldenFile.parse("t.ir", "a\n// -----\n");
        assertEquals(2, trailing.cases().size());
        assertEquals(3, trailing.cases().get(1).firstLine());
        assertEquals("", trailing.cases().get(1).input());
    }

    @Test
    void loadsFromDisk(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("cse.ir");
        Files.writeString(p, FILE);
        assertEquals(GoldenFile.parse("cse.ir", FILE), GoldenFile.load(p));
    }
}
