package dev.tokc.runtime.tokenizer;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;

/**
 * Finds the read-only reference data in {@code ../shared} (beside the repository root, the directory holding
 * {@code mvnw}); tests that need it skip with a message when it is absent.
 */
final class SharedData {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final java.util.Map<Path, Tokenizer> TOKENIZERS = new java.util.concurrent.ConcurrentHashMap<>();

    private SharedData() {}

    /** {@code ../shared/<relative>}, or the calling test is skipped (assumption failure) when it does not exist. */
    static Path require(String relative) {
        Path file = resolve(relative);
        assumeTrue(Files.exists(file), "../shared not found: " + file.toAbsolutePath()
                + " is missing (reference data lives beside the repository root)");
        return file;
    }

    static boolean exists(String relative) {
        return Files.exists(resolve(relative));
    }

    /**
     * For a {@code @TestFactory} whose data is missing: one dynamic test that is skipped with the reason, so the
     * report shows a skip instead of silently having no tests.
     */
    static Stream<DynamicTest> skipped(String relative) {
        return Stream.of(DynamicTest.dynamicTest("needs ../shared/" + relative, () -> require(relative)));
    }

    private static Path resolve(String relative) {
        Path root = repoRoot();
        Path shared = root == null ? Path.of("../shared") : root.resolve("../shared").normalize();
        return shared.resolve(relative);
    }

    /** The tokenizer at {@code ../shared/<relative>}, loaded once per test JVM (the big vocabularies take a while). */
    static Tokenizer tokenizer(String relative) {
        return TOKENIZERS.computeIfAbsent(require(relative), Tokenizers::load);
    }

    static JsonNode json(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    private static Path repoRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("mvnw"))) {
                return dir;
            }
        }
        return null;
    }
}
