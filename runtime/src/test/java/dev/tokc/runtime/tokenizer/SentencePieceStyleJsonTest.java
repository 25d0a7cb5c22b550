package dev.tokc.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A small hand-written tokenizer.json in the style of Hugging Face's Llama 2 conversion (Prepend + Replace
 * normalizer, byte fallback, fused unknowns, TemplateProcessing BOS, Replace/ByteFallback/Fuse/Strip decoder).
 * Expected ids are worked out by hand from its six merges.
 */
class SentencePieceStyleJsonTest {
    private static final Tokenizer TOKENIZER = load();

    private static Tokenizer load() {
        try {
            return Tokenizers.load(Path.of(SentencePieceStyleJsonTest.class
                    .getResource("sentencepiece-style-tokenizer.json").toURI()));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void mergesInRankOrder() {
        // ▁ t h e ▁ c a t -> ▁t -> he -> ▁the -> at -> ▁c -> ▁cat
        assertArrayEquals(new int[] {15, 18}, TOKENIZER.encode("the cat", false));
        assertArrayEquals(new int[] {1, 15, 18}, TOKENIZER.encode("the cat", true));
    }

    @Test
    void byteFallbackAndFusedUnknown() {
        // "\n" and the three bytes of the euro sign are byte tokens; ß has no byte tokens, so it is unknown, fused.
        assertArrayEquals(new int[] {7, 3, 4, 5, 6}, TOKENIZER.encode("\n€", false));
        assertArrayEquals(new int[] {7, 0, 13}, TOKENIZER.encode("ßß t", false));
    }

    @Test
    void decoderChainUndoesTheNormalizer() {
        assertEquals("the cat", TOKENIZER.decode(new int[] {15, 18}));
        assertEquals("<s> the cat", TOKENIZER.decode(new int[] {1, 15, 18}));
        assertEquals("the cat", TOKENIZER.decode(new int[] {1, 15, 18}, true));
        assertEquals("\n€", TOKENIZER.decode(new int[] {7, 3, 4, 5, 6}));
        // An incomplete UTF-8 run of byte tokens becomes one U+FFFD per byte.
        assertEquals("\uFFFD\uFFFD", TOKENIZER.decode(new int[] {4, 5}));
    }

    @Test
    void specialTokensInTextAreMatchedAndEachSegmentIsNormalized() {
        // The normalizer runs per segment between added tokens, so "cat" after </s> gets its own ▁.
        assertArrayEquals(new int[] {15, 2, 18}, TOKENIZER.encode("the</s>cat", false));
    }

    @Test
    void specialTokensStayTextWhenNotParsed() {
        // "</s>" as text: ▁ t h e < / s > c a t, where <, /, s, > have no ids and fuse into one unknown.
        assertArrayEquals(new int[] {15, 0, 11, 16}, TOKENIZER.encode("the</s>cat", false, false));
    }

    /**
     * The newer conversion of the same vocabulary: no normalizer, a Metaspace pre-tokenizer that prepends ▁ only at
     * the start of the text ("first"), and a Metaspace decoder.
     */
    @Test
    void metaspacePreTokenizerVariant(@TempDir Path dir) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(SentencePieceStyleJsonTest.class
                .getResource("sentencepiece-style-tokenizer.json"));
        root.putNull("normalizer");
        root.set("pre_tokenizer", json.readTree(
                "{\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"first\", \"split\": false}"));
        root.set("decoder", json.readTree(
                "{\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"first\", \"split\": false}"));
        Path file = dir.resolve("tokenizer.json");
        json.writeValue(file.toFile(), root);
        Tokenizer tokenizer = Tokenizers.load(file);
        assertArrayEquals(new int[] {15, 18}, tokenizer.encode("the cat", false));
        // After a special token the text no longer starts the input, so no ▁ is prepended: t he ▁cat.
        assertArrayEquals(new int[] {1, 8, 14, 18}, tokenizer.encode("<s>the cat", false));
        assertEquals("the cat", tokenizer.decode(new int[] {15, 18}));
    }

    @Test
    void vocabularyQueries() {
        assertEquals(19, TOKENIZER.vocabSize());
        assertEquals(1, TOKENIZER.bosId());
        assertEquals(2, TOKENIZER.eosId());
        assertEquals(18, TOKENIZER.tokenToId("▁cat"));
        assertEquals("▁the", TOKENIZER.idToToken(15));
        assertEquals(-1, TOKENIZER.tokenToId("dog"));
    }
}
