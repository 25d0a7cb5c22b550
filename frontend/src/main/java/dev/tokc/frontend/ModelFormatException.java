package dev.tokc.frontend;

/**
 * A model file (safetensors, config.json, ONNX, ...) is malformed or uses a feature tokc does not support.
 *
 * <p>Shared by all importers. The message always names the file and the field or tensor at fault, and for an
 * unsupported setting what is supported, so that a user can act on it without a stack trace.
 */
public class ModelFormatException extends RuntimeException {
    public ModelFormatException(String message) {
        super(message);
    }

    public ModelFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
