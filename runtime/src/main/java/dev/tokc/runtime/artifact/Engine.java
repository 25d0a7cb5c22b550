package dev.tokc.runtime.artifact;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A loaded engine: its verified manifest and its weights files memory-mapped read-only, with a zero-copy
 * {@link MemorySegment} view per tensor.
 *
 * <p>The weights are mapped with a shared arena, so views may be read from any thread (the kernels' worker pool);
 * they stay valid until {@link #close}, after which any access to them throws {@link IllegalStateException}
 * instead of reading freed memory. Pages are read from disk on first touch, so opening costs the hashing chosen in
 * {@link ArtifactReader.Options} plus microseconds per file, not a copy of the weights.
 */
public final class Engine implements AutoCloseable {
    private final Path directory;
    private final Manifest manifest;
    private final Arena arena;
    private final Map<String, MemorySegment> files;
    private final Map<String, TensorEntry> tensors;

    private Engine(Path directory, Manifest manifest, Arena arena, Map<String, MemorySegment> files) {
        this.directory = directory;
        this.manifest = manifest;
        this.arena = arena;
        this.files = files;
        this.tensors = manifest.tensorsByName();
    }

    /**
     * Opens {@code dir}, hashing every file except a weights file already verified since its last change
     * ({@link ArtifactReader.Options#verifyOnce}).
     */
    public static Engine open(Path dir) throws IOException {
        return open(dir, ArtifactReader.Options.verifyOnce());
    }

    /**
     * Opens {@code dir}: reads and verifies it as {@link ArtifactReader} describes, then maps each weights file.
     *
     * @throws ArtifactException for a missing, corrupted, truncated or mismatched engine
     */
    public static Engine open(Path dir, ArtifactReader.Options options) throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        Manifest manifest = ArtifactReader.readAndVerify(abs, options);
        Arena arena = Arena.ofShared();
        try {
            Map<String, MemorySegment> mapped = new LinkedHashMap<>();
            for (String f : manifest.parallel().weightFiles()) {
                mapped.put(f, map(ArtifactPaths.resolve(abs, f), manifest.files().get(f).size(), arena));
            }
            return new Engine(abs, manifest, arena, mapped);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static MemorySegment map(Path file, long expectedSize, Arena arena) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size != expectedSize) {
                // The file changed between verification and mapping.
                throw new ArtifactException(file + ": has " + size + " bytes but the manifest says " + expectedSize);
            }
            if (size == 0) {
                return MemorySegment.NULL; // nothing to map (a rank without tensors); a zero-length segment
            }
            return asNativeSegment(ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena), arena);
        }
    }

    /**
     * The mapped file as a plain native segment over the same pages, read-only, valid while {@code arena} is.
     *
     * <p>Why: a mapped file's segment is a different class from the arena memory that holds activations and the KV
     * cache, and C2 compiles each kernel for the segment classes it has seen at each load. A helper that reads both
     * (the int8 and fp8 widening shared by weights and a quantized KV cache, for one) or a kernel that once saw a
     * copy of a weight in arena memory is compiled for two classes, with a type check and a slower load in every
     * step of its loop: one TinyLlama w4a8 step's products ran 6-8 % slower from mapped weights once the same kernels
     * had also seen arena copies (docs/benchmarks.md, "One segment class"). With every segment native the kernels
     * see one class. {@code reinterpret} is a restricted method: where native access is not enabled for this code
     * (a host application that embeds the runtime without {@code --enable-native-access}) the mapped segment is
     * kept as it is, correct and without the JDK's warning.
     */
    private static MemorySegment asNativeSegment(MemorySegment mapped, Arena arena) {
        if (!Engine.class.getModule().isNativeAccessEnabled()) {
            return mapped;
        }
        return MemorySegment.ofAddress(mapped.address()).reinterpret(mapped.byteSize(), arena, null).asReadOnly();
    }

    /** The engine directory (absolute). */
    public Path directory() {
        return directory;
    }

    public Manifest manifest() {
        return manifest;
    }

    /** The tensor-table entry for {@code name}, if the engine has that tensor. */
    public Optional<TensorEntry> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /**
     * A read-only, zero-copy view of tensor {@code name}'s bytes in its mapped weights file.
     *
     * @throws ArtifactException if the engine has no such tensor
     * @throws IllegalStateException after {@link #close}
     */
    public MemorySegment tensor(String name) {
        TensorEntry t = tensors.get(name);
        if (t == null) {
            throw new ArtifactException(directory + ": engine has no tensor named '" + name + "'");
        }
        return view(t);
    }

    /** The view of {@code entry}, which must be one of this engine's tensors. */
    public MemorySegment view(TensorEntry entry) {
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException("engine " + directory + " is closed");
        }
        MemorySegment file = files.get(entry.file());
        if (file == null || !entry.equals(tensors.get(entry.name()))) {
            throw new IllegalArgumentException("tensor '" + entry.name() + "' is not a tensor of this engine");
        }
        // Verified at load; asSlice checks again, so a bad entry can never read outside the mapping.
        return file.asSlice(entry.offset(), entry.byteLength());
    }

    /** The whole mapped weights file {@code name} (one of {@code manifest().parallel().weightFiles()}). */
    public MemorySegment weightsFile(String name) {
        MemorySegment s = files.get(name);
        if (s == null) {
            throw new IllegalArgumentException("'" + name + "' is not a weights file of this engine: " + files.keySet());
        }
        return s;
    }

    /** The path of engine file {@code name} (e.g. {@code program.jar}), which the manifest must list. */
    public Path file(String name) {
        if (!manifest.files().containsKey(name)) {
            throw new ArtifactException(directory + ": engine has no file " + name);
        }
        return ArtifactPaths.resolve(directory, name);
    }

    /** Unmaps the weights; every view becomes inaccessible. Idempotent. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
