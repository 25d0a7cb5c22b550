package dev.tokc.ir.interp;

import dev.tokc.ir.IrException;
import dev.tokc.ir.Node;

/**
 * A failure while interpreting a graph: a missing or mis-shaped input, a value whose actual shape contradicts its
 * declared type, an index out of range, or an op the reference cannot run without a runtime (collectives, pipeline
 * channels). The message starts with the node ({@link Node#describe()}) when one is involved.
 */
public class InterpreterException extends IrException {
    public InterpreterException(String message) {
        super(message);
    }

    public InterpreterException(Node node, String message) {
        super(node.describe() + ": " + message);
    }

    public InterpreterException(Node node, String message, Throwable cause) {
        super(node.describe() + ": " + message, cause);
    }
}
