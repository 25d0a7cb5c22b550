package dev.tokc.cli;

import java.util.random.RandomGenerator;

/**
 * Random prompts of a controlled length. Token ids are exact: {@code n} ids drawn uniformly from a range that avoids
 * the low ids where tokenizers keep their special and byte tokens. Text is random common words; how many tokens a
 * word costs depends on the server's tokenizer, so the caller calibrates {@code tokensPerWord} from the
 * {@code usage.prompt_tokens} of a probe. Random content also keeps requests from sharing cached prefixes.
 */
final class LoadGenPrompts {
    private LoadGenPrompts() {}

    private static final String[] WORDS = {
        "the", "and", "of", "to", "my", "that", "in", "you", "is", "not", "with", "his", "be", "your", "for", "have",
        "he", "this", "me", "but", "as", "thou", "him", "so", "will", "what", "her", "thy", "all", "no", "by", "do",
        "shall", "if", "are", "we", "our", "good", "lord", "now", "come", "on", "they", "more", "she", "how", "love",
        "here", "there", "man", "then", "know", "well", "sir", "king", "time", "make", "say", "let", "go", "day",
        "night", "heart", "hand", "death", "life", "true", "great", "speak", "upon", "yet", "than", "when", "may"};

    static int[] randomIds(RandomGenerator rnd, int n, int lo, int hi) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = rnd.nextInt(lo, hi);
        }
        return ids;
    }

    static String randomWords(RandomGenerator rnd, int nWords) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < nWords; i++) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(WORDS[rnd.nextInt(WORDS.length)]);
        }
        return sb.toString();
    }

    /** Words for about {@code tokens} prompt tokens at the calibrated rate; at least one. */
    static int wordsFor(int tokens, double tokensPerWord) {
        return Math.max(1, (int) Math.round(tokens / tokensPerWord));
    }
}
