package dev.tokc.runtime.tokenizer;

import java.util.Collection;
import java.util.Iterator;
import java.util.Map;

/**
 * Writes values as Python's {@code json.dumps(x, ensure_ascii=False, indent=indent)} does, which is what the
 * {@code tojson} filter of Hugging Face chat templates produces: {@code ", "} and {@code ": "} separators without an
 * indent, {@code ","} and {@code ": "} with one, non-ASCII characters kept, control characters escaped.
 * Chat templates put tool schemas into prompts with it, so the exact spacing reaches the model.
 */
final class PythonJson {
    private PythonJson() {}

    static String dumps(Object value, Integer indent) {
        StringBuilder out = new StringBuilder();
        write(value, indent, 0, out);
        return out.toString();
    }

    private static void write(Object value, Integer indent, int depth, StringBuilder out) {
        switch (value) {
            case null -> out.append("null");
            case String s -> string(s, out);
            case CharSequence s -> string(s.toString(), out);
            case Boolean b -> out.append(b ? "true" : "false");
            case Double d -> out.append(pythonFloat(d));
            case Float f -> out.append(pythonFloat(f.doubleValue()));
            case Number n -> out.append(n);
            case Map<?, ?> map -> {
                if (map.isEmpty()) {
                    out.append("{}");
                    return;
                }
                out.append('{');
                Iterator<? extends Map.Entry<?, ?>> it = map.entrySet().iterator();
                while (it.hasNext()) {
                    Map.Entry<?, ?> e = it.next();
                    newline(indent, depth + 1, out);
                    string(String.valueOf(e.getKey()), out);
                    out.append(": ");
                    write(e.getValue(), indent, depth + 1, out);
                    if (it.hasNext()) {
                        out.append(indent == null ? ", " : ",");
                    }
                }
                newline(indent, depth, out);
                out.append('}');
            }
            case Collection<?> list -> writeList(list, indent, depth, out);
            case Object[] array -> writeList(java.util.Arrays.asList(array), indent, depth, out);
            default -> string(value.toString(), out);
        }
    }

    private static void writeList(Collection<?> list, Integer indent, int depth, StringBuilder out) {
        if (list.isEmpty()) {
            out.append("[]");
            return;
        }
        out.append('[');
        Iterator<?> it = list.iterator();
        while (it.hasNext()) {
            newline(indent, depth + 1, out);
            write(it.next(), indent, depth + 1, out);
            if (it.hasNext()) {
                out.append(indent == null ? ", " : ",");
            }
        }
        newline(indent, depth, out);
        out.append(']');
    }

    private static void newline(Integer indent, int depth, StringBuilder out) {
        if (indent != null) {
            out.append('\n').append(" ".repeat(indent * depth));
        }
    }

    /** Python's float repr for the common cases: integral values keep ".0", others the shortest round-trip form. */
    private static String pythonFloat(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == Math.rint(d) && Math.abs(d) < 1e16) {
            return (long) d + ".0";
        }
        String s = Double.toString(d);
        return s.contains("E") ? s.replace("E", "e") : s;
    }

    private static void string(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
