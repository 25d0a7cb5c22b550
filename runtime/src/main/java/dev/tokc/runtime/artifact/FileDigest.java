package dev.tokc.runtime.artifact;

import java.util.regex.Pattern;

/**
 * What the manifest records of one file of the engine: its size and the sha256 of its bytes (64 lower-case hex
 * digits). The size is checked on every load even when hashing is skipped, so truncation is always caught.
 */
public record FileDigest(long size, String sha256) {
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");

    public FileDigest {
        if (size < 0) {
            throw new IllegalArgumentException("file size must be >= 0, got " + size);
        }
        if (sha256 == null || !HEX64.matcher(sha256).matches()) {
            throw new IllegalArgumentException("sha256 must be 64 lower-case hex digits, got '" + sha256 + "'");
        }
    }
}
