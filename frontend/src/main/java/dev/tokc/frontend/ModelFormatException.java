package dev.tokc.frontend;

public class ModelFormatException extends RuntimeException { public ModelFormatException(String message) {super(message);} public ModelFormatException(String message, Throwable cause) {super(message, cause);} }
