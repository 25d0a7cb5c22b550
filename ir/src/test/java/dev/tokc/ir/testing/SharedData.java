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

    /** The repository root: the nearest folder at or above the working directory that holds {@code mvnw}. */
    public static Path repoRoot() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.exists(dir.resolve("mvnw"))) {
            dir = dir.getParent();
        }
        assumeTrue(dir != null, "repository root (a folder holding mvnw) not found above the working directory");
        return dir;
    }

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

    /** {@code ../shared/<sub>}; skips the calling test when it is absent. */
    public static Path require(String sub) {
        Path p = root().resolve(sub);
        assumeTrue(Files.exists(p), "../shared/" + sub + " not found (looked for " + p + "): skipping");
        return p;
    }

    /** Every model directory under shared/models (those with a config.json), sorted by name. */
    public static java.util.List<Path> modelDirs() throws java.io.IOException {
        try (java.util.stream.Stream<Path> s = Files.list(models())) {
            java.util.List<Path> dirs = s.filter(d -> Files.isRegularFile(d.resolve("config.json"))).sorted().toList();
            assumeTrue(!dirs.isEmpty(), "no models under ../shared/models: skipping");
            return dirs;
        }
    }

    public static Path models() {
        return root().resolve("models");
    }

    public static Path model(String name) {
        return models().resolve(name);
    }
}
