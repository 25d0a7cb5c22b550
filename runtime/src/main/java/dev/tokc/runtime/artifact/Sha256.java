package dev.tokc.runtime.artifact;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 helpers: the one digest the manifest uses, fed through a reusable 1 MiB heap chunk. */
final class Sha256 {
    /** Big enough to amortise the per-call overhead, small enough to stay in L2. */
    static final int CHUNK = 1 << 20;

    private Sha256() {}

    static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform provides SHA-256", e);
        }
    }

    static String hex(MessageDigest d) {
        return HexFormat.of().formatHex(d.digest());
    }

    /** Feeds {@code segment}'s bytes to {@code d}, copying through {@code chunk}. */
    static void update(MessageDigest d, MemorySegment segment, byte[] chunk) {
        long size = segment.byteSize();
        for (long pos = 0; pos < size; pos += chunk.length) {
            int n = (int) Math.min(chunk.length, size - pos);
            MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, pos, chunk, 0, n);
            d.update(chunk, 0, n);
        }
    }

    /** Feeds {@code count} zero bytes to {@code d}. */
    static void updateZeros(MessageDigest d, long count) {
        byte[] zeros = new byte[(int) Math.min(count, CHUNK)];
        for (long left = count; left > 0; left -= zeros.length) {
            d.update(zeros, 0, (int) Math.min(zeros.length, left));
        }
    }

    /** The digest of a whole file, as hex. */
    static String ofFile(Path file) throws IOException {
        MessageDigest d = newDigest();
        ByteBuffer buf = ByteBuffer.allocate(CHUNK);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (ch.read(buf.clear()) >= 0) {
                d.update(buf.array(), 0, buf.position());
            }
        }
        return hex(d);
    }
}
