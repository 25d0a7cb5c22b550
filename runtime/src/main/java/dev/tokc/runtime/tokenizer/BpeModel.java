package dev.tokc.runtime.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The BPE model of Hugging Face tokenizers: splits one pre-tokenized word into vocabulary ids by applying merges in
 * rank order (rank = position in the merges list, lowest first; ties go to the leftmost pair).
 *
 * <p>Merging runs over a linked list of symbols with a binary heap of candidate pairs, so a word of n characters costs
 * O(n log n) rather than the O(n²) of rescanning after each merge. Results are cached per word (bounded), which is what
 * makes ordinary text fast: most words repeat.
 *
 * <p>Options follow the tokenizer.json fields: {@code unk_token} (with {@code fuse_unk}), {@code byte_fallback}
 * ({@code <0xXX>} tokens for characters missing from the vocabulary), {@code ignore_merges} (a word that is itself in
 * the vocabulary is emitted whole, as Llama 3 requires), {@code continuing_subword_prefix} and
 * {@code end_of_word_suffix}. A character with no id, no byte fallback and no unknown token is dropped, as in
 * Hugging Face. Dropout is not supported (inference never uses it).
 */
public final class BpeModel {
    private static final int CACHE_LIMIT = 1 << 17;
    private static final int CACHE_MAX_WORD = 256;

    /** The options of the model besides vocabulary and merges; null strings mean "not set". */
    public record Options(String unkToken, boolean fuseUnk, boolean byteFallback, boolean ignoreMerges,
                          String continuingSubwordPrefix, String endOfWordSuffix) {
        public static final Options DEFAULT = new Options(null, false, false, false, null, null);
    }

