package dev.tokc.passes.filecheck;

/** The FileCheck directives this implementation understands, with their suffix after the prefix. */
public enum CheckKind {
    /** {@code CHECK:} the pattern occurs after the previous match. */
    PLAIN(""),
    /** {@code CHECK-NEXT:} the first later occurrence is on the line right after the previous match. */
    NEXT("-NEXT"),
    /** {@code CHECK-SAME:} the first later occurrence is on the same line as the previous match. */
    SAME("-SAME"),
    /** {@code CHECK-NOT:} the pattern does not occur between the surrounding positive matches. */
    NOT("-NOT"),
    /** {@code CHECK-LABEL:} matched first, in order; splits the input into blocks that confine the other checks. */
    LABEL("-LABEL"),
    /** {@code CHECK-EMPTY:} the line right after the previous match is empty. */
    EMPTY("-EMPTY");

    private final String suffix;

    CheckKind(String suffix) {
        this.suffix = suffix;
    }

    public String suffix() {
        return suffix;
    }

    /** The directive as written with {@code prefix}, e.g. {@code CHECK-NEXT}. */
    public String spelling(String prefix) {
        return prefix + suffix;
    }

    static CheckKind fromSuffix(String suffix) {
        for (CheckKind k : values()) {
            if (k.suffix.equals(suffix)) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown check suffix: " + suffix);
    }
}
