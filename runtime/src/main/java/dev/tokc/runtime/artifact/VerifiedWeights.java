package dev.tokc.runtime.artifact;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Remembers, inside the engine directory ({@value #FILE}), that a weights file was hashed and matched the manifest,
 * keyed by the file's identity, so later loads can skip re-hashing gigabytes that have not changed.
 *
 * <p>Identity = device, inode, size, modification time and status-change time ({@code ctime}), all in nanoseconds,
 * plus the sha256 the manifest expects. Any write to the file, a {@code touch} restoring its mtime, a copy or a
 * replacement changes at least the ctime or the inode (the ctime cannot be set by users), so the entry no longer
 * matches and the next load hashes again. What it does not catch is a change below the file system (bit rot, a raw
 * block write): {@code tokc inspect --verify} ({@link ArtifactReader.Options#full}) always hashes everything.
 *
 * <p>The racy case: file times have a granularity (the kernel's coarse clock, ~1-10 ms on Linux), so a write in the
 * same tick as the hashing could leave every time unchanged. An entry is therefore only written, and only trusted,
 * when it was recorded at least {@link #RACY_NANOS} after the file's last change (git's "racy clean" rule).
 *
 * <p>Best effort on the writing side: a read-only engine directory or a platform without the {@code unix} file
 * attribute view simply gets no entry, and every load hashes, as before. The file is not listed in the manifest
 * (the reader ignores unlisted files), and a damaged or foreign one is ignored.
 */
final class VerifiedWeights {
    /** The record's name in the engine directory. */
    static final String FILE = ".tokc-verified";
    /** Minimum gap between a file's last change and a trusted record of it (well above any Linux timestamp tick). */
    static final long RACY_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final String HEADER = "tokc-verified 1";

    private VerifiedWeights() {}

    /** What identifies one version of a file's bytes. */
    record Identity(long dev, long ino, long size, long mtimeNanos, long ctimeNanos) {
        /** Nanoseconds since the epoch of the file's last change (data or metadata). */
        long lastChangeNanos() {
            return Math.max(mtimeNanos, ctimeNanos);
        }
    }

    /** The identity of {@code file}, or empty where the platform does not expose inode and ctime. */
    static Optional<Identity> identity(Path file) {
        try {
            Map<String, Object> a = Files.readAttributes(file, "unix:dev,ino,size,lastModifiedTime,ctime",
                    LinkOption.NOFOLLOW_LINKS);
            return Optional.of(new Identity(((Number) a.get("dev")).longValue(), ((Number) a.get("ino")).longValue(),
                    ((Number) a.get("size")).longValue(), nanos((FileTime) a.get("lastModifiedTime")),
                    nanos((FileTime) a.get("ctime"))));
        } catch (UnsupportedOperationException | IllegalArgumentException | IOException | ClassCastException e) {
            return Optional.empty();
        }
    }

    private static long nanos(FileTime t) {
        return t.to(TimeUnit.NANOSECONDS);
    }

    /**
     * Whether {@code dir/name} was hashed to {@code expected.sha256()} since its last change (a trusted entry of
     * {@value #FILE} with the file's current identity).
     */
    static boolean isVerified(Path dir, String name, FileDigest expected) {
        Optional<Identity> id = identity(ArtifactPaths.resolve(dir, name));
        if (id.isEmpty() || id.get().size() != expected.size()) {
            return false;
        }
        for (Entry e : read(dir)) {
            if (e.name().equals(name) && e.sha256().equals(expected.sha256()) && e.identity().equals(id.get())
                    && e.recordedNanos() - id.get().lastChangeNanos() >= RACY_NANOS) {
                return true;
            }
        }
        return false;
    }

    /**
     * Records that {@code dir/name} has just been hashed to {@code digest}. Skipped (best effort, never an error) when
     * the file changed too recently to be told apart from a later change, or the directory is not writable.
     */
    static void record(Path dir, String name, FileDigest digest) {
        Optional<Identity> id = identity(ArtifactPaths.resolve(dir, name));
        long now = nowNanos();
        if (id.isEmpty() || id.get().size() != digest.size() || now - id.get().lastChangeNanos() < RACY_NANOS) {
            return;
        }
        List<Entry> entries = new ArrayList<>();
        for (Entry e : read(dir)) {
            if (!e.name().equals(name)) {
                entries.add(e);
            }
        }
        entries.add(new Entry(name, digest.sha256(), id.get(), now));
        StringBuilder sb = new StringBuilder(HEADER).append('\n');
        for (Entry e : entries) {
            Identity i = e.identity();
            sb.append(String.join("\t", e.name(), e.sha256(), Long.toString(i.dev()), Long.toString(i.ino()),
                    Long.toString(i.size()), Long.toString(i.mtimeNanos()), Long.toString(i.ctimeNanos()),
                    Long.toString(e.recordedNanos()))).append('\n');
        }
        Path tmp = null;
        try {
            tmp = Files.createTempFile(dir, FILE, ".tmp");
            Files.writeString(tmp, sb, StandardCharsets.UTF_8);
            Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // nothing more to do: the record is an optimisation
                }
            }
        }
    }

    /**
     * Waits until {@code file}'s last change is {@link #RACY_NANOS} in the past (at most that long), so a record made
     * right after writing it can be trusted. Used by the writer at the end of a compile.
     */
    static void waitUntilNotRacy(Path file) {
        Optional<Identity> id = identity(file);
        if (id.isEmpty()) {
            return;
        }
        long wait = id.get().lastChangeNanos() + RACY_NANOS - nowNanos();
        if (wait > 0) {
            try {
                TimeUnit.NANOSECONDS.sleep(Math.min(wait, RACY_NANOS) + TimeUnit.MILLISECONDS.toNanos(1));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private record Entry(String name, String sha256, Identity identity, long recordedNanos) {}

    private static List<Entry> read(Path dir) {
        List<Entry> out = new ArrayList<>();
        try {
            List<String> lines = Files.readAllLines(dir.resolve(FILE), StandardCharsets.UTF_8);
            if (lines.isEmpty() || !lines.get(0).equals(HEADER)) {
                return out;
            }
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.split("\t");
                if (f.length != 8) {
                    continue;
                }
                out.add(new Entry(f[0], f[1], new Identity(Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]),
                        Long.parseLong(f[5]), Long.parseLong(f[6])), Long.parseLong(f[7])));
            }
        } catch (IOException | RuntimeException e) {
            return List.of(); // no record, or a damaged one: hash
        }
        return out;
    }

    private static long nowNanos() {
        java.time.Instant now = java.time.Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }
}
