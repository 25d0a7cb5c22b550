package dev.tokc.runtime.artifact;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;

/**
 * Reads and checks an engine directory: the manifest first, then every file it lists.
 *
 * <p>Checks, in order, each failing with an {@link ArtifactException} that names the file and what was expected:
 * the directory and its {@code manifest.json} exist; the manifest is valid JSON of the supported format version
 * and its fields obey the {@link Manifest} invariants; every listed file exists as a regular file of exactly the
 * recorded size (all sizes are checked before any hashing, so truncation is reported in milliseconds); every
 * listed file's sha256 matches, except the weights files when {@link Options#verifyWeights} is off, or when
 * {@link Options#reuseVerification} is on and {@link VerifiedWeights} recorded that this very file (same inode,
 * size, mtime and ctime) already matched; every tensor ends inside its weights file. Files in the directory that
 * the manifest does not list are ignored.
 *
 * <p>Why a weights file is not hashed on every start: hashing 2.2 GB costs ~1.2 s of a 3 s start-up budget. The
 * small files (manifest, program, tokenizer) are always hashed, sizes and tensor ranges always checked, and a
 * weights file is hashed whenever it is new or changed since its last successful hash; {@code tokc inspect --verify}
 * hashes everything unconditionally.
 */
public final class ArtifactReader {
    /**
     * How much to check.
     *
     * @param verifyWeights      hash the weights files too (their sizes are always checked); hashing a 2 GB file
     *                           costs about a second, which is the whole start-up budget
     * @param reuseVerification  skip the hash of a weights file that {@link VerifiedWeights} recorded as matching
     *                           since its last change, and record each successful hash for the next load
     */
    public record Options(boolean verifyWeights, boolean reuseVerification) {
        /** Hash every file, whatever was recorded ({@code tokc inspect --verify}). */
        public static Options full() {
            return new Options(true, false);
        }

        /**
         * Hash every file, except a weights file unchanged since it last matched (the default for loading an
         * engine to run it).
         */
        public static Options verifyOnce() {
            return new Options(true, true);
        }

        /** Hash every file except the weights files. */
        public static Options skipWeightsHash() {
            return new Options(false, false);
        }
    }

    private ArtifactReader() {}

    /**
     * Parses {@code dir/manifest.json} without looking at the other files (for tools that only show it).
     *
     * @throws ArtifactException if the directory or manifest is missing, or the manifest is invalid
     */
    public static Manifest readManifest(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new ArtifactException(dir + ": no such engine directory");
        }
        Path file = dir.resolve(ArtifactPaths.MANIFEST);
        if (!Files.isRegularFile(file)) {
            throw new ArtifactException(dir + ": missing manifest.json; this is not a tokc engine, or its compile was interrupted");
        }
        try {
            return ManifestJson.parse(Files.readAllBytes(file));
        } catch (ArtifactException e) {
            throw new ArtifactException(dir + ": " + e.getMessage(), e.getCause());
        }
    }

    /** Reads the manifest and checks every file it lists (see the class comment). */
    public static Manifest readAndVerify(Path dir, Options options) throws IOException {
        Manifest m = readManifest(dir);
        verifyFiles(dir, m, options);
        return m;
    }

    /** Checks sizes, then digests, of the files {@code manifest} lists under {@code dir}, then the tensor ranges. */
    public static void verifyFiles(Path dir, Manifest manifest, Options options) throws IOException {
        for (Map.Entry<String, FileDigest> e : manifest.files().entrySet()) {
            Path p = ArtifactPaths.resolve(dir, e.getKey());
            if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                throw new ArtifactException(dir + ": missing file " + e.getKey() + " (manifest lists it with "
                        + e.getValue().size() + " bytes)");
            }
            long size = Files.size(p);
            if (size != e.getValue().size()) {
                throw new ArtifactException(dir + ": " + e.getKey() + " has " + size + " bytes but the manifest says "
                        + e.getValue().size() + (size < e.getValue().size() ? " (truncated)" : "") + "; recompile the engine");
            }
        }
        var weightFiles = manifest.parallel().weightFiles();
        for (Map.Entry<String, FileDigest> e : manifest.files().entrySet()) {
            boolean isWeights = weightFiles.contains(e.getKey());
            if (isWeights && (!options.verifyWeights()
                    || options.reuseVerification() && VerifiedWeights.isVerified(dir, e.getKey(), e.getValue()))) {
                continue;
            }
            String actual = Sha256.ofFile(ArtifactPaths.resolve(dir, e.getKey()));
            if (!actual.equals(e.getValue().sha256())) {
                throw new ArtifactException(dir + ": " + e.getKey() + " is corrupted: sha256 " + actual
                        + ", but the manifest expects " + e.getValue().sha256() + "; recompile the engine");
            }
            if (isWeights && options.reuseVerification()) {
                VerifiedWeights.record(dir, e.getKey(), e.getValue());
            }
        }
        for (TensorEntry t : manifest.tensors()) {
            long size = manifest.files().get(t.file()).size();
            if (t.end() > size) {
                throw new ArtifactException(dir + ": tensor '" + t.name() + "' spans bytes [" + t.offset() + ", " + t.end()
                        + ") of " + t.file() + ", past its end at " + size);
            }
        }
    }
}
