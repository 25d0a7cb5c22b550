package dev.tokc.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The building blocks on their own: pre-tokenizer behaviours, decoders, BPE merge order, added-token matching. */
class PipelinePartsTest {

    private static List<String> split(String regex, PreTokenizer.Behavior behavior, boolean invert, String text) {
        return new PreTokenizer.Split(Pattern.compile(regex), behavior, invert).split(List.of(text), true);
    }

    @Test
    void splitBehaviours() {
        assertEquals(List.of("a", "-", "b", "--", "c"), split("-+", PreTokenizer.Behavior.ISOLATED, false, "a-b--c"));
        assertEquals(List.of("a", "b", "c"), split("-+", PreTokenizer.Behavior.REMOVED, false, "a-b--c"));
        assertEquals(List.of("a-", "b--", "c"), split("-+", PreTokenizer.Behavior.MERGED_WITH_PREVIOUS, false, "a-b--c"));
        assertEquals(List.of("a", "-b", "--c"), split("-+", PreTokenizer.Behavior.MERGED_WITH_NEXT, false, "a-b--c"));
        assertEquals(List.of("a", "--", "b"), split("-", PreTokenizer.Behavior.CONTIGUOUS, false, "a--b"));
        assertEquals(List.of("-", "--"), split("-+", PreTokenizer.Behavior.REMOVED, true, "a-b--c"));
    }

    @Test
    void byteLevelPreTokenizerSplitsLikeGpt2AndMapsBytes() {
        List<String> words = new PreTokenizer.ByteLevelSplit(false, true).split(List.of("Hi  there\n"), true);
        assertEquals(List.of("Hi", "Ġ", "Ġthere", "Ċ"), words);
        assertEquals(List.of("ĠHi"), new PreTokenizer.ByteLevelSplit(true, false).split(List.of("Hi"), true));
    }

    @Test
    void metaspacePrependsOnlyAtTheStartOfTheText() {
        var first = new PreTokenizer.Metaspace('▁', PreTokenizer.PrependScheme.FIRST, true);
        assertEquals(List.of("▁a", "▁b"), first.split(List.of("a b"), true));
        assertEquals(List.of("a", "▁b"), first.split(List.of("a b"), false));
        var always = new PreTokenizer.Metaspace('▁', PreTokenizer.PrependScheme.ALWAYS, false);
        assertEquals(List.of("▁a▁b"), always.split(List.of("a b"), false));
    }

    @Test
    void decoders() {
        assertEquals("héllo", new Decoder.ByteLevelDecoder().decode(List.of("h", "Ã©", "llo")));
        assertEquals("<think>", new Decoder.ByteLevelDecoder().decode(List.of("<think>")));
        assertEquals("a b", new Decoder.Metaspace('▁', true).decode(List.of("▁a", "▁b")));
        // Hugging Face drops every ▁ of the first token, not only the prepended one.
        assertEquals("a b", new Decoder.Metaspace('▁', true).decode(List.of("▁▁a", "▁b")));
        assertEquals(" a", new Decoder.Metaspace('▁', false).decode(List.of("▁a")));
        assertEquals(List.of("xa", "b"), new Decoder.Strip('_', 1, 2).chain(List.of("_xa__", "b")));
        assertEquals("hello world", new Decoder.Bpe("</w>").decode(List.of("hello</w>", "world</w>")));
    }

    @Test
    void bpeMergesLowestRankFirstAndLeftmostOnTies() {
        Map<String, Integer> vocab = Map.of("a", 0, "b", 1, "aa", 2, "aaaa", 3, "ab", 4);
        BpeModel model = new BpeModel(vocab, List.of(new String[] {"a", "a"}, new String[] {"aa", "aa"},
                new String[] {"a", "b"}), BpeModel.Options.DEFAULT);
        assertArrayEquals(new int[] {2, 0}, encode(model, "aaa"), "leftmost pair merges first");
        assertArrayEquals(new int[] {3}, encode(model, "aaaa"));
        assertArrayEquals(new int[] {3, 2, 0}, encode(model, "aaaaaaa"));
        // "a a" outranks "a b", so in "aab" the first two merge and b stays alone.
        assertArrayEquals(new int[] {2, 1}, encode(model, "aab"));
    }

    @Test
    void ignoreMergesTakesWholeWordsFromTheVocabulary() {
        // With merges alone "abc" would end as "a" + "bc"; ignore_merges finds "abc" itself in the vocabulary.
        Map<String, Integer> vocab = Map.of("a", 0, "b", 1, "c", 2, "bc", 3, "abc", 4);
        List<String[]> merges = List.<String[]>of(new String[] {"b", "c"});
        assertArrayEquals(new int[] {0, 3}, encode(new BpeModel(vocab, merges, BpeModel.Options.DEFAULT), "abc"));
        var ignore = new BpeModel.Options(null, false, false, true, null, null);
        assertArrayEquals(new int[] {4}, encode(new BpeModel(vocab, merges, ignore), "abc"));
    }

    @Test
    void longWordsMergeCorrectly() {
        Map<String, Integer> vocab = Map.of("a", 0, "aa", 1, "aaaa", 2);
        BpeModel model = new BpeModel(vocab, List.of(new String[] {"a", "a"}, new String[] {"aa", "aa"}),
                BpeModel.Options.DEFAULT);
        int[] ids = encode(model, "a".repeat(10_001));
        assertEquals(2501, ids.length);
        assertEquals(0, ids[2500]);
    }

    @Test
    void addedTokensStripAndSingleWord() {
        AddedVocabulary added = new AddedVocabulary(List.of(
                new AddedVocabulary.AddedToken(10, "<mask>", true, true, true, false),
                new AddedVocabulary.AddedToken(11, "cat", false, false, false, true),
                new AddedVocabulary.AddedToken(12, "<m", false, false, false, false)));
        // lstrip/rstrip swallow the spaces beside <mask>; longest match wins over "<m".
        assertEquals(List.of(new AddedVocabulary.Segment(0, 1, -1), new AddedVocabulary.Segment(1, 9, 10),
                new AddedVocabulary.Segment(9, 10, -1)), added.split("a <mask> b", true));
        // single_word: "cat" inside "concat" is not a match, the standalone word is.
        assertEquals(List.of(new AddedVocabulary.Segment(0, 7, -1), new AddedVocabulary.Segment(7, 10, 11)),
                added.split("concat cat", true));
    }

    private static int[] encode(BpeModel model, String word) {
        IntList out = new IntList();
        model.encodeWord(word, out);
        return out.toArray();
    }
}
