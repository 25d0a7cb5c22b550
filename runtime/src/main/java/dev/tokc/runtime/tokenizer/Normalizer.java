package dev.tokc.runtime.tokenizer;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A tokenizer.json normalizer: rewrites the text of each segment between added tokens before pre-tokenization.
 * The subset tokc needs for the BPE tokenizers it loads; offsets are not tracked because the runtime never asks
 * for them.
 */
public sealed interface Normalizer {

    String apply(String text);

    /** Applies each normalizer in turn. */
    record Sequence(List<Normalizer> normalizers) implements Normalizer {
        public Sequence {
            normalizers = List.copyOf(normalizers);
        }

        @Override
        public String apply(String text) {
            for (Normalizer n : normalizers) {
                text = n.apply(text);
            }
            return text;
        }
    }

    /** Prepends a string to non-empty text (SentencePiece-style tokenizer.json files prepend {@code ▁}). */
    record Prepend(String prefix) implements Normalizer {
        @Override
        public String apply(String text) {
            return text.isEmpty() ? text : prefix + text;
        }
    }

    /** Replaces every match of a literal or a regex. */
    record Replace(Pattern pattern, String content) implements Normalizer {
        @Override
        public String apply(String text) {
            return pattern.matcher(text).replaceAll(Matcher.quoteReplacement(content));
        }
    }

    /** One of the Unicode normal forms NFC, NFD, NFKC, NFKD. */
    record Unicode(java.text.Normalizer.Form form) implements Normalizer {
        @Override
        public String apply(String text) {
            return java.text.Normalizer.normalize(text, form);
        }
    }

    /** Lower-cases with Unicode rules, independent of the default locale. */
    record Lowercase() implements Normalizer {
        @Override
        public String apply(String text) {
            return text.toLowerCase(Locale.ROOT);
        }
    }

    /** Strips Unicode whitespace from the left and/or right end. */
    record Strip(boolean left, boolean right) implements Normalizer {
        @Override
        public String apply(String text) {
            if (left && right) {
                return text.strip();
            }
            return left ? text.stripLeading() : right ? text.stripTrailing() : text;
        }
    }
}