    private final Map<String, Integer> vocab;
    private final String[] idToToken;
    private final PairTable merges;
    private final Options options;
    private final int unkId;
    private final int[] byteIds;
    /** Ids of single-character tokens below U+0200 (covers the byte-level alphabet), -1 where absent. */
    private final int[] smallCharIds;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param vocab token string to id; kept, not copied, so the caller must not change it afterwards
     * @param merges pairs {@code [left, right]} in rank order
     * @throws TokenizerException when a merge or the unknown token names a token missing from the vocabulary
     */
    public BpeModel(Map<String, Integer> vocab, List<String[]> merges, Options options) {
        this.vocab = java.util.Collections.unmodifiableMap(vocab); // a copy of 150k entries costs load time
        this.options = options;
        int maxId = -1;
        for (int id : vocab.values()) {
            maxId = Math.max(maxId, id);
        }
        idToToken = new String[maxId + 1];
        vocab.forEach((token, id) -> idToToken[id] = token);

        String prefix = options.continuingSubwordPrefix() == null ? "" : options.continuingSubwordPrefix();
        this.merges = new PairTable(merges.size());
        for (int rank = 0; rank < merges.size(); rank++) {
            String[] pair = merges.get(rank);
            Integer left = vocab.get(pair[0]);
            Integer right = vocab.get(pair[1]);
            // With a continuing-subword prefix the right part carries it, the merged token does not repeat it.
            String right1 = !prefix.isEmpty() && pair[1].startsWith(prefix) ? pair[1].substring(prefix.length()) : pair[1];
            Integer merged = vocab.get(pair[0] + right1);
            if (left == null || right == null || merged == null) {
                throw new TokenizerException("merge " + rank + " '" + pair[0] + " " + pair[1]
                        + "' uses a token that is not in the vocabulary");
            }
            this.merges.put(left, right, ((long) rank << 32) | merged);
        }

        if (options.unkToken() != null) {
            Integer unk = vocab.get(options.unkToken());
            if (unk == null) {
                throw new TokenizerException("unk_token '" + options.unkToken() + "' is not in the vocabulary");
            }
            unkId = unk;
        } else {
            unkId = -1;
        }
        byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            byteIds[b] = vocab.getOrDefault(String.format("<0x%02X>", b), -1);
        }
        smallCharIds = new int[0x200];
        for (char c = 0; c < smallCharIds.length; c++) {
            smallCharIds[c] = vocab.getOrDefault(String.valueOf(c), -1);
        }
    }

    public int vocabSize() {
        return idToToken.length;
    }

    public int tokenToId(String token) {
        return vocab.getOrDefault(token, -1);
    }

    public String idToToken(int id) {
        return id >= 0 && id < idToToken.length ? idToToken[id] : null;
    }

    /** Appends the ids of one pre-tokenized word. */
    public void encodeWord(String word, IntList out) {
        if (word.isEmpty()) {
            return;
        }
        int[] cached = cache.get(word);
        if (cached == null) {
            cached = tokenize(word);
            if (word.length() <= CACHE_MAX_WORD && cache.size() < CACHE_LIMIT) {
                cache.put(word, cached);
            }
        }
        out.addAll(cached);
    }

    private int[] tokenize(String word) {
        if (options.ignoreMerges()) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                return new int[] {whole};
            }
        }
        int[] symbols = initialSymbols(word);
        return merge(symbols);
    }

    /** One symbol per character: its id, its byte-fallback ids, or the unknown id. */
    private int[] initialSymbols(String word) {
        boolean plain = options.continuingSubwordPrefix() == null && options.endOfWordSuffix() == null;
        IntList ids = new IntList(word.length() + 1);
        boolean lastWasUnk = false;
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            int end = i + Character.charCount(cp);
            int id;
            String piece = null;
            if (plain && cp < smallCharIds.length) {
                id = smallCharIds[cp];
            } else {
                piece = word.substring(i, end);
                if (options.continuingSubwordPrefix() != null && i > 0) {
                    piece = options.continuingSubwordPrefix() + piece;
                }
                if (options.endOfWordSuffix() != null && end == word.length()) {
                    piece = piece + options.endOfWordSuffix();
                }
                id = vocab.getOrDefault(piece, -1);
            }
            if (id >= 0) {
                ids.add(id);
                lastWasUnk = false;
            } else if (options.byteFallback() && appendByteFallback(word.substring(i, end), ids)) {
                lastWasUnk = false;
            } else if (unkId >= 0) {
                if (!(options.fuseUnk() && lastWasUnk)) {
                    ids.add(unkId);
                }
                lastWasUnk = true;
            }
            i = end;
        }
        return ids.toArray();
    }

    private boolean appendByteFallback(String character, IntList ids) {
        byte[] bytes = character.getBytes(StandardCharsets.UTF_8);
        for (byte b : bytes) {
            if (byteIds[b & 0xFF] < 0) {
                return false;
            }
        }
        for (byte b : bytes) {
            ids.add(byteIds[b & 0xFF]);
        }
        return true;
    }

    /** Applies merges lowest rank first, leftmost first among equal ranks, until no adjacent pair merges. */
    private int[] merge(int[] sym) {
        int n = sym.length;
        if (n < 2) {
            return sym;
        }
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        // Heap entries pack (rank << 32 | position): the natural long order is the merge order.
        LongMinHeap heap = new LongMinHeap(n * 2);
        for (int i = 0; i + 1 < n; i++) {
            long m = merges.get(sym[i], sym[i + 1]);
            if (m != PairTable.MISSING) {
                heap.push(((m >>> 32) << 32) | i);
            }
        }
        int remaining = n;
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int pos = (int) top;
            int rank = (int) (top >>> 32);
            int right = next[pos];
            if (sym[pos] < 0 || right < 0) {
                continue;
            }
            long m = merges.get(sym[pos], sym[right]);
            if (m == PairTable.MISSING || (int) (m >>> 32) != rank) {
                continue; // stale: one side was merged since this entry was pushed
            }
            sym[pos] = (int) m;
            sym[right] = -1;
            remaining--;
            next[pos] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = pos;
            }
            int before = prev[pos];
            if (before >= 0) {
                long mb = merges.get(sym[before], sym[pos]);
                if (mb != PairTable.MISSING) {
                    heap.push(((mb >>> 32) << 32) | before);
                }
            }
            if (next[pos] >= 0) {
                long ma = merges.get(sym[pos], sym[next[pos]]);
                if (ma != PairTable.MISSING) {
                    heap.push(((ma >>> 32) << 32) | pos);
                }
            }
        }
        int[] out = new int[remaining];
        int k = 0;
        for (int i = 0; i >= 0; i = next[i]) {
            out[k++] = sym[i];
        }
        return out;
    }

}
