package dev.tokc.passes.filecheck;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The pattern of one check directive, parsed into literal text, inline regexes and variables.
 *
 * <pre>
 *   %[[N:[0-9]+]] = add(%x, {{%[a-z]+}}) : f32[[[N]]]
 *   ^^ literal     ^^^^^^^ literal  ^^^^^^^^^ regex      ^^^^^ use of N
 *     ^^^^^^^^^^^^ definition of N
 * </pre>
 *
 * <ul>
 *   <li>Literal text matches itself, except that a run of spaces/tabs matches any non-empty run of spaces/tabs
 *       (LLVM's default, which canonicalises horizontal whitespace on both sides).</li>
 *   <li>{@code {{re}}} is a Java regex (LLVM uses POSIX ERE; the common subset is the same). Braces inside are
 *       counted, so {@code {{[0-9]{2}}}} works.</li>
 *   <li>{@code [[NAME:re]]} defines NAME as the text {@code re} matched; {@code [[NAME]]} matches that text
 *       literally. A use later in the same pattern becomes a back-reference. Names are
 *       {@code [$]?[A-Za-z_][A-Za-z0-9_]*}; the {@code $} is accepted for LLVM compatibility and is part of the name.
 *       Unlike LLVM, {@code [[[} reads as a literal {@code [} followed by a variable, so shapes such as
 *       {@code f32[[[N]]]} need no regex escape.</li>
 * </ul>
 *
 * Numeric variables ({@code [[#...]]}) and pseudo variables ({@code [[@LINE]]}) are not supported and are
 * reported as malformed rather than silently matched as text.
 */
final class CheckPattern {

    private static final Pattern NAME = Pattern.compile("\\$?[A-Za-z_][A-Za-z0-9_]*");

    sealed interface Part {}
    record Literal(String text) implements Part {}
    record Regex(String regex) implements Part {}
    record Define(String name, String regex) implements Part {}
    record Use(String name) implements Part {}

    private final String source;
    private final List<Part> parts;

    private CheckPattern(String source, List<Part> parts) {
        this.source = source;
        this.parts = List.copyOf(parts);
    }

    String source() {
        return source;
    }

    List<Part> parts() {
        return parts;
    }

    boolean hasVariables() {
        return parts.stream().anyMatch(p -> p instanceof Define || p instanceof Use);
    }

    /** The literal text only, regexes and variables dropped; used to find a "possible intended match". */
    String literalSkeleton() {
        StringBuilder sb = new StringBuilder();
        for (Part p : parts) {
            if (p instanceof Literal(String text)) {
                sb.append(text);
            }
        }
        return sb.toString().strip().replaceAll("[ \t]+", " ");
    }

    /** Parses {@code text} (already stripped of surrounding whitespace). */
    static CheckPattern parse(String text) throws MalformedCheckException {
        List<Part> parts = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        int i = 0;
        while (i < text.length()) {
            if (text.startsWith("{{", i)) {
                int end = closing(text, i + 2, '{', '}');
                if (end < 0) {
                    throw new MalformedCheckException("unterminated regex '{{' at column " + (i + 1));
                }
                String re = text.substring(i + 2, end);
                if (re.isEmpty()) {
                    throw new MalformedCheckException("empty regex '{{}}' at column " + (i + 1));
                }
                flush(literal, parts);
                parts.add(new Regex(checkRegex(re)));
                i = end + 2;
            } else if (text.startsWith("[[[", i)) {
                // "f32[[[N]]]": a literal '[' before a variable; IR shapes make this common, so don't reject it.
                literal.append('[');
                i++;
            } else if (text.startsWith("[[", i)) {
                int end = closing(text, i + 2, '[', ']');
                if (end < 0) {
                    throw new MalformedCheckException("unterminated variable '[[' at column " + (i + 1));
                }
                flush(literal, parts);
                parts.add(variable(text.substring(i + 2, end)));
                i = end + 2;
            } else {
                literal.append(text.charAt(i++));
            }
        }
        flush(literal, parts);
        return new CheckPattern(text, parts);
    }

    private static Part variable(String body) throws MalformedCheckException {
        if (body.startsWith("#") || body.startsWith("@")) {
            throw new MalformedCheckException("numeric and pseudo variables are not supported: [[" + body + "]]");
        }
        int colon = body.indexOf(':');
        String name = colon < 0 ? body : body.substring(0, colon);
        if (!NAME.matcher(name).matches()) {
            throw new MalformedCheckException("invalid variable name '" + name + "' in [[" + body + "]]");
        }
        if (colon < 0) {
            return new Use(name);
        }
        String re = body.substring(colon + 1);
        if (re.isEmpty()) {
            throw new MalformedCheckException("empty regex in variable definition [[" + body + "]]");
        }
        return new Define(name, checkRegex(re));
    }

    private static String checkRegex(String re) throws MalformedCheckException {
        try {
            Pattern.compile(re);
            return re;
        } catch (PatternSyntaxException e) {
            throw new MalformedCheckException("invalid regex '" + re + "': " + e.getDescription());
        }
    }

    /**
     * Index of the closing double bracket ("}}" or "]]") that ends a region starting at {@code from}, skipping
     * brackets that open and close inside it (so quantifiers and character classes may be used) and escaped chars.
     */
    private static int closing(String text, int from, char open, char close) {
        int depth = 0;
        for (int i = from; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == open) {
                depth++;
            } else if (c == close) {
                if (depth == 0 && i + 1 < text.length() && text.charAt(i + 1) == close) {
                    return i;
                }
                depth = Math.max(0, depth - 1);
            }
        }
        return -1;
    }

    private static void flush(StringBuilder literal, List<Part> parts) {
        if (!literal.isEmpty()) {
            parts.add(new Literal(literal.toString()));
            literal.setLength(0);
        }
    }

    /** A pattern ready to run: the regex plus which group holds each variable it defines. */
    record Compiled(Pattern regex, Map<String, String> groupOfVariable) {}

    /**
     * Builds the Java regex, substituting the current values of used variables.
     *
     * @throws UndefinedVariableException when a use has neither a global value nor an earlier definition here
     */
    Compiled compile(Map<String, String> variables) throws UndefinedVariableException {
        StringBuilder re = new StringBuilder();
        Map<String, String> groups = new HashMap<>();
        for (Part part : parts) {
            switch (part) {
                case Literal(String text) -> appendLiteral(re, text);
                case Regex(String regex) -> re.append("(?:").append(regex).append(')');
                case Define(String name, String regex) -> {
                    String group = "v" + groups.size();
                    groups.put(name, group);
                    re.append("(?<").append(group).append('>').append(regex).append(')');
                }
                case Use(String name) -> {
                    if (groups.containsKey(name)) {
                        re.append("\\k<").append(groups.get(name)).append('>');
                    } else if (variables.containsKey(name)) {
                        re.append(Pattern.quote(variables.get(name)));
                    } else {
                        throw new UndefinedVariableException(name);
                    }
                }
            }
        }
        // MULTILINE so that ^ and $ in inline regexes mean line start and end, as in LLVM.
        return new Compiled(Pattern.compile(re.toString(), Pattern.MULTILINE), groups);
    }

    private static void appendLiteral(StringBuilder re, String text) {
        int i = 0;
        while (i < text.length()) {
            int j = i;
            if (isBlank(text.charAt(i))) {
                while (j < text.length() && isBlank(text.charAt(j))) {
                    j++;
                }
                re.append("[ \\t]+");
            } else {
                while (j < text.length() && !isBlank(text.charAt(j))) {
                    j++;
                }
                re.append(Pattern.quote(text.substring(i, j)));
            }
            i = j;
        }
    }

    private static boolean isBlank(char c) {
        return c == ' ' || c == '\t';
    }

    /** The check line itself is wrong (bad regex, unsupported syntax); reported as a failure of that line. */
    static final class MalformedCheckException extends Exception {
        MalformedCheckException(String message) {
            super(message);
        }
    }

    /** A {@code [[NAME]]} use with no value yet. */
    static final class UndefinedVariableException extends Exception {
        final String name;

        UndefinedVariableException(String name) {
            super("undefined variable: " + name);
            this.name = name;
        }
    }
}
