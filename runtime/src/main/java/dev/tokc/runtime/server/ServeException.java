package dev.tokc.runtime.server;

/** The server cannot start as configured (memory plan, engine, tokenizer, port): one line saying why. */
public final class ServeException extends RuntimeException {
    public ServeException(String message) {
        super(message);
    }

    public ServeException(String message, Throwable cause) {
        super(message, cause);
    }
}
