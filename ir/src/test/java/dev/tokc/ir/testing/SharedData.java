package dev.tokc.ir.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the {@code ../shared} reference data (models, tokenizers, corpus, ONNX node tests) beside the repository
 * root, which is found by walking up from the working directory to the folder holding {@code mvnw}. Tests that need
 * it call {@link #root()}, which skips the test with a clear message when it is absent, so a clone without
 * {@code ../shared} still builds and passes its own unit tests.
 */
public final class SharedData {
    private SharedData() {}

    /** The shared/ directory, or empty when it is not there. */
    public static java.util.Optional<Path> find() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.exists(dir.resolve("mvnw"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            return java.util.Optional.empty();
        }
        Path shared = dir.resolveSibling("shared");
        return Files.isDirectory(shared.resolve("models")) ? java.util.Optional.of(shared) : java.util.Optional.empty();
    }

    /** The shared/ directory; skips the calling test (assumption failure) with a message when absent. */
    public static Path root() {
        var shared = find();
        assumeTrue(shared.isPresent(), "../shared not found beside the repository root: skipping a test that needs the reference data");
        return shared.get();
    }

    public static Path models() {
        return root().resolve("models");
    }

    public static Path model(String name) {
        return models().resolve(name);
    }
}
