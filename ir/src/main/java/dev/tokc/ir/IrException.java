package dev.tokc.ir;

/** An invalid IR construct: a type or shape mismatch, a broken op invariant, or a text-form error. */
public class IrException extends RuntimeException {
    public IrException(String message) {
        super(message);
    }

    public IrException(String message, Throwable cause) {
        super(message, cause);
    }
}
