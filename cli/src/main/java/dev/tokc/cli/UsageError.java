package dev.tokc.cli;

/** A command line that does not fit the command (missing argument, bad flag value): exit code 2 with usage. */
public class UsageError extends RuntimeException {
    public UsageError(String message) {
        super(message);
    }
}
