package dev.tokc.ir.text;

import dev.tokc.ir.IrException;

/**
 * An error in IR text: a syntax error, an unknown op or attribute, an undefined or redefined value, a bad
 * attribute value, a type the op does not infer, or a type inference failure. The message is
 * {@code file:line:column: what was expected or found}, lines and columns counted from 1, so editors and the
 * golden-file runner can jump to it; the parts are also available separately.
 */
public final class IrSyntaxException extends IrException {
    private final String fileName;
    private final int line;
    private final int column;
    private final String detail;

    public IrSyntaxException(String fileName, int line, int column, String detail) {
        this(fileName, line, column, detail, null);
    }

    public IrSyntaxException(String fileName, int line, int column, String detail, Throwable cause) {
        super(fileName + ":" + line + ":" + column + ": " + detail, cause);
        this.fileName = fileName;
        this.line = line;
        this.column = column;
        this.detail = detail;
    }

    public String fileName() {
        return fileName;
    }

    /** 1-based line. */
    public int line() {
        return line;
    }

    /** 1-based column. */
    public int column() {
        return column;
    }

    /** The message without the position prefix. */
    public String detail() {
        return detail;
    }
}
