package dev.tokc.runtime.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The added tokens of a tokenizer.json ({@code added_tokens}): strings matched in the input before the model sees
 * it, so that {@code <|eot_id|>} in a rendered chat prompt becomes one id instead of being spelled out.
 *
 * <p>Matching is leftmost-longest over all added tokens, on the raw text (tokc does not re-match tokens flagged
 * {@code normalized} after normalization; none of the supported models normalizes its added tokens). {@code lstrip}
 * and {@code rstrip} swallow the whitespace beside a match, {@code single_word} only matches a whole word.
 */
final class AddedVocabulary {

    /** One added token as declared in the file. */
    record AddedToken(int id, String content, boolean special, boolean lstrip, boolean rstrip, boolean singleWord) {}

    /** A piece of the input: text to run through the model ({@code tokenId} -1) or one added token. */
    record Segment(int start, int end, int tokenId) {}

    private final Map<Integer, AddedToken> byId = new HashMap<>();
    private final Map<String, Integer> idByContent = new HashMap<>();
    /** Candidates by first character, longest first. */
    private final Map<Character, AddedToken[]> byFirstChar = new HashMap<>();

    /** Added tokens that are matched in the input. */
    AddedVocabulary(List<AddedToken> tokens) {
        this(tokens, true);
    }

    /**
     * @param matchInText false for tokens that are only known by id (GPT-2's {@code <|endoftext|>}, which OpenAI's
     *     encoder never recognised in text)
     */
    AddedVocabulary(List<AddedToken> tokens, boolean matchInText) {
        Map<Character, List<AddedToken>> groups = new HashMap<>();
        for (AddedToken t : tokens) {
            byId.put(t.id(), t);
            idByContent.put(t.content(), t.id());
            if (matchInText && !t.content().isEmpty()) {
                groups.computeIfAbsent(t.content().charAt(0), c -> new ArrayList<>()).add(t);
            }
        }
        groups.forEach((c, list) -> {
            list.sort(Comparator.comparingInt((AddedToken t) -> t.content().length()).reversed());
            byFirstChar.put(c, list.toArray(AddedToken[]::new));
        });
    }

    AddedToken get(int id) {
        return byId.get(id);
    }

    int maxId() {
        return byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1);
    }

    int idOf(String content) {
        return idByContent.getOrDefault(content, -1);
    }

    /**
     * Splits text into model segments and added-token segments, in order; empty text segments are left out.
     * Without {@code matchSpecial} only non-special added tokens are matched, so special tokens written in the
     * text stay text (Hugging Face's {@code split_special_tokens}).
     */
    List<Segment> split(String text, boolean matchSpecial) {
        List<Segment> out = new ArrayList<>();
        if (byFirstChar.isEmpty()) {
            out.add(new Segment(0, text.length(), -1));
            return out;
        }
        int textStart = 0;
        int i = 0;
        while (i < text.length()) {
            AddedToken match = longestAt(text, i, matchSpecial);
            if (match == null) {
                i++;
                continue;
            }
            int start = i;
            int end = i + match.content().length();
            if (match.lstrip()) {
                while (start > textStart && Character.isWhitespace(text.charAt(start - 1))) {
                    start--;
                }
            }
            if (match.rstrip()) {
                while (end < text.length() && Character.isWhitespace(text.charAt(end))) {
                    end++;
                }
            }
            if (start > textStart) {
                out.add(new Segment(textStart, start, -1));
            }
            out.add(new Segment(start, end, match.id()));
            textStart = end;
            i = end;
        }
        if (textStart < text.length()) {
            out.add(new Segment(textStart, text.length(), -1));
        }
        return out;
    }

    private AddedToken longestAt(String text, int i, boolean matchSpecial) {
        AddedToken[] candidates = byFirstChar.get(text.charAt(i));
        if (candidates == null) {
            return null;
        }
        for (AddedToken t : candidates) {
            if ((matchSpecial || !t.special()) && text.startsWith(t.content(), i)
                    && (!t.singleWord() || isWholeWord(text, i, i + t.content().length()))) {
                return t;
            }
        }
        return null;
    }

    private static boolean isWholeWord(String text, int start, int end) {
        boolean before = start > 0 && isWordChar(text.charAt(start - 1));
        boolean after = end < text.length() && isWordChar(text.charAt(end));
        return !before && !after;
    }

    private static boolean isWordChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_';
    }
}
