package dev.tokc.ir.text;

/**
 * A line-oriented text sink that indents each line it starts by the current depth (two spaces a level), so the
 * printer says what nests, never how many spaces to write.
 */
final class IndentWriter {
    private static final String UNIT = "  ";

    private final StringBuilder out = new StringBuilder();
    private int depth;

    IndentWriter indent() {
        depth++;
        return this;
    }

    IndentWriter outdent() {
        if (depth == 0) {
            throw new IllegalStateException("outdent below column 0");
        }
        depth--;
        return this;
    }

    /** Writes {@code text} as one whole line at the current depth. */
    IndentWriter line(CharSequence text) {
        out.append(UNIT.repeat(depth)).append(text).append('\n');
        return this;
    }

    /** An empty line (no trailing spaces). */
    IndentWriter blankLine() {
        out.append('\n');
        return this;
    }

    @Override
    public String toString() {
        return out.toString();
    }
}
