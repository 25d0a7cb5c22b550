package dev.tokc.runtime.kv;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The identity of a full KV block's contents: a hash of the parent block's hash and this block's token ids, so
 * equal hashes mean equal whole prefixes, not just equal blocks.
 *
 * <pre>
 *   tokens:  [t0 .. t15][t16 .. t31][t32 .. t47][t48 ..
 *   hash:     h0 = H(root, t0..t15)
 *                        h1 = H(h0, t16..t31)
 *                                    h2 = H(h1, t32..t47)    (the partial last block has no hash)
 * </pre>
 *
 * H is SHA-256 truncated to 128 bits. A collision would silently hand one request another's KV cache, so a fast
 * 64-bit mix is not good enough; hashing a 16-token block this way costs about a microsecond, once per block.
 */
public record BlockHash(long hi, long lo) {

    /** The parent of the first block. */
    public static final BlockHash ROOT = new BlockHash(0L, 0L);

    /** Hashes {@code tokens[from, from+count)} under {@code parent}, reusing {@code digest} (not thread-safe). */
    static BlockHash of(MessageDigest digest, BlockHash parent, int[] tokens, int from, int count) {
        ByteBuffer buf = ByteBuffer.allocate(16 + 4 + 4 * count);
        buf.putLong(parent.hi).putLong(parent.lo).putInt(count);
        for (int i = 0; i < count; i++) {
            buf.putInt(tokens[from + i]);
        }
        digest.reset();
        ByteBuffer d = ByteBuffer.wrap(digest.digest(buf.array()));
        return new BlockHash(d.getLong(), d.getLong());
    }

    static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform must provide SHA-256", e);
        }
    }
}
