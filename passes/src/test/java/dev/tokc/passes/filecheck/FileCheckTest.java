package dev.tokc.passes.filecheck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.passes.filecheck.CheckResult.Failure;
import dev.tokc.passes.filecheck.CheckResult.Reason;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class FileCheckTest {

    private static final String GRAPH = """
            graph @rmsnorm(%x: f32[4, 8], %w: f32[8]) -> (f32[4, 8]) {
              %0 = rms_norm(%x, %w) {eps = 1.0e-05} : f32[4, 8]
              %1 = mul(%0, %0) : f32[4, 8]
              return %1
            }
            graph @other(%a: f32[2]) -> (f32[2]) {
              %0 = neg(%a) : f32[2]
              return %0
            }
            """;

    private static void passes(String checks, String output) {
        FileCheck.check(checks, output).orThrow();
    }

    private static Failure fails(Reason reason, String checks, String output) {
        CheckResult r = FileCheck.check(checks, output);
        Failure f = assertInstanceOf(CheckResult.Failed.class, r, "expected a failure, got: " + r.diagnostic()).failure();
        assertEquals(reason, f.reason(), f.diagnostic());
        return f;
    }

    @Nested
    class Plain {
        @Test
        void matchesSubstringsInOrder() {
            passes("""
                    // CHECK: graph @rmsnorm
                    // CHECK: rms_norm(%x, %w)
                    // CHECK: return %1
                    """, GRAPH);
        }

        @Test
        void failsWhenOrderIsWrong() {
            Failure f = fails(Reason.NO_MATCH, """
                    // CHECK: mul(%0, %0)
                    // CHECK: rms_norm
                    // CHECK: neg
                    """, GRAPH);
            assertEquals(2, f.checkLine().number());
            // rms_norm exists, but only before the cursor; scanning started on the mul line.
            assertEquals(3, f.scanStart().orElseThrow().number());
            assertTrue(f.detail().contains("it does occur earlier, on output line 2"), f.detail());
        }

        @Test
        void failsWhenAbsentAndProposesNearestLine() {
            Failure f = fails(Reason.NO_MATCH, "// CHECK: %1 = mull(%0, %0)\n", GRAPH);
            assertEquals(3, f.candidate().orElseThrow().number());
            String diag = f.diagnostic();
            assertTrue(diag.contains("check line 1: // CHECK: %1 = mull(%0, %0)"), diag);
            assertTrue(diag.contains("possible intended match (output line 3)"), diag);
            assertTrue(diag.contains("scanning from output line 1"), diag);
        }

        @Test
        void noCandidateWhenNothingLooksAlike() {
            Failure f = fails(Reason.NO_MATCH, "// CHECK: zzzzzzzzzzzzzz\n", GRAPH);
            assertTrue(f.candidate().isEmpty(), f.diagnostic());
        }

        @Test
        void whitespaceRunsMatchAnyRun() {
            passes("// CHECK: %0   =  rms_norm( %x, %w)\n", "  %0 = rms_norm(\t%x,    %w)\n".replace("rms_norm(\t", "rms_norm( "));
            passes("// CHECK:   a b   \n", "xx a \t  b yy\n");
            fails(Reason.NO_MATCH, "// CHECK: a b\n", "ab\n");
        }

        @Test
        void inlineRegex() {
            passes("// CHECK: %{{[0-9]+}} = mul({{.*}}) : f32[{{[0-9]}}, 8]\n", GRAPH);
            passes("// CHECK: eps = {{[0-9]\\.[0-9]e-[0-9]{2}}}\n", GRAPH);
            fails(Reason.NO_MATCH, "// CHECK: %{{[a-z]+}} = mul\n", GRAPH);
        }

        @Test
        void literalTextIsNotARegex() {
            passes("// CHECK: f32[4, 8]\n", GRAPH);
            fails(Reason.NO_MATCH, "// CHECK: f32.4\n", GRAPH);
        }

        @Test
        void regexDotDoesNotCrossLines() {
            fails(Reason.NO_MATCH, "// CHECK: rms_norm{{.*}}mul\n", GRAPH);
        }

        @Test
        void anchorsMeanLineStartAndEnd() {
            passes("// CHECK: {{^}}  return %1{{$}}\n", GRAPH);
            fails(Reason.NO_MATCH, "// CHECK: {{^}}return\n", GRAPH);
        }
    }

    @Nested
    class Next {
        @Test
        void onTheFollowingLine() {
            passes("""
                    // CHECK: rms_norm
                    // CHECK-NEXT: mul
                    // CHECK-NEXT: return %1
                    // CHECK-NEXT: }
                    """, GRAPH);
        }

        @Test
        void failsWhenOnALaterLine() {
            Failure f = fails(Reason.NOT_ON_NEXT_LINE, """
                    // CHECK: rms_norm
                    // CHECK-NEXT: return %1
                    """, GRAPH);
            assertEquals(4, f.candidate().orElseThrow().number());
            assertTrue(f.detail().contains("expected line 3"), f.detail());
            assertTrue(f.diagnostic().contains("found here (output line 4)"), f.diagnostic());
        }

        @Test
        void failsWhenOnTheSameLine() {
            Failure f = fails(Reason.NOT_ON_NEXT_LINE, """
                    // CHECK: rms_norm
                    // CHECK-NEXT: eps
                    """, GRAPH);
            assertTrue(f.detail().contains("same line"), f.detail());
        }

        @Test
        void cannotComeFirst() {
            Failure f = fails(Reason.MALFORMED_CHECK, "// CHECK-NEXT: graph\n", GRAPH);
            assertTrue(f.detail().contains("without a previous"), f.detail());
        }

        @Test
        void afterALabelIsRelativeToTheLabel() {
            passes("""
                    // CHECK-LABEL: graph @other
                    // CHECK-NEXT: neg(%a)
                    """, GRAPH);
            fails(Reason.NOT_ON_NEXT_LINE, """
                    // CHECK-LABEL: graph @other
                    // CHECK-NEXT: return
                    """, GRAPH);
        }
    }

    @Nested
    class Same {
        @Test
        void onTheSameLine() {
            passes("""
                    // CHECK: rms_norm
                    // CHECK-SAME: {eps = 1.0e-05}
                    // CHECK-SAME: : f32[4, 8]
                    """, GRAPH);
        }

        @Test
        void failsOnALaterLine() {
            Failure f = fails(Reason.NOT_ON_SAME_LINE, """
                    // CHECK: rms_norm
                    // CHECK-SAME: mul
                    """, GRAPH);
            assertEquals(3, f.candidate().orElseThrow().number());
        }

        @Test
        void continuesAfterThePreviousMatchOnly() {
            // "%x" occurs on the graph line, but before the match; the search starts after it, and finds none later.
            fails(Reason.NO_MATCH, """
                    // CHECK: rms_norm(%x
                    // CHECK-SAME: %x
                    """, GRAPH);
        }
    }

    @Nested
    class Not {
        @Test
        void holdsWhenAbsentBetweenMatches() {
            passes("""
                    // CHECK: rms_norm
                    // CHECK-NOT: reduce_mean
                    // CHECK: return
                    """, GRAPH);
        }

        @Test
        void failsWhenPresentBetweenMatches() {
            Failure f = fails(Reason.EXCLUDED_MATCH, """
                    // CHECK: rms_norm
                    // CHECK-NOT: mul
                    // CHECK: return
                    """, GRAPH);
            assertEquals(2, f.checkLine().number());
            assertEquals(3, f.candidate().orElseThrow().number());
            assertTrue(f.diagnostic().contains("forbidden match (output line 3)"), f.diagnostic());
        }

        @Test
        void onlyTheRangeBetweenCounts() {
            // mul occurs, but before the first match; neg occurs, but after the second.
            passes("""
                    // CHECK: mul
                    // CHECK-NOT: mul
                    // CHECK-NOT: neg
                    // CHECK: return %1
                    """, GRAPH);
        }

        @Test
        void atTheEndCoversTheRest() {
            fails(Reason.EXCLUDED_MATCH, """
                    // CHECK: return %1
                    // CHECK-NOT: neg
                    """, GRAPH);
        }

        @Test
        void atTheStartCoversTheBeginning() {
            fails(Reason.EXCLUDED_MATCH, """
                    // CHECK-NOT: rms_norm
                    // CHECK: mul
                    """, GRAPH);
            passes("""
                    // CHECK-NOT: rms_norm
                    // CHECK: graph @rmsnorm
                    """, GRAPH);
        }

        @Test
        void withAVariable() {
            passes("""
                    // CHECK: %[[R:[0-9]+]] = rms_norm
                    // CHECK-NOT: neg(%[[R]])
                    // CHECK: return
                    """, GRAPH);
            fails(Reason.EXCLUDED_MATCH, """
                    // CHECK: %[[R:[0-9]+]] = rms_norm
                    // CHECK-NOT: mul(%[[R]]
                    // CHECK: return
                    """, GRAPH);
        }

        @Test
        void cannotDefineVariables() {
            fails(Reason.MALFORMED_CHECK, "// CHECK-NOT: [[X:mul]]\n", GRAPH);
        }
    }

    @Nested
    class Label {
        @Test
        void confinesChecksToTheirBlock() {
            passes("""
                    // CHECK-LABEL: graph @rmsnorm
                    // CHECK: return %1
                    // CHECK-LABEL: graph @other
                    // CHECK: neg
                    // CHECK: return %0
                    """, GRAPH);
        }

        @Test
        void aCheckCannotReachIntoTheNextBlock() {
            Failure f = fails(Reason.NO_MATCH, """
                    // CHECK-LABEL: graph @rmsnorm
                    // CHECK: neg
                    // CHECK-LABEL: graph @other
                    """, GRAPH);
            assertEquals(2, f.checkLine().number());
            assertTrue(f.detail().contains("label block"), f.detail());
        }

        @Test
        void aNotCannotSeeTheNextBlock() {
            passes("""
                    // CHECK-LABEL: graph @rmsnorm
                    // CHECK-NOT: neg
                    // CHECK-LABEL: graph @other
                    """, GRAPH);
        }

        @Test
        void checksBeforeTheFirstLabelStayBeforeIt() {
            fails(Reason.NO_MATCH, """
                    // CHECK: neg
                    // CHECK-LABEL: graph @other
                    """, GRAPH);
        }

        @Test
        void labelsMustAppearInOrder() {
            Failure f = fails(Reason.LABEL_NOT_FOUND, """
                    // CHECK-LABEL: graph @other
                    // CHECK-LABEL: graph @rmsnorm
                    """, GRAPH);
            assertEquals(2, f.checkLine().number());
            assertTrue(f.detail().contains("earlier, on output line 1"), f.detail());
        }

        @Test
        void aLaterBlockStillRunsAfterLabelsMatch() {
            // The first block's failure is the one reported, even though labels all matched.
            Failure f = fails(Reason.NO_MATCH, """
                    // CHECK-LABEL: graph @rmsnorm
                    // CHECK: nothing_here
                    // CHECK-LABEL: graph @other
                    // CHECK: neg
                    """, GRAPH);
            assertEquals(2, f.checkLine().number());
        }

        @Test
        void labelsCannotUseVariables() {
            fails(Reason.MALFORMED_CHECK, "// CHECK-LABEL: graph @[[N:[a-z]+]]\n", GRAPH);
        }
    }

    @Nested
    class Empty {
        private static final String TEXT = "a\n\nb\nc\n";

        @Test
        void theNextLineIsEmpty() {
            passes("""
                    // CHECK: a
                    // CHECK-EMPTY:
                    // CHECK-NEXT: b
                    """, TEXT);
        }

        @Test
        void failsWhenTheNextLineHasText() {
            Failure f = fails(Reason.LINE_NOT_EMPTY, """
                    // CHECK: b
                    // CHECK-EMPTY:
                    """, TEXT);
            assertEquals(4, f.candidate().orElseThrow().number());
        }

        @Test
        void failsAtTheEndOfTheOutput() {
            fails(Reason.LINE_NOT_EMPTY, """
                    // CHECK: c
                    // CHECK-EMPTY:
                    """, TEXT);
        }

        @Test
        void takesNoPattern() {
            fails(Reason.MALFORMED_CHECK, "// CHECK: a\n// CHECK-EMPTY: x\n", TEXT);
        }
    }

    @Nested
    class Variables {
        @Test
        void captureAndUse() {
            passes("""
                    // CHECK: %[[N:[0-9]+]] = rms_norm
                    // CHECK-NEXT: = mul(%[[N]], %[[N]])
                    """, GRAPH);
        }

        @Test
        void mlirStyleCapture() {
            passes("""
                    // CHECK: %[[NORM:.*]] = rms_norm(%x, %w) {eps = 1.0e-05}
                    // CHECK: %[[M:.*]] = mul(%[[NORM]], %[[NORM]])
                    // CHECK: return %[[M]]
                    """, GRAPH);
        }

        @Test
        void captureMismatchFails() {
            // N captures 1 on the mul line; the neg defines %0.
            Failure f = fails(Reason.NO_MATCH, """
                    // CHECK: %[[N:[0-9]+]] = mul
                    // CHECK: %[[N]] = neg
                    """, GRAPH);
            assertEquals(2, f.checkLine().number());
            assertEquals(7, f.candidate().orElseThrow().number());
        }

        @Test
        void useBeforeDefinitionFails() {
            Failure f = fails(Reason.UNDEFINED_VARIABLE, "// CHECK: return %[[R]]\n", GRAPH);
            assertTrue(f.detail().contains("'R'"), f.detail());
        }

        @Test
        void capturesPersistAcrossLabels() {
            passes("""
                    // CHECK-LABEL: graph @rmsnorm
                    // CHECK: f32[[[D:[0-9]+]], 8]
                    // CHECK-LABEL: graph @other
                    // CHECK: f32[[[D]]]
                    """, "graph @rmsnorm(%x: f32[2, 8])\ngraph @other(%a: f32[2])\n");
        }

        @Test
        void redefinitionOverwrites() {
            passes("""
                    // CHECK: [[V:[a-z]]]1
                    // CHECK: [[V:[a-z]]]2
                    // CHECK: [[V]]3
                    """, "a1 b2 b3");
            fails(Reason.NO_MATCH, """
                    // CHECK: [[V:[a-z]]]1
                    // CHECK: [[V:[a-z]]]2
                    // CHECK: [[V]]3
                    """, "a1 b2 a3");
        }

        @Test
        void useInTheSamePatternIsABackReference() {
            passes("// CHECK: add(%[[A:[a-z]+]], %[[A]])\n", "  %2 = add(%t, %q)\n  %3 = add(%t, %t)\n");
            fails(Reason.NO_MATCH, "// CHECK: add(%[[A:[a-z]+]], %[[A]])\n", "  %2 = add(%t, %q)\n");
        }

        @Test
        void valuesAreMatchedLiterally() {
            passes("""
                    // CHECK: x = [[V:.\\+.]]
                    // CHECK: y = [[V]]
                    """, "x = a+b\ny = a+b\n");
            fails(Reason.NO_MATCH, """
                    // CHECK: x = [[V:.\\+.]]
                    // CHECK: y = [[V]]
                    """, "x = a+b\ny = aab\n");
        }

        @Test
        void numericVariablesAreRejected() {
            fails(Reason.MALFORMED_CHECK, "// CHECK: [[#N]]\n", "1");
            fails(Reason.MALFORMED_CHECK, "// CHECK: [[@LINE]]\n", "1");
        }
    }

    @Nested
    class Syntax {
        @Test
        void noDirectivesIsAnError() {
            fails(Reason.NO_CHECKS, "nothing to see\n", GRAPH);
        }

        @Test
        void unknownSuffixIsReported() {
            Failure f = fails(Reason.MALFORMED_CHECK, "// CHECK: graph\n// CHECK-NXT: rms\n", GRAPH);
            assertEquals(2, f.checkLine().number());
            fails(Reason.MALFORMED_CHECK, "// CHECK-DAG: rms\n", GRAPH);
            fails(Reason.MALFORMED_CHECK, "// CHECK-COUNT-2: rms\n", GRAPH);
        }

        @Test
        void emptyPatternIsReported() {
            fails(Reason.MALFORMED_CHECK, "// CHECK:   \n", GRAPH);
        }

        @Test
        void badRegexIsReported() {
            Failure f = fails(Reason.MALFORMED_CHECK, "// CHECK: {{(}}\n", GRAPH);
            assertTrue(f.detail().contains("invalid regex"), f.detail());
            fails(Reason.MALFORMED_CHECK, "// CHECK: {{abc\n", GRAPH);
            fails(Reason.MALFORMED_CHECK, "// CHECK: [[X:abc\n", GRAPH);
            fails(Reason.MALFORMED_CHECK, "// CHECK: [[1X]]\n", GRAPH);
        }

        @Test
        void prefixMustNotBePartOfAWord() {
            fails(Reason.NO_CHECKS, "// MYCHECK: graph\n", GRAPH);
        }

        @Test
        void customPrefix() {
            FileCheck fc = new FileCheck("OPT");
            assertTrue(fc.run(SourceLine.split("// OPT: rms_norm\n// CHECK: nothing\n", 1), GRAPH).passed());
            assertFalse(fc.run(SourceLine.split("// OPT-NOT: rms_norm\n", 1), GRAPH).passed());
            assertThrows(IllegalArgumentException.class, () -> new FileCheck("1bad"));
        }

        @Test
        void bracketsInsideDefinitionRegex() {
            passes("// CHECK: [[X:[a-z]+]]: f32[4, 8]\n", "  norm: f32[4, 8]\n");
        }

        @Test
        void lineNumbersComeFromTheSourceLines() {
            List<SourceLine> lines = List.of(new SourceLine(41, "code"), new SourceLine(42, "// CHECK: absent"));
            Failure f = ((CheckResult.Failed) new FileCheck().run(lines, GRAPH)).failure();
            assertEquals(42, f.checkLine().number());
        }

        @Test
        void emptyOutput() {
            Failure f = fails(Reason.NO_MATCH, "// CHECK: x\n", "");
            assertTrue(f.scanStart().isEmpty());
            passes("// CHECK-NOT: x\n", "");
        }

        @Test
        void passedReportsCount() {
            CheckResult r = FileCheck.check("// CHECK: a\n// CHECK-NOT: b\n", "a");
            assertEquals(new CheckResult.Passed(2), r);
            assertEquals("all 2 checks passed", r.diagnostic());
            assertThrows(AssertionError.class, () -> FileCheck.check("// CHECK: z\n", "a").orThrow());
        }
    }

    @Test
    void substringDistance() {
        assertEquals(0, FileCheck.substringDistance("mul", "  %1 = mul(%0)"));
        assertEquals(1, FileCheck.substringDistance("mull", "  %1 = mul(%0)"));
        assertEquals(3, FileCheck.substringDistance("abc", ""));
    }
}
