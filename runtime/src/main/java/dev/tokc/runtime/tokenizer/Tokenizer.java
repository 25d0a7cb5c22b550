package dev.tokc.runtime.tokenizer;

/**
 * Turns text into token ids and back, for one model's vocabulary.
 *
 * <p>Contract shared by every implementation:
 * <ul>
 *   <li>{@link #encode(String, boolean)} never adds special tokens when {@code addSpecial} is false; with it true the
 *       tokenizer adds what its own files say (a BOS for Llama 2, a TemplateProcessing post-processor, nothing for a
 *       tokenizer.json whose post-processor adds nothing).</li>
 *   <li>{@link #decode(int[])} keeps special tokens as their text; {@link #decode(int[], boolean)} can skip them.
 *       Invalid UTF-8 (a multi-byte character cut between tokens) decodes to U+FFFD; use {@link StreamingDecoder}
 *       to decode token by token without that.</li>
 *   <li>Ids outside {@code [0, vocabSize())} are rejected with an {@link IllegalArgumentException}.</li>
 *   <li>Implementations are immutable after loading and safe to use from several threads.</li>
 * </ul>
 */
public interface Tokenizer {

    /**
     * Encodes {@code text}; with {@code addSpecial} the tokenizer's BOS/EOS (or template) tokens are added. Special
     * tokens written in the text (e.g. {@code <|eot_id|>} in a rendered chat prompt) become their ids, as in
     * Hugging Face; use {@link #encode(String, boolean, boolean)} to keep them as text.
     */
    default int[] encode(String text, boolean addSpecial) {
        return encode(text, addSpecial, true);
    }

    /**
     * Encodes {@code text}; with {@code parseSpecial} false, special tokens written in the text are encoded as
     * ordinary text, which is what untrusted user content needs (it must not be able to forge a turn boundary).
     * Non-special added tokens are still matched.
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /** Decodes ids to text, special tokens included as their text. */
    default String decode(int[] ids) {
        return decode(ids, false);
    }

    /** Decodes ids to text; with {@code skipSpecial} special tokens (BOS, EOS, control tokens) are left out. */
    String decode(int[] ids, boolean skipSpecial);

    /** Number of ids, added tokens included: every id in {@code [0, vocabSize())} may appear in the output. */
    int vocabSize();

    /** The id of a token given as its vocabulary string (e.g. {@code "<|eot_id|>"}, {@code "Ġthe"}), or -1. */
    int tokenToId(String token);

    /** The vocabulary string of an id (byte-level or metaspace form, not decoded text), or null for a gap. */
    String idToToken(int id);

    /** Whether the id is a special (control) token, left out by {@code decode(ids, true)}. */
    boolean isSpecial(int id);

    /** The beginning-of-sequence id, or -1 when the tokenizer has none. */
    int bosId();

    /** The end-of-sequence id, or -1 when the tokenizer has none. */
    int eosId();
}
