package dev.tokc.passes.filecheck;

import dev.tokc.passes.filecheck.CheckPattern.MalformedCheckException;
import dev.tokc.passes.filecheck.CheckPattern.UndefinedVariableException;
import dev.tokc.passes.filecheck.CheckResult.Failure;
import dev.tokc.passes.filecheck.CheckResult.InputLine;
import dev.tokc.passes.filecheck.CheckResult.Reason;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small FileCheck: verifies an output text against the {@code CHECK} directives of a test file, with LLVM's
 * semantics for the directives it supports ({@link CheckKind}) and the pattern syntax of {@link CheckPattern}.
 *
 * <p>Matching runs in two passes, as in LLVM:
 * <pre>
 *   output:  ......[LABEL a]............[LABEL b].............
 *            |pre |         block a    |         block b     |
 * </pre>
 * <ol>
 *   <li>All {@code CHECK-LABEL}s are matched first, in order, each after the previous one. They cut the output
 *       into blocks; labels may not use variables because they are matched before any capture exists.</li>
 *   <li>The directives after each label are matched inside that label's block only (the ones before the first
 *       label, inside the text before it). In a block, {@code CHECK}/{@code NEXT}/{@code SAME} move a cursor
 *       forward; {@code CHECK-NOT}s are held until the next positive match (or the block end) and then must not
 *       occur between the previous match and that one.</li>
 * </ol>
 *
 * Variables captured by {@code [[V:re]]} are global for the whole run (LLVM's default without
 * {@code --enable-var-scope}); a later definition overwrites an earlier one. Checking stops at the first failure.
 * Instances are immutable and thread-safe.
 */
public final class FileCheck {

    public static final String DEFAULT_PREFIX = "CHECK";

    /** Beyond this many output lines the "possible intended match" search gives up (it is quadratic per line). */
    private static final int FUZZY_LINE_LIMIT = 5_000;

    private final String prefix;
    private final Pattern directive;

    public FileCheck() {
        this(DEFAULT_PREFIX);
    }

    /** A FileCheck for another prefix, like LLVM's {@code --check-prefix}. */
    public FileCheck(String prefix) {
        if (!prefix.matches("[A-Za-z][A-Za-z0-9_-]*")) {
            throw new IllegalArgumentException("check prefix must be [A-Za-z][A-Za-z0-9_-]*, got '" + prefix + "'");
        }
        this.prefix = prefix;
        // The prefix must not be the tail of a longer word (MYCHECK: is not CHECK:); unknown suffixes are caught
        // and reported instead of being ignored, so a typo such as CHECK-NXT: cannot silently disable a check.
        this.directive = Pattern.compile("(?<![A-Za-z0-9_-])" + Pattern.quote(prefix) + "(-[A-Za-z0-9-]+)?:(.*)$");
    }

    /** Checks {@code output} against the directives in {@code checkText} (line numbers start at 1). */
    public static CheckResult check(String checkText, String output) {
        return new FileCheck().run(SourceLine.split(checkText, 1), output);
    }

    /** The lines of {@code lines} that carry a directive with this prefix (well-formed or not). */
    public List<SourceLine> directiveLines(List<SourceLine> lines) {
        return lines.stream().filter(l -> directive.matcher(l.text()).find()).toList();
    }

    /** Checks {@code output} against the directives found in {@code checkLines}; other lines are ignored. */
    public CheckResult run(List<SourceLine> checkLines, String output) {
        List<Directive> directives = new ArrayList<>();
        for (SourceLine line : checkLines) {
            Matcher m = directive.matcher(line.text());
            if (!m.find()) {
                continue;
            }
            try {
                directives.add(parseDirective(line, m));
            } catch (MalformedCheckException e) {
                return malformed(line, e.getMessage());
            }
        }
        if (directives.isEmpty()) {
            SourceLine where = checkLines.isEmpty() ? new SourceLine(0, "") : checkLines.getFirst();
            return new CheckResult.Failed(new Failure(Reason.NO_CHECKS, where, "at least one " + prefix + ": line",
                    "no check strings found with prefix '" + prefix + ":'", Optional.empty(), Optional.empty()));
        }
        Optional<Directive> firstPositive = directives.stream().filter(d -> d.kind != CheckKind.NOT).findFirst();
        if (firstPositive.isPresent() && isRelative(firstPositive.get().kind)) {
            Directive d = firstPositive.get();
            return malformed(d.line, "found '" + d.kind.spelling(prefix) + "' without a previous '" + prefix + ":' line");
        }
        return new Run(directives, output).execute();
    }

