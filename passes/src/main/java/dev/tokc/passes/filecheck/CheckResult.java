package dev.tokc.passes.filecheck;

import java.util.Optional;

/**
 * The outcome of running a check file over an output: either every directive held, or the first one that did
 * not, with enough context to fix the test or the code without re-running anything by hand.
 */
public sealed interface CheckResult {

    /** All {@code directives} held. */
    record Passed(int directives) implements CheckResult {}

    /** The first directive that failed (FileCheck stops there, like LLVM within a label block). */
    record Failed(Failure failure) implements CheckResult {}

    default boolean passed() {
        return this instanceof Passed;
    }

    /** The readable diagnostic, or "all N checks passed". */
    default String diagnostic() {
        return switch (this) {
            case Passed(int n) -> "all " + n + " checks passed";
            case Failed(Failure f) -> f.diagnostic();
        };
    }

    /** For tests: throws an {@link AssertionError} carrying the diagnostic unless the checks passed. */
    default void orThrow() {
        if (this instanceof Failed(Failure f)) {
            throw new AssertionError(f.diagnostic());
        }
    }

    /** Why a directive failed. */
    enum Reason {
        /** The check file itself is wrong: bad regex, unsupported syntax, NEXT with nothing before it. */
        MALFORMED_CHECK,
        /** No directive with the prefix was found at all (LLVM treats this as an error too). */
        NO_CHECKS,
        /** A CHECK-LABEL pattern was not found after the previous label. */
        LABEL_NOT_FOUND,
        /** A CHECK / NEXT / SAME pattern was not found in the rest of its block. */
        NO_MATCH,
        /** CHECK-NEXT matched, but not on the line right after the previous match. */
        NOT_ON_NEXT_LINE,
        /** CHECK-SAME matched, but not on the line of the previous match. */
        NOT_ON_SAME_LINE,
        /** CHECK-EMPTY: the line after the previous match is not empty (or does not exist). */
        LINE_NOT_EMPTY,
        /** A CHECK-NOT pattern occurs where it must not. */
        EXCLUDED_MATCH,
        /** A {@code [[VAR]]} use before any definition of VAR. */
        UNDEFINED_VARIABLE
    }

    /** A line of the output that the diagnostic points at, 1-based. */
    record InputLine(int number, String text) {}

    /**
     * A failed directive.
     *
     * @param checkLine  the directive's line (number in the check file, and its text)
     * @param expected   what was expected, in words (e.g. "CHECK-NEXT: %y = add")
     * @param detail     the specific problem (e.g. "found on line 9, expected line 5")
     * @param scanStart  the output line where scanning began, empty when the output is empty
     * @param candidate  the found-but-misplaced match, the forbidden match, or the nearest look-alike line
     */
    record Failure(Reason reason, SourceLine checkLine, String expected, String detail,
                   Optional<InputLine> scanStart, Optional<InputLine> candidate) {

        /**
         * Renders e.g.
         * <pre>
         * check line 7: // CHECK-NEXT: %y = add
         *   error: NOT_ON_NEXT_LINE: match found on output line 5, expected line 3
         *   expected: CHECK-NEXT: %y = add
         *   scanning from output line 2: "  %x = mul(%a, %b)"
         *   found here (output line 5): "  %y = add(%x, %x)"
         * </pre>
         */
        public String diagnostic() {
            StringBuilder sb = new StringBuilder();
            sb.append("check line ").append(checkLine.number()).append(": ").append(checkLine.text().strip()).append('\n');
            sb.append("  error: ").append(reason).append(": ").append(detail).append('\n');
            sb.append("  expected: ").append(expected).append('\n');
            scanStart.ifPresent(s -> sb.append("  scanning from output line ").append(s.number())
                    .append(": \"").append(s.text()).append("\"\n"));
            candidate.ifPresent(c -> sb.append(candidateLabel()).append(" (output line ").append(c.number())
                    .append("): \"").append(c.text()).append("\"\n"));
            return sb.toString();
        }

        private String candidateLabel() {
            return switch (reason) {
                case NOT_ON_NEXT_LINE, NOT_ON_SAME_LINE -> "  found here";
                case EXCLUDED_MATCH -> "  forbidden match";
                case LINE_NOT_EMPTY -> "  this line";
                default -> "  possible intended match";
            };
        }
    }
}
