package dev.tokc.frontend;

/**
 * A model file or directory that tokc cannot read: truncated, not the format it claims to be, internally
 * inconsistent, or pointing outside itself. The message names the offending file and, where known, the tensor
 * or node.
 */
public class ModelFormatException extends RuntimeException {
    public ModelFormatException(String message) {super(message);}
    public ModelFormatException(String message, Throwable cause) {super(message, cause);}
}
