package dev.tokc.cli;

import dev.tokc.ir.IrException;
import java.io.IOException;

/** Classifies exceptions: which ones are about the user's input (message is enough) and which are bugs. */
final class Errors {
    private Errors() {}

    /** True for errors whose message fully explains a problem with the input (bad file, bad IR, I/O). */
    static boolean isExpected(Throwable e) {
        return e instanceof IrException || e instanceof IOException || e instanceof IllegalArgumentException
                || e instanceof dev.tokc.runtime.artifact.ArtifactException
                || e.getClass().getName().startsWith("dev.tokc.frontend.ModelFormatException")
                || e instanceof java.io.UncheckedIOException;
    }
}
