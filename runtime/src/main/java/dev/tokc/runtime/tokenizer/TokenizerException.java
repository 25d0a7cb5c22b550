package dev.tokc.runtime.tokenizer;

import java.nio.file.Path;

/** A tokenizer or chat template file that is missing, malformed or uses a feature tokc does not support. */
public final class TokenizerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }

    /** A message that names the file first, e.g. {@code "tokenizer.json (/m/tokenizer.json): expected ..."}. */
    static TokenizerException inFile(Path file, String problem) {
        return new TokenizerException(file.getFileName() + " (" + file + "): " + problem);
    }

    static TokenizerException inFile(Path file, String problem, Throwable cause) {
        return new TokenizerException(file.getFileName() + " (" + file + "): " + problem, cause);
    }
}
