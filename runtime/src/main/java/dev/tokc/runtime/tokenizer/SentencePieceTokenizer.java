package dev.tokc.runtime.tokenizer;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.tokc.runtime.tokenizer.sentencepiece.SentencePieceModelProto.ModelProto;
import dev.tokc.runtime.tokenizer.sentencepiece.SentencePieceModelProto.ModelProto.SentencePiece;
import dev.tokc.runtime.tokenizer.sentencepiece.SentencePieceModelProto.NormalizerSpec;
import dev.tokc.runtime.tokenizer.sentencepiece.SentencePieceModelProto.TrainerSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A SentencePiece BPE model read from {@code tokenizer.model} (a serialized {@code ModelProto}), encoding as the
 * sentencepiece library does.
 *
 * <p>Encoding: normalize ({@code identity}, or NFKC as an approximation of the {@code nmt_nfkc} rules), optionally
 * collapse extra spaces, prepend the dummy-prefix space, turn spaces into {@code ▁}; split into characters (user
 * defined pieces stay whole); then repeatedly merge the adjacent pair whose concatenation is a piece with the highest
 * score (leftmost on ties). A final symbol that is not a piece becomes its UTF-8 bytes as {@code <0xXX>} pieces with
 * byte fallback, else the unknown id. Pieces of type UNUSED are split back into the two symbols that formed them.
 *
 * <p>{@code encode(text, true)} prepends BOS only (as Llama 2 does). Decoding joins pieces, turns {@code ▁} into
 * spaces and drops the dummy-prefix space of the first piece; byte pieces are reassembled into UTF-8. Control and
 * unknown pieces are special; when kept they decode to their piece text ({@code <s>}, {@code <unk>}) where the
 * sentencepiece library would print nothing or {@code " ⁇ "}. Only the BPE model type is supported (not Unigram).
 */
public final class SentencePieceTokenizer implements Tokenizer {
    private static final char SPACE = '\u2581';

    private final String[] pieces;
    private final float[] scores;
    private final SentencePiece.Type[] types;
    /** Pieces the merge step may produce: NORMAL, USER_DEFINED and UNUSED. */
    private final Map<String, Integer> mergeable = new HashMap<>();
    private final Map<String, Integer> allPieces = new HashMap<>();
    /** User-defined pieces by first character, longest first: matched whole before merging, never merged further. */
    private final Map<Character, List<String>> userDefined = new HashMap<>();
    private final int[] byteIds = new int[256];
    private final boolean byteFallback;
    private final int unkId;
    private final int bosId;
    private final int eosId;
    private final boolean addDummyPrefix;
    private final boolean removeExtraWhitespaces;
    private final boolean escapeWhitespaces;
    private final java.text.Normalizer.Form normalForm;
    /**
     * True when no piece has a {@code ▁} right after another character (the vocabulary of a model trained with
     * split_by_whitespace): then no merge can cross the start of a word, words encode independently and their ids
     * can be cached, which is what makes long inputs fast.
     */
    private final boolean wordsIndependent;
    private final Map<String, int[]> wordCache = new java.util.concurrent.ConcurrentHashMap<>();
    private static final int WORD_CACHE_LIMIT = 1 << 16;

    private SentencePieceTokenizer(Path file, ModelProto proto) {
        TrainerSpec trainer = proto.getTrainerSpec();
        if (trainer.getModelType() != TrainerSpec.ModelType.BPE) {
            throw TokenizerException.inFile(file, "SentencePiece model type " + trainer.getModelType()
                    + " is not supported (tokc reads BPE models)");
        }
        if (trainer.getTreatWhitespaceAsSuffix()) {
            throw TokenizerException.inFile(file, "treat_whitespace_as_suffix is not supported");
        }
        int n = proto.getPiecesCount();
        if (n == 0) {
            throw TokenizerException.inFile(file, "the model has no pieces");
        }
        pieces = new String[n];
        scores = new float[n];
        types = new SentencePiece.Type[n];
        java.util.Arrays.fill(byteIds, -1);
        for (int i = 0; i < n; i++) {
            SentencePiece p = proto.getPieces(i);
            pieces[i] = p.getPiece();
            scores[i] = p.getScore();
            types[i] = p.getType();
            allPieces.putIfAbsent(p.getPiece(), i);
            switch (p.getType()) {
                case NORMAL, UNUSED -> mergeable.putIfAbsent(p.getPiece(), i);
                case USER_DEFINED -> {
                    mergeable.putIfAbsent(p.getPiece(), i);
                    if (!p.getPiece().isEmpty()) {
                        userDefined.computeIfAbsent(p.getPiece().charAt(0), c -> new ArrayList<>()).add(p.getPiece());
                    }
                }
                case BYTE -> {
                    int b = Decoder.ByteFallback.byteToken(p.getPiece());
                    if (b < 0) {
                        throw TokenizerException.inFile(file, "BYTE piece " + i + " is '" + p.getPiece()
                                + "', expected <0xXX>");
                    }
                    byteIds[b] = i;
                }
                default -> { }
            }
        }
        userDefined.values().forEach(list -> list.sort((a, b) -> b.length() - a.length()));
        wordsIndependent = mergeable.keySet().stream().noneMatch(SentencePieceTokenizer::hasInnerWordStart);
        byteFallback = trainer.getByteFallback();
        unkId = checkedId(file, "unk_id", trainer.getUnkId(), n);
        bosId = checkedId(file, "bos_id", trainer.getBosId(), n);
        eosId = checkedId(file, "eos_id", trainer.getEosId(), n);
        NormalizerSpec normalizer = proto.getNormalizerSpec();
        addDummyPrefix = normalizer.getAddDummyPrefix();
        removeExtraWhitespaces = normalizer.getRemoveExtraWhitespaces();
        escapeWhitespaces = normalizer.getEscapeWhitespaces();
        String name = normalizer.getName().toLowerCase(Locale.ROOT);
        if (name.isEmpty() || name.equals("identity")) {
            normalForm = null;
        } else if (name.contains("nfkc")) {
            normalForm = java.text.Normalizer.Form.NFKC;
        } else {
            throw TokenizerException.inFile(file, "SentencePiece normalizer '" + normalizer.getName()
                    + "' is not supported (identity and nmt_nfkc are)");
        }
    }

