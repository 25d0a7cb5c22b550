package dev.tokc.runtime.tokenizer;

import java.util.Arrays;

/**
 * Decodes generated tokens one at a time into text deltas, for streaming responses.
 *
 * <p>A token can end in the middle of a UTF-8 character (byte-level and byte-fallback vocabularies split emoji and
 * CJK into byte tokens), and some decoders change a token's text depending on its position (the first token's
 * dummy-prefix space). So each step decodes a short window of recent tokens twice, without and with the new ones,
 * and emits the difference only once it no longer ends in U+FFFD; held-back tokens are re-decoded with the next
 * token. The window starts a few tokens before the unread ones, so position-dependent rules apply the same way in
 * both decodes. Concatenating every delta and {@link #flush()} gives the decode of the whole sequence.
 *
 * <p>Not thread-safe: one instance per generated sequence.
 */
public final class StreamingDecoder {
    /** Tokens of context kept before the unread ones; enough for any decoder's look-behind. */
    private static final int CONTEXT = 5;

    private final Tokenizer tokenizer;
    private final boolean skipSpecial;
    /** The decode window: up to {@link #CONTEXT} emitted tokens, then the ones not emitted yet. */
    private int[] ids;
    private int size;
    /** Tokens before this index have been emitted. */
    private int readOffset;

    /** A decoder for text generated from scratch. */
    public StreamingDecoder(Tokenizer tokenizer, boolean skipSpecial) {
        this(tokenizer, new int[0], skipSpecial);
    }

    /**
     * A decoder whose output continues {@code context} (normally the prompt ids): the context is never emitted, only
     * used so that the first generated token decodes as it would inside the whole sequence (e.g. {@code ▁Hello}
     * after a prompt yields {@code " Hello"}, not {@code "Hello"}).
     */
    public StreamingDecoder(Tokenizer tokenizer, int[] context, boolean skipSpecial) {
        this.tokenizer = tokenizer;
        this.skipSpecial = skipSpecial;
        int keep = Math.min(context.length, CONTEXT);
        ids = Arrays.copyOf(Arrays.copyOfRange(context, context.length - keep, context.length), Math.max(16, keep * 2));
        size = keep;
        readOffset = keep;
    }

    /** Adds one token; returns the text it completes (possibly empty while a character is still incomplete). */
    public String push(int id) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size++] = id;
        String before = tokenizer.decode(Arrays.copyOf(ids, readOffset), skipSpecial);
        String after = tokenizer.decode(Arrays.copyOf(ids, size), skipSpecial);
        if (after.length() <= before.length() || after.endsWith("\uFFFD")) {
            return "";
        }
        String delta = after.substring(before.length());
        compact(size);
        return delta;
    }

    /** The text of tokens still held back (an incomplete character decodes to U+FFFD); resets the window. */
    public String flush() {
        String before = tokenizer.decode(Arrays.copyOf(ids, readOffset), skipSpecial);
        String after = tokenizer.decode(Arrays.copyOf(ids, size), skipSpecial);
        compact(size);
        return after.length() > before.length() ? after.substring(before.length()) : "";
    }

    /** Marks everything up to {@code read} as emitted and drops ids that fell out of the context window. */
    private void compact(int read) {
        readOffset = read;
        int drop = Math.max(0, readOffset - CONTEXT);
        if (drop > 0) {
            System.arraycopy(ids, drop, ids, 0, size - drop);
            size -= drop;
            readOffset -= drop;
        }
    }
}
