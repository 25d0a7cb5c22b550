package dev.tokc.runtime.artifact;

import java.nio.file.Path;

/**
 * Rules for the file names a manifest may contain. Names are relative, '/'-separated and stay inside the engine
 * directory: a manifest is data from disk, and must not be able to make the loader hash or map
 * {@code ../../etc/shadow} or an absolute path.
 */
final class ArtifactPaths {
    /** The manifest's own name; it is the one file the manifest does not list. */
    static final String MANIFEST = "manifest.json";

    private ArtifactPaths() {}

    /** Throws IllegalArgumentException unless {@code name} is a clean relative path inside the engine. */
    static String checkRelative(String name, String what) {
        if (name == null || name.isEmpty() || name.startsWith("/") || name.contains("\\") || name.contains("//")
                || name.endsWith("/") || name.indexOf(':') >= 0) {
            throw new IllegalArgumentException(what + " '" + name + "' must be a relative '/'-separated path inside the engine");
        }
        for (String part : name.split("/")) {
            if (part.equals(".") || part.equals("..")) {
                throw new IllegalArgumentException(what + " '" + name + "' must not contain '.' or '..' components");
            }
        }
        return name;
    }

    /** {@code dir} joined with the relative '/'-separated {@code name}. */
    static Path resolve(Path dir, String name) {
        Path p = dir;
        for (String part : name.split("/")) {
            p = p.resolve(part);
        }
        return p;
    }

    /** The '/'-separated name of {@code file} relative to {@code dir}, whatever the platform's separator. */
    static String relativeName(Path dir, Path file) {
        StringBuilder sb = new StringBuilder();
        for (Path part : dir.relativize(file)) {
            if (!sb.isEmpty()) {
                sb.append('/');
            }
            sb.append(part);
        }
        return sb.toString();
    }
}
