package dev.tokc.frontend.onnx;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the project's reference data, {@code ../shared} next to the repository root (the directory holding
 * {@code mvnw}), for tests that need it; they skip with a message when it is absent so that a clone without it
 * still passes its own unit tests.
 */
final class SharedData {
    private SharedData() {}

    /** The repository root: the nearest directory at or above the working directory that holds {@code mvnw}. */
    static Path repoRoot() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("mvnw"))) dir = dir.getParent();
        Assumptions.assumeTrue(dir != null, "repository root (a directory holding mvnw) not found above the working directory");
        return dir;
    }

    /** {@code ../shared/<sub>}, or skips the calling test when it is absent. */
    static Path require(String sub) {
        Path root = repoRoot();
        Path shared = root.resolveSibling("shared");
        Path p = shared.resolve(sub);
        Assumptions.assumeTrue(Files.exists(p), "../shared not found (looked for " + p + "); skipping");
        return p;
    }
}