    private Directive parseDirective(SourceLine line, Matcher m) throws MalformedCheckException {
        String suffix = m.group(1) == null ? "" : m.group(1);
        CheckKind kind;
        try {
            kind = CheckKind.fromSuffix(suffix);
        } catch (IllegalArgumentException e) {
            throw new MalformedCheckException("unsupported directive '" + prefix + suffix + ":'");
        }
        String text = m.group(2).strip();
        if (kind == CheckKind.EMPTY) {
            if (!text.isEmpty()) {
                throw new MalformedCheckException("'" + kind.spelling(prefix) + ":' takes no pattern");
            }
            return new Directive(kind, line, null);
        }
        if (text.isEmpty()) {
            throw new MalformedCheckException("found empty check string with prefix '" + kind.spelling(prefix) + ":'");
        }
        CheckPattern pattern = CheckPattern.parse(text);
        if (kind == CheckKind.LABEL && pattern.hasVariables()) {
            throw new MalformedCheckException("'" + kind.spelling(prefix) + ":' cannot define or use variables");
        }
        if (kind == CheckKind.NOT && pattern.parts().stream().anyMatch(p -> p instanceof CheckPattern.Define)) {
            throw new MalformedCheckException("'" + kind.spelling(prefix) + ":' cannot define variables");
        }
        return new Directive(kind, line, pattern);
    }

    private static boolean isRelative(CheckKind kind) {
        return kind == CheckKind.NEXT || kind == CheckKind.SAME || kind == CheckKind.EMPTY;
    }

    private static CheckResult malformed(SourceLine line, String message) {
        return new CheckResult.Failed(new Failure(Reason.MALFORMED_CHECK, line, "a well-formed check line", message,
                Optional.empty(), Optional.empty()));
    }

    private record Directive(CheckKind kind, SourceLine line, CheckPattern pattern) {}

    /** A located match: [start, end) in the output. */
    private record Span(int start, int end) {}

    /** Signals the first failure; caught once in {@link Run#execute()}, never escapes. */
    private static final class Stop extends RuntimeException {
        final transient Failure failure;

        Stop(Failure failure) {
            super(null, null, false, false);
            this.failure = failure;
        }
    }

    /** The mutable state of one check run. */
    private final class Run {
        private final List<Directive> directives;
        private final String out;
        private final int[] lineStarts;
        private final Map<String, String> variables = new HashMap<>();

        Run(List<Directive> directives, String out) {
            this.directives = directives;
            this.out = out;
            List<Integer> starts = new ArrayList<>(List.of(0));
            for (int i = 0; i < out.length(); i++) {
                if (out.charAt(i) == '\n') {
                    starts.add(i + 1);
                }
            }
            this.lineStarts = starts.stream().mapToInt(Integer::intValue).toArray();
        }

