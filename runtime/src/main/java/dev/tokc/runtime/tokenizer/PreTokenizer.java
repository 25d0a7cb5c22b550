package dev.tokc.runtime.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A tokenizer.json pre-tokenizer: splits the normalized text of a segment into the words the BPE model encodes one
 * at a time (and, for {@link ByteLevelSplit}, rewrites them into the byte-level alphabet).
 *
 * <p>Each pre-tokenizer maps a list of pieces to a finer list; {@code atTextStart} says whether the first piece begins
 * at the start of the whole input (the Metaspace {@code first} prepend scheme depends on it).
 */
public sealed interface PreTokenizer {

    /** GPT-2's word pattern, used by ByteLevel with {@code use_regex}. */
    String GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    List<String> split(List<String> pieces, boolean atTextStart);

    /** Compiles a pattern from a tokenizer file: {@code \s} and friends must be Unicode-aware, as in Oniguruma. */
    static Pattern compile(String regex) {
        return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
    }

    /** How a Split pre-tokenizer treats the matches (the "delimiters"). */
    enum Behavior { REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS }

    /** Applies each pre-tokenizer in turn. */
    record Sequence(List<PreTokenizer> preTokenizers) implements PreTokenizer {
        public Sequence {
            preTokenizers = List.copyOf(preTokenizers);
        }

        @Override
        public List<String> split(List<String> pieces, boolean atTextStart) {
            for (PreTokenizer p : preTokenizers) {
                pieces = p.split(pieces, atTextStart);
            }
            return pieces;
        }
    }

    /** Splits on a regex (or literal), keeping or merging the matches as {@code behavior} says. */
    record Split(Pattern pattern, Behavior behavior, boolean invert) implements PreTokenizer {
        @Override
        public List<String> split(List<String> pieces, boolean atTextStart) {
            List<String> out = new ArrayList<>();
            for (String piece : pieces) {
                splitOne(pattern, behavior, invert, piece, out);
            }
            return out;
        }

        static void splitOne(Pattern pattern, Behavior behavior, boolean invert, String text, List<String> out) {
            // Segments alternate between non-matches and matches: starts[i]..starts[i+1], match flag per segment.
            List<int[]> segments = new ArrayList<>();
            Matcher m = pattern.matcher(text);
            int last = 0;
            while (m.find()) {
                if (m.start() == m.end()) {
                    continue;
                }
                if (m.start() > last) {
                    segments.add(new int[] {last, m.start(), invert ? 1 : 0});
                }
                segments.add(new int[] {m.start(), m.end(), invert ? 0 : 1});
                last = m.end();
            }
            if (last < text.length()) {
                segments.add(new int[] {last, text.length(), invert ? 1 : 0});
            }
            List<int[]> merged = new ArrayList<>();
            switch (behavior) {
                case REMOVED -> segments.stream().filter(s -> s[2] == 0).forEach(merged::add);
                case ISOLATED -> merged.addAll(segments);
                case MERGED_WITH_PREVIOUS -> {
                    boolean previousMatch = false;
                    for (int[] s : segments) {
                        boolean match = s[2] == 1;
                        if (match && !previousMatch && !merged.isEmpty()) {
                            merged.getLast()[1] = s[1];
                        } else {
                            merged.add(s.clone());
                        }
                        previousMatch = match;
                    }
                }
                case MERGED_WITH_NEXT -> {
                    boolean nextMatch = false;
                    for (int i = segments.size() - 1; i >= 0; i--) {
                        int[] s = segments.get(i);
                        boolean match = s[2] == 1;
                        if (match && !nextMatch && !merged.isEmpty()) {
                            merged.getLast()[0] = s[0];
                        } else {
                            merged.add(s.clone());
                        }
                        nextMatch = match;
                    }
                    java.util.Collections.reverse(merged);
                }
                case CONTIGUOUS -> {
                    boolean previousMatch = false;
                    for (int[] s : segments) {
                        boolean match = s[2] == 1;
                        if (match == previousMatch && !merged.isEmpty()) {
                            merged.getLast()[1] = s[1];
                        } else {
                            merged.add(s.clone());
                        }
                        previousMatch = match;
                    }
                }
            }
            for (int[] s : merged) {
                if (s[1] > s[0]) {
                    out.add(text.substring(s[0], s[1]));
                }
            }
        }
    }