    private static boolean hasInnerWordStart(String piece) {
        for (int i = 1; i < piece.length(); i++) {
            if (piece.charAt(i) == SPACE && piece.charAt(i - 1) != SPACE) {
                return true;
            }
        }
        return false;
    }

    private static int checkedId(Path file, String field, int id, int n) {
        if (id >= n) {
            throw TokenizerException.inFile(file, field + " " + id + " is outside the " + n + " pieces");
        }
        return id;
    }

    /** Reads a {@code tokenizer.model} file. */
    public static SentencePieceTokenizer load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw TokenizerException.inFile(file, "file not found");
        }
        ModelProto proto;
        try (InputStream in = Files.newInputStream(file)) {
            proto = ModelProto.parseFrom(in);
        } catch (InvalidProtocolBufferException e) {
            throw TokenizerException.inFile(file, "not a SentencePiece ModelProto: " + e.getMessage(), e);
        } catch (IOException e) {
            throw TokenizerException.inFile(file, "cannot read: " + e.getMessage(), e);
        }
        return new SentencePieceTokenizer(file, proto);
    }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        // SentencePiece never recognises control pieces in text, so parseSpecial changes nothing here.
        IntList out = new IntList(text.length() / 2 + 2);
        if (addSpecial && bosId >= 0) {
            out.add(bosId);
        }
        String normalized = normalize(text);
        if (normalized.isEmpty()) {
            return out.toArray();
        }
        if (!wordsIndependent) {
            encodeNormalized(normalized, out);
            return out.toArray();
        }
        // A word starts at each ▁ that follows another character; runs of ▁ stay with the word they precede.
        int start = 0;
        for (int i = 1; i <= normalized.length(); i++) {
            if (i == normalized.length() || (normalized.charAt(i) == SPACE && normalized.charAt(i - 1) != SPACE)) {
                encodeWord(normalized.substring(start, i), out);
                start = i;
            }
        }
        return out.toArray();
    }

    private void encodeWord(String word, IntList out) {
        int[] ids = wordCache.get(word);
        if (ids == null) {
            IntList wordIds = new IntList(word.length() + 1);
            encodeNormalized(word, wordIds);
            ids = wordIds.toArray();
            if (word.length() <= 64 && wordCache.size() < WORD_CACHE_LIMIT) {
                wordCache.put(word, ids);
            }
        }
        out.addAll(ids);
    }

    private String normalize(String text) {
        if (normalForm != null) {
            text = java.text.Normalizer.normalize(text, normalForm);
        }
        if (removeExtraWhitespaces) {
            text = text.strip().replaceAll(" {2,}", " ");
        }
        if (text.isEmpty()) {
            return text;
        }
        if (addDummyPrefix) {
            text = " " + text;
        }
        return escapeWhitespaces ? text.replace(' ', SPACE) : text;
    }

    private void encodeNormalized(String text, IntList out) {
        // Initial symbols as [start, end) char ranges; user-defined pieces are frozen whole symbols.
        int capacity = text.length();
        int[] start = new int[capacity];
        int[] end = new int[capacity];
        boolean[] frozen = new boolean[capacity];
        int n = 0;
        for (int i = 0; i < text.length(); ) {
            int len = 0;
            for (String user : userDefined.getOrDefault(text.charAt(i), List.of())) {
                if (text.startsWith(user, i)) {
                    len = user.length();
                    break;
                }
            }
            frozen[n] = len > 0;
            if (len == 0) {
                len = Character.charCount(text.codePointAt(i));
            }
            start[n] = i;
            end[n] = i + len;
            n++;
            i += len;
        }
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] alive = new boolean[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            alive[i] = true;
        }
        Map<String, String[]> unusedSplits = new HashMap<>();
        LongMinHeap heap = new LongMinHeap(n * 2);
        for (int i = 0; i + 1 < n; i++) {
            pushPair(text, i, i + 1, start, end, frozen, heap, unusedSplits);
        }
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int left = (int) top;
            int right = alive[left] ? next[left] : -1;
            if (right < 0) {
                continue;
            }
            Integer id = mergeable.get(text.substring(start[left], end[right]));
            if (id == null || (int) (top >> 32) != priority(scores[id])) {
                continue; // stale: the pair changed since this entry was pushed
            }
            end[left] = end[right];
            alive[right] = false;
            next[left] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = left;
            }
            if (prev[left] >= 0) {
                pushPair(text, prev[left], left, start, end, frozen, heap, unusedSplits);
            }
            if (next[left] >= 0) {
                pushPair(text, left, next[left], start, end, frozen, heap, unusedSplits);
            }
        }
        for (int i = 0; i >= 0 && n > 0; i = next[i]) {
            emit(text.substring(start[i], end[i]), unusedSplits, out);
        }
    }

    private void pushPair(String text, int left, int right, int[] start, int[] end, boolean[] frozen,
                          LongMinHeap heap, Map<String, String[]> unusedSplits) {
        if (frozen[left] || frozen[right]) {
            return;
        }
        String merged = text.substring(start[left], end[right]);
        Integer id = mergeable.get(merged);
        if (id == null) {
            return;
        }
        if (types[id] == SentencePiece.Type.UNUSED) {
            unusedSplits.put(merged, new String[] {text.substring(start[left], end[left]),
                    text.substring(start[right], end[right])});
        }
        heap.push(((long) priority(scores[id]) << 32) | left);
    }

    /** Orders pairs for the heap: a higher score gives a smaller key (the float's bits made monotonic, inverted). */
    private static int priority(float score) {
        int bits = Float.floatToIntBits(score);
        int sortable = bits ^ ((bits >> 31) & 0x7FFFFFFF);
        return ~sortable;
    }

    private void emit(String piece, Map<String, String[]> unusedSplits, IntList out) {
        Integer id = mergeable.get(piece);
        if (id != null) {
            String[] split = types[id] == SentencePiece.Type.UNUSED ? unusedSplits.get(piece) : null;
            if (split == null) {
                out.add(id);
            } else {
                emit(split[0], unusedSplits, out);
                emit(split[1], unusedSplits, out);
            }
            return;
        }
        if (byteFallback) {
            byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
            boolean all = true;
            for (byte b : bytes) {
                all &= byteIds[b & 0xFF] >= 0;
            }
            if (all) {
                for (byte b : bytes) {
                    out.add(byteIds[b & 0xFF]);
                }
                return;
            }
        }
        if (unkId >= 0) {
            out.add(unkId);
        }
    }

    @Override
    public String decode(int[] ids, boolean skipSpecial) {
        StringBuilder text = new StringBuilder();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean first = true;
        for (int id : ids) {
            checkId(id);
            if (types[id] == SentencePiece.Type.BYTE) {
                bytes.write(Decoder.ByteFallback.byteToken(pieces[id]));
                first = false;
                continue;
            }
            if (bytes.size() > 0) {
                text.append(bytes.toString(StandardCharsets.UTF_8));
                bytes.reset();
            }
            if (isSpecial(id)) {
                if (!skipSpecial) {
                    text.append(pieces[id]);
                }
                continue;
            }
            String piece = pieces[id].replace(SPACE, ' ');
            if (first && addDummyPrefix && piece.startsWith(" ")) {
                piece = piece.substring(1);
            }
            first = false;
            text.append(piece);
        }
        if (bytes.size() > 0) {
            text.append(bytes.toString(StandardCharsets.UTF_8));
        }
        return text.toString();
    }

    private void checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " is not in the vocabulary (size " + pieces.length + ")");
        }
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int tokenToId(String token) {
        return allPieces.getOrDefault(token, -1);
    }

    @Override
    public String idToToken(int id) {
        return id >= 0 && id < pieces.length ? pieces[id] : null;
    }

    @Override
    public boolean isSpecial(int id) {
        return id >= 0 && id < types.length
                && (types[id] == SentencePiece.Type.CONTROL || types[id] == SentencePiece.Type.UNKNOWN);
    }

    @Override
    public int bosId() {
        return bosId;
    }

    @Override
    public int eosId() {
        return eosId;
    }
}