        CheckResult execute() {
            try {
                List<Integer> labelIdx = new ArrayList<>();
                for (int i = 0; i < directives.size(); i++) {
                    if (directives.get(i).kind == CheckKind.LABEL) {
                        labelIdx.add(i);
                    }
                }
                // Pass 1: labels, in order, over the whole output.
                List<Span> labels = new ArrayList<>();
                int cursor = 0;
                for (int idx : labelIdx) {
                    Directive d = directives.get(idx);
                    Span s = find(d, cursor, out.length(), true);
                    if (s == null) {
                        throw fail(Reason.LABEL_NOT_FOUND, d, "label not found after output line " + lineOf(cursor)
                                + earlier(d, 0, cursor), cursor, fuzzy(d, cursor, out.length()));
                    }
                    labels.add(s);
                    cursor = s.end;
                }
                // Pass 2: each block, between one label's match and the next label's.
                int firstLabel = labelIdx.isEmpty() ? directives.size() : labelIdx.getFirst();
                checkBlock(0, firstLabel, 0, labels.isEmpty() ? out.length() : labels.getFirst().start, null);
                for (int k = 0; k < labelIdx.size(); k++) {
                    int from = labelIdx.get(k) + 1;
                    int to = k + 1 < labelIdx.size() ? labelIdx.get(k + 1) : directives.size();
                    int blockEnd = k + 1 < labels.size() ? labels.get(k + 1).start : out.length();
                    checkBlock(from, to, labels.get(k).end, blockEnd, labels.get(k));
                }
                return new CheckResult.Passed(directives.size());
            } catch (Stop stop) {
                return new CheckResult.Failed(stop.failure);
            }
        }

        /** Directives [from, to) inside output [start, end); {@code previous} is the label match, if any. */
        private void checkBlock(int from, int to, int start, int end, Span previous) {
            int pos = start;
            Span prev = previous;
            List<Directive> pendingNots = new ArrayList<>();
            for (int i = from; i < to; i++) {
                Directive d = directives.get(i);
                switch (d.kind) {
                    case NOT -> pendingNots.add(d);
                    case EMPTY -> {
                        // The line after the previous match's line must exist, lie in this block and be empty.
                        int nl = out.indexOf('\n', prev.end);
                        int next = nl < 0 ? out.length() : nl + 1;
                        if (next >= end || out.charAt(next) != '\n') {
                            Optional<InputLine> shown = next < out.length() ? Optional.of(line(lineOf(next))) : Optional.empty();
                            throw fail(Reason.LINE_NOT_EMPTY, d, "the line after output line " + lineOf(prev.end)
                                    + (shown.isEmpty() ? " does not exist" : " is not empty"), pos, shown);
                        }
                        checkNots(pendingNots, pos, next);
                        prev = new Span(next, next);
                        pos = next;
                    }
                    case PLAIN, NEXT, SAME -> {
                        Span s = find(d, pos, end, true);
                        if (s == null) {
                            throw fail(Reason.NO_MATCH, d, "no match in the rest of the " + (previous == null ? "output" : "label block")
                                    + " (up to output line " + lineOf(Math.max(start, end - 1)) + ")" + earlier(d, start, pos),
                                    pos, fuzzy(d, pos, end));
                        }
                        long newlines = out.substring(prev == null ? pos : prev.end, s.start).chars().filter(c -> c == '\n').count();
                        if (d.kind == CheckKind.NEXT && newlines != 1) {
                            throw fail(Reason.NOT_ON_NEXT_LINE, d, "match found on output line " + lineOf(s.start) + ", expected line "
                                    + (lineOf(prev.end) + 1) + (newlines == 0 ? " (it is on the same line as the previous match)" : ""),
                                    pos, Optional.of(line(lineOf(s.start))));
                        }
                        if (d.kind == CheckKind.SAME && newlines != 0) {
                            throw fail(Reason.NOT_ON_SAME_LINE, d, "match found on output line " + lineOf(s.start) + ", expected line "
                                    + lineOf(prev.end), pos, Optional.of(line(lineOf(s.start))));
                        }
                        checkNots(pendingNots, pos, s.start);
                        prev = s;
                        pos = s.end;
                    }
                    case LABEL -> throw new IllegalStateException("labels delimit blocks and are never inside one");
                }
            }
            checkNots(pendingNots, pos, end);
        }

