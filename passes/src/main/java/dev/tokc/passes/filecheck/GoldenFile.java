package dev.tokc.passes.filecheck;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A golden test file split into its cases, MLIR style:
 *
 * <pre>
 *   // RUN: tokc ir-opt %s --passes=raise          <- RUN lines of case 1 apply to every case without its own
 *   // CHECK-LABEL: graph @a                        <- directives, kept in {@link Case#lines()} for FileCheck
 *   graph @a(...) { ... }                           <- the input
 *   // -----                                        <- case separator (belongs to no case)
 *   // expected-error@+1 {{unknown op}}             <- diagnostic expected on the next line
 *   graph @b(...) { %x = frob() }
 * </pre>
 *
 * <p><b>Input text.</b> A case's {@link Case#input()} has exactly one line per file line of the case, so that a
 * position the compiler reports in the input maps back to the file by {@link Case#fileLine(int)}. Directive
 * comments ({@code // RUN:}, {@code // CHECK...:} or any other {@code // UPPER-CASE:} prefix, {@code // expected-...})
 * are blanked out of it: a whole-line
 * directive becomes an empty line and a trailing one is cut at its {@code //}. The IR parser therefore never sees
 * check syntax, and nothing else is changed.
 *
 * <p><b>RUN lines.</b> A RUN line ending in {@code \} continues on the next RUN line, as in lit. The command is
 * kept verbatim ({@code %s} is for the runner to substitute).
 *
 * <p><b>Expected diagnostics.</b> {@code expected-error@+N {{msg}}} refers to the line N below the annotation,
 * {@code @-N} N above, and no offset to the annotation's own line (useful as a trailing comment). Severities
 * error, warning, note and remark are recognised; the line is kept both as a file line and as a case input line.
 * Other forms (MLIR's {@code @above}, {@code @below}, several messages on one line) are rejected, not ignored.
 */
public record GoldenFile(String name, List<Case> cases) {

    private static final Pattern SEPARATOR = Pattern.compile("^\\s*//\\s*-----\\s*$");
    private static final Pattern RUN = Pattern.compile("//\\s*RUN:(.*)$");
    private static final Pattern EXPECTED = Pattern.compile(
            "//\\s*expected-(error|warning|note|remark)(?:@([+-]\\d+))?\\s*\\{\\{(.*?)}}\\s*$");
    /** Any comment that carries a directive, for blanking it out of the input. */
    private static final Pattern DIRECTIVE_COMMENT = Pattern.compile(
            "//\\s*(?:RUN:|[A-Z][A-Z0-9_]*(?:-[A-Za-z0-9-]+)?:|expected-(?:error|warning|note|remark))");
    private static final Pattern ANY_EXPECTED = Pattern.compile("//\\s*expected-(?:error|warning|note|remark)\\b");

    public GoldenFile {
        cases = List.copyOf(cases);
    }

    /** One {@code // RUN:} command, with the file line where it starts. */
    public record RunLine(int line, String command) {}

    public enum Severity { ERROR, WARNING, NOTE, REMARK }

    /**
     * An expected diagnostic.
     *
     * @param fileLine  the absolute line in the golden file the diagnostic must be reported on
     * @param inputLine the same line counted from the start of the case's input (1-based)
     * @param annotationLine where the annotation itself is written
     */
    public record ExpectedDiagnostic(Severity severity, String message, int fileLine, int inputLine, int annotationLine) {}

    /**
     * One case of the file.
     *
     * @param index      0-based case number
     * @param firstLine  the file line of the case's first line
     * @param runLines   the case's own RUN lines, or the first case's when it has none
     * @param ownRun     whether {@code runLines} were written in this case
     * @param lines      every line of the case with its file line number (what {@link FileCheck#run} takes)
     * @param input      the case text with directive comments blanked, one line per file line
     * @param expected   expected diagnostics, in file order
     */
    public record Case(int index, int firstLine, List<RunLine> runLines, boolean ownRun, List<SourceLine> lines,
                       String input, List<ExpectedDiagnostic> expected) {
        public Case {
            runLines = List.copyOf(runLines);
            lines = List.copyOf(lines);
            expected = List.copyOf(expected);
        }

        /** Maps a 1-based line of {@link #input()} to the line of the golden file. */
        public int fileLine(int inputLine) {
            return firstLine + inputLine - 1;
        }

        /** The case's {@code CHECK} directive lines (default prefix), with their file line numbers. */
        public List<SourceLine> checkLines() {
            return new FileCheck().directiveLines(lines);
        }

        /** Runs FileCheck (default prefix) with this case's directives over {@code output}. */
        public CheckResult check(String output) {
            return new FileCheck().run(lines, output);
        }
    }

    public static GoldenFile load(Path path) {
        try {
            return parse(path.getFileName().toString(), Files.readString(path));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read golden file " + path, e);
        }
    }

    /**
     * Parses {@code text}.
     *
     * @throws IllegalArgumentException for a malformed RUN continuation or an annotation pointing outside its case,
     *     naming the file and line
     */
    public static GoldenFile parse(String name, String text) {
        List<List<SourceLine>> chunks = new ArrayList<>();
        List<Integer> chunkStarts = new ArrayList<>(List.of(1));
        List<SourceLine> current = new ArrayList<>();
        for (SourceLine line : SourceLine.split(text, 1)) {
            if (SEPARATOR.matcher(line.text()).matches()) {
                chunks.add(current);
                chunkStarts.add(line.number() + 1);
                current = new ArrayList<>();
            } else {
                current.add(line);
            }
        }
        chunks.add(current);

        List<Case> cases = new ArrayList<>();
        List<RunLine> inherited = List.of();
        for (int i = 0; i < chunks.size(); i++) {
            List<SourceLine> lines = chunks.get(i);
            // An empty chunk (e.g. a trailing separator) still counts, so case indices match separators.
            int firstLine = chunkStarts.get(i);
            List<RunLine> own = runLines(name, lines);
            if (i == 0) {
                inherited = own;
            }
            cases.add(new Case(i, firstLine, own.isEmpty() ? inherited : own, !own.isEmpty(), lines,
                    input(lines), expected(name, lines, firstLine)));
        }
        return new GoldenFile(name, cases);
    }

    private static List<RunLine> runLines(String file, List<SourceLine> lines) {
        List<RunLine> runs = new ArrayList<>();
        StringBuilder pending = null;
        int start = 0;
        for (SourceLine line : lines) {
            Matcher m = RUN.matcher(line.text());
            if (!m.find()) {
                if (pending != null) {
                    throw new IllegalArgumentException(file + ":" + start + ": RUN line ends in '\\' but the next line is not a RUN line");
                }
                continue;
            }
            String part = m.group(1).strip();
            if (pending == null) {
                pending = new StringBuilder();
                start = line.number();
            }
            boolean continues = part.endsWith("\\");
            pending.append(continues ? part.substring(0, part.length() - 1).strip() : part);
            if (continues) {
                pending.append(' ');
            } else {
                runs.add(new RunLine(start, pending.toString().strip()));
                pending = null;
            }
        }
        if (pending != null) {
            throw new IllegalArgumentException(file + ":" + start + ": RUN line ends in '\\' at the end of its case");
        }
        return runs;
    }

    private static String input(List<SourceLine> lines) {
        StringBuilder sb = new StringBuilder();
        for (SourceLine line : lines) {
            Matcher m = DIRECTIVE_COMMENT.matcher(line.text());
            sb.append(m.find() ? line.text().substring(0, m.start()).stripTrailing() : line.text()).append('\n');
        }
        return sb.toString();
    }

    private static List<ExpectedDiagnostic> expected(String file, List<SourceLine> lines, int firstLine) {
        List<ExpectedDiagnostic> out = new ArrayList<>();
        int lastLine = firstLine + lines.size() - 1;
        for (SourceLine line : lines) {
            Matcher m = EXPECTED.matcher(line.text());
            if (!m.find()) {
                // A misspelt annotation must not be ignored: the test would pass without checking anything.
                if (ANY_EXPECTED.matcher(line.text()).find()) {
                    throw new IllegalArgumentException(file + ":" + line.number() + ": unsupported expected-diagnostic"
                            + " syntax (use expected-error[@+N|@-N] {{message}}): " + line.text().strip());
                }
                continue;
            }
            int offset = m.group(2) == null ? 0 : Integer.parseInt(m.group(2));
            int target = line.number() + offset;
            if (target < firstLine || target > lastLine) {
                throw new IllegalArgumentException(file + ":" + line.number() + ": expected-" + m.group(1)
                        + " refers to line " + target + ", outside its case (lines " + firstLine + "-" + lastLine + ")");
            }
            out.add(new ExpectedDiagnostic(Severity.valueOf(m.group(1).toUpperCase(java.util.Locale.ROOT)), m.group(3),
                    target, target - firstLine + 1, line.number()));
        }
        return out;
    }
}
