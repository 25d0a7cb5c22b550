package dev.tokc.codegen.jvm;

/** The graph cannot be compiled for the JVM: the message names the node and op, and why each binding refused it. */
public final class CodegenException extends RuntimeException {
    public CodegenException(String message) {
        super(message);
    }

    public CodegenException(String message, Throwable cause) {
        super(message, cause);
    }
}