        private void checkNots(List<Directive> nots, int from, int to) {
            for (Directive not : nots) {
                Span s = find(not, from, to, false);
                if (s != null) {
                    throw fail(Reason.EXCLUDED_MATCH, not, "excluded pattern found on output line " + lineOf(s.start),
                            from, Optional.of(line(lineOf(s.start))));
                }
            }
            nots.clear();
        }

        /** A hint for an order mistake: where the pattern occurs in [from, to), before the scan start. */
        private String earlier(Directive d, int from, int to) {
            Span s = find(d, from, to, false);
            return s == null ? "" : "; it does occur earlier, on output line " + lineOf(s.start)
                    + ", before the previous match (wrong order?)";
        }

        /** Finds d's pattern in [from, to), binding the variables it defines if asked; null when absent. */
        private Span find(Directive d, int from, int to, boolean bind) {
            CheckPattern.Compiled c;
            try {
                c = d.pattern.compile(variables);
            } catch (UndefinedVariableException e) {
                throw fail(Reason.UNDEFINED_VARIABLE, d, "variable '" + e.name + "' is used before any definition", from, Optional.empty());
            }
            Matcher m = c.regex().matcher(out);
            m.region(from, Math.max(from, to));
            m.useAnchoringBounds(false);
            m.useTransparentBounds(true);
            if (!m.find()) {
                return null;
            }
            if (bind) {
                c.groupOfVariable().forEach((name, group) -> variables.put(name, m.group(group)));
            }
            return new Span(m.start(), m.end());
        }

        private Stop fail(Reason reason, Directive d, String detail, int scanFrom, Optional<InputLine> candidate) {
            String expected = d.kind.spelling(prefix) + ": " + (d.pattern == null ? "<empty line>" : d.pattern.source());
            Optional<InputLine> scan = out.isEmpty() ? Optional.empty() : Optional.of(line(lineOf(scanFrom)));
            return new Stop(new Failure(reason, d.line, expected, detail, scan, candidate));
        }

        /** The line of [from, to) most like d's literal text (approximate substring match), if any is close. */
        private Optional<InputLine> fuzzy(Directive d, int from, int to) {
            String want = d.pattern.literalSkeleton();
            if (want.isEmpty()) {
                return Optional.empty();
            }
            int best = -1;
            int bestDistance = Integer.MAX_VALUE;
            int last = Math.min(lineOf(Math.max(from, to - 1)), lineOf(from) + FUZZY_LINE_LIMIT);
            for (int n = lineOf(from); n <= last; n++) {
                int dist = substringDistance(want, line(n).text().strip().replaceAll("[ \t]+", " "));
                if (dist < bestDistance) {
                    bestDistance = dist;
                    best = n;
                }
            }
            // More than half the characters wrong is not a "possible intended match", just noise.
            return best > 0 && bestDistance <= want.length() / 2 ? Optional.of(line(best)) : Optional.empty();
        }

        private int lineOf(int offset) {
            int i = Arrays.binarySearch(lineStarts, offset);
            return (i >= 0 ? i : -i - 2) + 1;
        }

        private InputLine line(int number) {
            int start = lineStarts[number - 1];
            int end = number < lineStarts.length ? lineStarts[number] - 1 : out.length();
            return new InputLine(number, out.substring(start, end).stripTrailing());
        }
    }

    /**
     * Edit distance between {@code pattern} and the best-matching substring of {@code text} (Sellers' algorithm:
     * the first row is free, so the match may start anywhere in the text).
     */
    static int substringDistance(String pattern, String text) {
        int m = pattern.length();
        int n = text.length();
        int[] prev = new int[n + 1];
        int[] cur = new int[n + 1];
        for (int i = 1; i <= m; i++) {
            cur[0] = i;
            for (int j = 1; j <= n; j++) {
                int sub = prev[j - 1] + (pattern.charAt(i - 1) == text.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        int best = m;
        for (int j = 0; j <= n; j++) {
            best = Math.min(best, prev[j]);
        }
        return best;
    }
}
