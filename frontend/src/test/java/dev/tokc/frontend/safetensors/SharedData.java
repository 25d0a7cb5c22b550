package dev.tokc.frontend.safetensors;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Finds the {@code ../shared} reference data next to the repository root (the directory holding {@code mvnw},
 * found by walking up from the working directory) and skips the calling test when it is absent.
 */
public final class SharedData {
    private SharedData() {}

    /** The shared/ directory; skips the test (assumption failure) when it cannot be found. */
    public static Path root() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("mvnw"))) {
            dir = dir.getParent();
        }
        Path shared = dir == null ? null : dir.resolveSibling("shared");
        boolean found = shared != null && Files.isDirectory(shared.resolve("models"));
        assumeTrue(found, "../shared not found next to the repository root (looked at " + shared + "); skipping");
        return shared;
    }

    /** Every model directory under shared/models, sorted by name; skips when there are none. */
    public static List<Path> modelDirs() throws IOException {
        try (Stream<Path> s = Files.list(root().resolve("models"))) {
            List<Path> dirs = s.filter(d -> Files.isRegularFile(d.resolve("config.json"))).sorted().toList();
            assumeTrue(!dirs.isEmpty(), "no models under ../shared/models; skipping");
            return dirs;
        }
    }
}
