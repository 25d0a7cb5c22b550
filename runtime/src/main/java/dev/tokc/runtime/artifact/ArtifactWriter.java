package dev.tokc.runtime.artifact;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Writes an engine artifact (see {@link Manifest}) so that an interrupted write never leaves anything that loads.
 *
 * <p>Everything goes into a staging directory created beside the target ({@code .NAME.partial-*}); the manifest is
 * written last, and only then is the staging directory renamed onto the target. A compile killed at any point
 * leaves at most a staging directory, which has no manifest (or is not at the target path) and so never loads; an
 * existing engine at the target is untouched until the new one is complete. Stale staging directories of killed
 * runs are left for the user to delete (a concurrent writer may own them).
 *
 * <p>An existing target is replaced only with {@link Options#force}, and even then only if it looks like an engine
 * (it has a {@code manifest.json}) or is an empty directory: {@code --force} must not be able to delete a user's
 * unrelated directory. Replacement renames the old engine aside, renames the new one in, then deletes the old one
 * (POSIX cannot swap two directories atomically, so for an instant the target path does not exist; it never
 * holds a partial engine).
 *
 * <p>Tensors are streamed: {@link #addTensor} maps exactly that tensor's 64-byte-aligned region of its weights
 * file, lets a {@link Filler} write the bytes in place, hashes them while they are hot in cache and unmaps them, so
 * memory use does not grow with the model. Other files are written into {@link #stagingDirectory()} (directly, or
 * with {@link #addFile}/{@link #copyFile}) and hashed at {@link #commit}.
 *
 * <p>Usage: {@code try (var w = ArtifactWriter.create(dir, options)) { w.addTensor(...); ...; w.commit(desc); }}.
 * Closing without a successful commit deletes the staging directory. Not thread-safe; a filler may use threads.
 */
public final class ArtifactWriter implements AutoCloseable {
    /**
     * How to write.
     *
     * @param force    replace an existing engine at the target (only after the new one is complete)
     * @param producer recorded in the manifest, e.g. {@code tokc 0.1.0}
     * @param progress receives a snapshot after every tensor and phase change
     */
    public record Options(boolean force, String producer, Progress.Listener progress) {
        public Options {
            if (producer == null || producer.isBlank()) {
                throw new IllegalArgumentException("producer must be named");
            }
            progress = progress == null ? Progress.Listener.NONE : progress;
        }

        /** No force, no progress, producer {@code tokc}. */
        public static Options defaults() {
            return new Options(false, "tokc", Progress.Listener.NONE);
        }

        public Options withForce(boolean force) {
            return new Options(force, producer, progress);
        }

        public Options withProgress(Progress.Listener progress) {
            return new Options(force, producer, progress);
        }
    }

    /** Writes one tensor's bytes into {@code target}, which is exactly {@code byteLength} bytes of the mapped file. */
    @FunctionalInterface
    public interface Filler {
        void fill(MemorySegment target) throws IOException;
    }

    /** A weights file being written: its channel, the next free byte, and the digest of everything before it. */
    private static final class WeightsFile {
        final FileChannel channel;
        final MessageDigest digest = Sha256.newDigest();
        long position;

        WeightsFile(FileChannel channel) {
            this.channel = channel;
        }
    }

    private final Path target;
    private final Path staging;
    private final Options options;
    private final long startNanos = System.nanoTime();
    private final Map<String, WeightsFile> weights = new LinkedHashMap<>();
    private final List<TensorEntry> tensors = new ArrayList<>();
    private final Set<String> tensorNames = new HashSet<>();
    private final List<String> tokenizerFiles = new ArrayList<>();
    private final byte[] chunk = new byte[Sha256.CHUNK];
    private String phase = "weights";
    private int tensorsTotal;
    private long bytesTotal;
    private long bytesDone;
    private boolean committed;
    private boolean closed;
    /** Why this writer can no longer produce a consistent engine, or null while it can. */
    private String broken;

    private ArtifactWriter(Path target, Path staging, Options options) {
        this.target = target;
        this.staging = staging;
        this.options = options;
    }

    /**
     * Starts writing an engine that will appear at {@code target} on {@link #commit}.
     *
     * @throws ArtifactException if {@code target} exists and may not be replaced (see the class comment)
     */
    public static ArtifactWriter create(Path target, Options options) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        if (abs.getParent() == null) {
            throw new ArtifactException(abs + ": cannot write an engine at the file-system root");
        }
        // Checked up front so a refused compile fails in a second, not after converting every tensor.
        checkReplaceable(abs, options.force());
        Files.createDirectories(abs.getParent());
        Path staging = createUniqueDirectory(abs.getParent(), "." + abs.getFileName() + ".partial-");
        return new ArtifactWriter(abs, staging, options);
    }

    /** Where the engine is being assembled; the caller may write further files (e.g. {@code src/}) under it. */
    public Path stagingDirectory() {
        return staging;
    }

    /** The final location. */
    public Path target() {
        return target;
    }

    /** Announces how many tensors and bytes are coming, so progress can show totals and an ETA. */
    public void expect(int tensors, long bytes) {
        this.tensorsTotal = tensors;
        this.bytesTotal = bytes;
        report();
    }

    /** Names the current phase in progress reports (e.g. {@code codegen}). */
    public void phase(String name) {
        this.phase = name;
        report();
    }

    /**
     * Appends a row-major tensor to {@code weights.bin}.
     *
     * @see #addTensor(String, String, String, List, String, long, Filler)
     */
    public TensorEntry addTensor(String name, String dtype, List<Long> shape, long byteLength, Filler filler) throws IOException {
        return addTensor(ParallelLayout.WEIGHTS_FILE, name, dtype, shape, TensorEntry.ROW_MAJOR, byteLength, filler);
    }

    /**
     * Appends a tensor to weights file {@code file} at the next 64-byte boundary and lets {@code filler} write its
     * bytes in place.
     *
     * @return the tensor-table entry recorded for it
     * @throws IllegalArgumentException for a duplicate name or an entry that violates {@link TensorEntry}'s rules
     */
    public TensorEntry addTensor(String file, String name, String dtype, List<Long> shape, String layout, long byteLength,
            Filler filler) throws IOException {
        checkOpen();
        if (tensorNames.contains(name)) {
            throw new IllegalArgumentException("tensor '" + name + "' was already written");
        }
        // Validate the entry before touching any file, so a rejected declaration leaves the writer usable.
        WeightsFile existing = weights.get(file);
        long offset = alignUp(existing == null ? 0 : existing.position, TensorEntry.ALIGNMENT);
        TensorEntry entry = new TensorEntry(name, file, offset, byteLength, dtype, shape, layout);
        WeightsFile w = weightsFile(file);
        tensorNames.add(name);
        Sha256.updateZeros(w.digest, offset - w.position);
        if (byteLength > 0) {
            // A failure part-way leaves the file and digest out of step with the table: nothing may follow it.
            broken = "writing tensor '" + name + "' failed";
            try (Arena arena = Arena.ofConfined()) {
                // Mapping past the end grows the file; the alignment gap before the tensor reads back as zeros.
                MemorySegment region = w.channel.map(FileChannel.MapMode.READ_WRITE, offset, byteLength, arena);
                filler.fill(region);
                Sha256.update(w.digest, region, chunk);
            } catch (InternalError e) {
                // A store to a mapped page the file system cannot back (disk full) arrives as SIGBUS -> InternalError.
                throw new IOException(file + ": writing tensor '" + name + "' failed (is the disk full?)", e);
            }
            broken = null;
        }
        w.position = offset + byteLength;
        tensors.add(entry);
        bytesDone += byteLength;
        report();
        return entry;
    }

    /** Writes {@code content} to the engine file {@code name} (relative, '/'-separated). */
    public void addFile(String name, byte[] content) throws IOException {
        checkOpen();
        Files.write(stagingPath(name), content);
    }

    /** Copies {@code source} to the engine file {@code name}. */
    public void copyFile(String name, Path source) throws IOException {
        checkOpen();
        Files.copy(source, stagingPath(name), StandardCopyOption.REPLACE_EXISTING);
    }

    /** Copies a tokenizer or chat-template file to the engine file {@code name} and lists it as a tokenizer file. */
    public void addTokenizerFile(String name, Path source) throws IOException {
        copyFile(name, source);
        if (!tokenizerFiles.contains(name)) {
            tokenizerFiles.add(name);
        }
    }

    /**
     * The path under the staging directory for engine file {@code name}, with its parent directories created;
     * for callers that write a file themselves (a jar, generated sources).
     */
    public Path stagingPath(String name) throws IOException {
        checkOpen();
        ArtifactPaths.checkRelative(name, "engine file");
        if (name.equals(ArtifactPaths.MANIFEST) || weights.containsKey(name)) {
            throw new IllegalArgumentException("'" + name + "' is written by the ArtifactWriter itself");
        }
        Path p = ArtifactPaths.resolve(staging, name);
        Files.createDirectories(p.getParent());
        return p;
    }

    /**
     * Finishes the engine: flushes the weights files, hashes every other file, writes the manifest and renames the
     * staging directory onto the target (replacing an old engine only with {@link Options#force}).
     *
     * @return the manifest written
     * @throws ArtifactException if the target appeared meanwhile and may not be replaced, or the description does
     *                           not match what was written (a tensor in a file the layout does not list)
     */
    public Manifest commit(EngineDescription description) throws IOException {
        checkOpen();
        Set<String> layoutFiles = new HashSet<>(description.parallel().weightFiles());
        for (String used : weights.keySet()) {
            if (!layoutFiles.contains(used)) {
                throw new ArtifactException("tensors were written to '" + used + "', which is not a weights file of the layout "
                        + description.parallel().weightFiles());
            }
        }
        for (String f : description.parallel().weightFiles()) {
            weightsFile(f); // a rank without tensors still gets its (empty) file, so every rank finds one
        }

        phase("flushing");
        Map<String, FileDigest> digests = new TreeMap<>();
        for (Map.Entry<String, WeightsFile> e : weights.entrySet()) {
            WeightsFile w = e.getValue();
            w.channel.force(true);
            long size = w.channel.size();
            if (size != w.position) {
                throw new IllegalStateException(e.getKey() + ": wrote " + w.position + " bytes but the file has " + size);
            }
            w.channel.close();
            digests.put(e.getKey(), new FileDigest(size, Sha256.hex(w.digest)));
        }

        phase("hashing");
        for (Path p : listFiles(staging)) {
            String name = ArtifactPaths.relativeName(staging, p);
            if (!digests.containsKey(name)) {
                digests.put(name, new FileDigest(Files.size(p), Sha256.ofFile(p)));
            }
        }

        phase("manifest");
        Manifest manifest;
        try {
            manifest = Manifest.of(options.producer(), description, tokenizerFiles, digests, tensors);
        } catch (IllegalArgumentException e) {
            throw new ArtifactException("engine description does not fit the files written: " + e.getMessage(), e);
        }
        Path manifestFile = staging.resolve(ArtifactPaths.MANIFEST);
        try (FileChannel ch = FileChannel.open(manifestFile, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(ManifestJson.write(manifest)));
            ch.force(true);
        }
        syncDirectory(staging);
        // The writer hashed the weights as it wrote them: record that, so the first load need not hash them again.
        // A directory rename keeps the files' inodes and times, so the record stays valid after install().
        for (Map.Entry<String, WeightsFile> e : weights.entrySet()) {
            Path file = ArtifactPaths.resolve(staging, e.getKey());
            VerifiedWeights.waitUntilNotRacy(file);
            VerifiedWeights.record(staging, e.getKey(), digests.get(e.getKey()));
        }

        phase("installing");
        install();
        committed = true;
        closed = true;
        phase("done");
        return manifest;
    }

    /** Abandons an uncommitted engine: closes the weights files and deletes the staging directory. Idempotent. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        IOException failure = null;
        for (WeightsFile w : weights.values()) {
            try {
                w.channel.close();
            } catch (IOException e) {
                failure = e;
            }
        }
        if (!committed) {
            deleteRecursively(staging);
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** {@code value} rounded up to a multiple of {@code alignment} (a power of two), failing on overflow. */
    static long alignUp(long value, long alignment) {
        if (value < 0 || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignUp(" + value + ", " + alignment + ")");
        }
        long mask = alignment - 1;
        return Math.addExact(value, mask) & ~mask;
    }

    private void install() throws IOException {
        checkReplaceable(target, options.force());
        if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
                syncDirectory(target.getParent());
                return;
            } catch (FileAlreadyExistsException e) {
                if (!options.force()) {
                    throw new ArtifactException(target + ": an engine appeared there while this one was written; "
                            + "pass --force to replace it", e);
                }
                checkReplaceable(target, true);
            }
        }
        Path old = createUniqueDirectory(target.getParent(), "." + target.getFileName() + ".old-");
        Files.delete(old); // only the unique name is wanted; the old engine is renamed onto it
        moveAtomically(target, old);
        try {
            moveAtomically(staging, target);
        } catch (IOException | RuntimeException e) {
            moveAtomically(old, target);
            throw e;
        }
        syncDirectory(target.getParent());
        deleteRecursively(old);
    }

    /**
     * A new directory {@code parent/prefix<random>} with default permissions. Not
     * {@link Files#createTempDirectory}: that makes it owner-only (0700), and the staging directory becomes the
     * engine, which other users (a server account) must be able to read.
     */
    private static Path createUniqueDirectory(Path parent, String prefix) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path p = parent.resolve(prefix + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong()));
            try {
                return Files.createDirectory(p);
            } catch (FileAlreadyExistsException e) {
                if (attempt == 100) {
                    throw e;
                }
            }
        }
    }

    private static void checkReplaceable(Path target, boolean force) throws IOException {
        if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!force) {
            throw new ArtifactException(target + " already exists; pass --force to replace it");
        }
        if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new ArtifactException(target + " exists and is not a directory; refusing to replace it even with --force");
        }
        boolean engine = Files.isRegularFile(target.resolve(ArtifactPaths.MANIFEST), LinkOption.NOFOLLOW_LINKS);
        boolean empty;
        try (Stream<Path> s = Files.list(target)) {
            empty = s.findAny().isEmpty();
        }
        if (!engine && !empty) {
            throw new ArtifactException(target + " exists and is not a tokc engine (no manifest.json); refusing to "
                    + "replace it even with --force: delete it yourself or choose another output directory");
        }
    }

    private WeightsFile weightsFile(String file) throws IOException {
        WeightsFile w = weights.get(file);
        if (w == null) {
            ArtifactPaths.checkRelative(file, "weights file");
            Path p = ArtifactPaths.resolve(staging, file);
            Files.createDirectories(p.getParent());
            w = new WeightsFile(FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE));
            weights.put(file, w);
        }
        return w;
    }

    private void report() {
        options.progress().update(new Progress(phase, tensors.size(), tensorsTotal, bytesDone, bytesTotal,
                java.time.Duration.ofNanos(System.nanoTime() - startNanos)));
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("this ArtifactWriter is " + (committed ? "committed" : "closed"));
        }
        if (broken != null) {
            throw new IllegalStateException(broken + " earlier; this engine is incomplete and can only be closed");
        }
    }

    private static List<Path> listFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            List<Path> files = new ArrayList<>();
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isSymbolicLink(p)) {
                    throw new ArtifactException(ArtifactPaths.relativeName(dir, p) + ": engines may not contain symbolic links");
                }
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    files.add(p);
                }
            }
            return files;
        }
    }

    private static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new ArtifactException("cannot rename " + from + " to " + to + " atomically (different file systems?)", e);
        }
    }

    // Makes a rename durable on Linux; elsewhere opening a directory may fail, and then there is nothing to do.
    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // best effort: the rename itself is atomic either way
        }
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
