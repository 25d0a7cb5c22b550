package dev.tokc.ir.text;

import org.antlr.v4.runtime.ParserRuleContext;
import org.antlr.v4.runtime.Token;
import org.antlr.v4.runtime.tree.TerminalNode;

/** The file being read, for errors that point at a token: {@code file:line:col: detail}, columns from 1. */
record SourceFile(String name) {

    IrSyntaxException error(Token at, String detail) {
        return new IrSyntaxException(name, at.getLine(), at.getCharPositionInLine() + 1, detail);
    }

    IrSyntaxException error(Token at, String detail, Throwable cause) {
        return new IrSyntaxException(name, at.getLine(), at.getCharPositionInLine() + 1, detail, cause);
    }

    IrSyntaxException error(ParserRuleContext at, String detail) {
        return error(at.getStart(), detail);
    }

    IrSyntaxException error(TerminalNode at, String detail) {
        return error(at.getSymbol(), detail);
    }
}
