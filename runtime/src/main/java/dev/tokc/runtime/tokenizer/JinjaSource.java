package dev.tokc.runtime.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rewrites a chat template's Jinja source where jinjava would read it differently from Jinja, before jinjava
 * parses it. Each rewrite keeps the template's meaning; none of them is needed by a template that avoids the
 * construct.
 *
 * <ul>
 *   <li>One final newline of the source is dropped (Jinja's {@code keep_trailing_newline=False}). jinjava's own
 *       switch for it trims the rendered output instead, which would eat a {@code "\n\n"} that the template
 *       prints at its end (Llama 3's generation prompt).</li>
 *   <li>{@code name[::-1]} (Python's reversing slice, which jinjava cannot parse) becomes {@code (name|reverse)}.</li>
 *   <li>The keyword arguments of {@code namespace(...)} are parenthesized (see
 *       {@link #parenthesizeNamespaceArguments}).</li>
 * </ul>
 */
final class JinjaSource {
    /** {@code name[::-1]}, e.g. {@code messages[::-1]}. */
    private static final Pattern REVERSE_SLICE = Pattern.compile("([A-Za-z_][A-Za-z0-9_.]*)\\[::-1\\]");

    /** {@code name=value} in an argument list ({@code ==} is a comparison, not a keyword). */
    private static final Pattern KEYWORD_ARGUMENT = Pattern.compile("(\\s*[A-Za-z_][A-Za-z0-9_]*\\s*)=(?!=)(.+)",
            Pattern.DOTALL);

    private JinjaSource() {}

    static String adapt(String source) {
        if (source.endsWith("\r\n")) {
            source = source.substring(0, source.length() - 2);
        } else if (source.endsWith("\n")) {
            source = source.substring(0, source.length() - 1);
        }
        source = REVERSE_SLICE.matcher(source).replaceAll("($1|reverse)");
        return parenthesizeNamespaceArguments(source);
    }

    /**
     * Wraps each keyword argument of {@code namespace(...)} in parentheses: jinjava binds {@code k=v} tighter than
     * a filter, so {@code namespace(i=messages|length - 1)} would subtract 1 from the parameter itself, while Jinja
     * reads the whole {@code messages|length - 1} as the value. Parenthesized, both agree.
     */
    static String parenthesizeNamespaceArguments(String source) {
        StringBuilder out = new StringBuilder(source.length() + 16);
        int from = 0;
        for (int at = source.indexOf("namespace(", from); at >= 0; at = source.indexOf("namespace(", from)) {
            int open = at + "namespace".length();
            int close = matchingParen(source, open);
            if (close < 0) {
                break;
            }
            out.append(source, from, open + 1);
            List<String> args = splitTopLevel(source.substring(open + 1, close));
            for (int i = 0; i < args.size(); i++) {
                String arg = args.get(i);
                Matcher m = KEYWORD_ARGUMENT.matcher(arg);
                out.append(i > 0 ? "," : "").append(m.matches() ? m.group(1) + "=(" + m.group(2) + ")" : arg);
            }
            out.append(')');
            from = close + 1;
        }
        return out.append(source, from, source.length()).toString();
    }

    /** Index of the parenthesis closing the one at {@code open}, skipping quoted strings; -1 if unbalanced. */
    private static int matchingParen(String s, int open) {
        int depth = 0;
        for (int i = open; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = endOfString(s, i);
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if ((c == ')' || c == ']' || c == '}') && --depth == 0) {
                return c == ')' ? i : -1;
            }
        }
        return -1;
    }

    private static int endOfString(String s, int quote) {
        for (int i = quote + 1; i < s.length(); i++) {
            if (s.charAt(i) == '\\') {
                i++;
            } else if (s.charAt(i) == s.charAt(quote)) {
                return i;
            }
        }
        return s.length();
    }

    /** Splits on commas outside brackets and strings. */
    private static List<String> splitTopLevel(String s) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = endOfString(s, i);
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (c == ',' && depth == 0) {
                parts.add(s.substring(start, i));
                start = i + 1;
            }
        }
        parts.add(s.substring(start));
        return parts;
    }
}