    /**
     * GPT-2 byte-level pre-tokenization: optionally prepends a space, optionally splits with {@link #GPT2_PATTERN},
     * then rewrites every piece into the byte-level alphabet ({@link ByteLevel}).
     */
    record ByteLevelSplit(boolean addPrefixSpace, boolean useRegex) implements PreTokenizer {
        private static final Pattern GPT2 = PreTokenizer.compile(GPT2_PATTERN);

        @Override
        public List<String> split(List<String> pieces, boolean atTextStart) {
            List<String> words = new ArrayList<>();
            for (String piece : pieces) {
                if (addPrefixSpace && !piece.startsWith(" ")) {
                    piece = " " + piece;
                }
                if (useRegex) {
                    Split.splitOne(GPT2, Behavior.ISOLATED, false, piece, words);
                } else if (!piece.isEmpty()) {
                    words.add(piece);
                }
            }
            words.replaceAll(ByteLevel::encode);
            return words;
        }
    }

    /** When Metaspace prepends its replacement character to a piece. */
    enum PrependScheme { ALWAYS, FIRST, NEVER }

    /**
     * SentencePiece-style whitespace: spaces become {@code replacement} (normally {@code ▁}), a replacement is
     * prepended per {@code scheme}, and with {@code split} the text is cut before each replacement character.
     */
    record Metaspace(char replacement, PrependScheme scheme, boolean splitPieces) implements PreTokenizer {
        @Override
        public List<String> split(List<String> pieces, boolean atTextStart) {
            List<String> out = new ArrayList<>();
            for (int i = 0; i < pieces.size(); i++) {
                String piece = pieces.get(i).replace(' ', replacement);
                boolean prepend = scheme == PrependScheme.ALWAYS || (scheme == PrependScheme.FIRST && i == 0 && atTextStart);
                if (prepend && !piece.isEmpty() && piece.charAt(0) != replacement) {
                    piece = replacement + piece;
                }
                if (!splitPieces) {
                    if (!piece.isEmpty()) {
                        out.add(piece);
                    }
                    continue;
                }
                // Split with MergedWithNext: every replacement character starts a new piece.
                int start = 0;
                for (int j = 1; j < piece.length(); j++) {
                    if (piece.charAt(j) == replacement) {
                        out.add(piece.substring(start, j));
                        start = j;
                    }
                }
                if (start < piece.length()) {
                    out.add(piece.substring(start));
                }
            }
            return out;
        }
    }

    /** Splits into runs of word characters and runs of other non-space characters (the "Whitespace" type). */
    record Whitespace() implements PreTokenizer {
        private static final Pattern WORDS = PreTokenizer.compile("\\w+|[^\\w\\s]+");

        @Override
        public List<String> split(List<String> pieces, boolean atTextStart) {
            List<String> out = new ArrayList<>();
            for (String piece : pieces) {
                Matcher m = WORDS.matcher(piece);
                while (m.find()) {
                    out.add(m.group());
                }
            }
            return out;
        }
    }

    /** Splits digits from the rest, each digit alone when {@code individual}. */
    record Digits(boolean individual) implements PreTokenizer {
        private static final Pattern DIGIT = PreTokenizer.compile("\\p{Nd}");

        @Override
        public List<String> split(List<String> pieces, boolean atTextStart) {
            List<String> out = new ArrayList<>();
            for (String piece : pieces) {
                Split.splitOne(DIGIT, individual ? Behavior.ISOLATED : Behavior.CONTIGUOUS, false, piece, out);
            }
            return out;
        }
    }
}
