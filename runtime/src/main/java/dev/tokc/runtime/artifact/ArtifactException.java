package dev.tokc.runtime.artifact;

/**
 * An engine artifact cannot be written or loaded: a missing, corrupted, truncated or mismatched file, or a manifest
 * that is not valid. The message always names the file (relative to the engine directory where it is one of its
 * files) and what was expected, so a user can tell a stale engine from a damaged download without a debugger.
 */
public class ArtifactException extends RuntimeException {
    public ArtifactException(String message) {
        super(message);
    }

    public ArtifactException(String message, Throwable cause) {
        super(message, cause);
    }
}
