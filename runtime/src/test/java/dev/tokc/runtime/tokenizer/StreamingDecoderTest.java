package dev.tokc.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Streaming decodes must concatenate to the whole decode and never emit half a character, on byte-level (Llama 3)
 * and byte-fallback (Llama 2) vocabularies.
 */
class StreamingDecoderTest {

    /** Streams ids one by one; returns the deltas, checking none carries a broken character. */
    private static List<String> stream(StreamingDecoder decoder, int[] ids) {
        List<String> deltas = new ArrayList<>();
        for (int id : ids) {
            String delta = decoder.push(id);
            assertFalse(delta.contains("\uFFFD"), "delta with a broken character: " + delta);
            deltas.add(delta);
        }
        deltas.add(decoder.flush());
        return deltas;
    }

    @Test
    void byteFallbackRunIsHeldBackUntilTheCharacterIsComplete() throws Exception {
        Tokenizer tokenizer = Tokenizers.load(java.nio.file.Path.of(StreamingDecoderTest.class
                .getResource("sentencepiece-style-tokenizer.json").toURI()));
        // ▁, <0x0A>, then the three bytes of €: nothing may come out between the first and the last of them.
        List<String> deltas = stream(new StreamingDecoder(tokenizer, false), new int[] {7, 3, 4, 5, 6});
        assertEquals(List.of("", "\n", "", "", "€", ""), deltas);
    }

    @Test
    void byteLevelEmojiSplitAcrossTokensIsHeldBackUntilComplete() {
        Tokenizer llama3 = SharedData.tokenizer("tokenizers/llama3");
        String text = "emoji 😀🚀👍🏽 family 👨‍👩‍👧 and 日本語のテキスト";
        int[] ids = llama3.encode(text, false);
        List<String> deltas = stream(new StreamingDecoder(llama3, false), ids);
        assertEquals(text, String.join("", deltas));
        // Some tokens end inside a character, so some deltas must be empty.
        assertFalse(deltas.stream().allMatch(d -> !d.isEmpty()));
    }

    @Test
    void sentencePieceByteFallbackAndPrefixSpaceAfterAPrompt() {
        Tokenizer llama2 = SharedData.tokenizer("tokenizers/llama2");
        int[] prompt = llama2.encode("Say:", true);
        String text = "中文分词 emoji 😀 done";
        int[] generated = llama2.encode(text, false);
        // Generated text continues the prompt, so its first "▁" is a real space, not the dummy prefix.
        List<String> deltas = stream(new StreamingDecoder(llama2, prompt, true), generated);
        assertEquals(" " + text, String.join("", deltas));
        // From scratch the first piece's prefix space is dropped, as in a whole decode.
        assertEquals(llama2.decode(generated), String.join("", stream(new StreamingDecoder(llama2, true), generated)));
    }

    @Test
    void incompleteCharacterAtTheEndIsFlushedAsReplacement() {
        Tokenizer llama3 = SharedData.tokenizer("tokenizers/llama3");
        int[] ids = llama3.encode("😀", false);
        StreamingDecoder decoder = new StreamingDecoder(llama3, false);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < ids.length - 1; i++) {
            out.append(decoder.push(ids[i]));
        }
        assertEquals("", out.toString());
        assertEquals(llama3.decode(java.util.Arrays.copyOf(ids, ids.length - 1)), decoder.flush());
    }

    @Test
    void longStreamsMatchTheWholeDecode() {
        Tokenizer llama3 = SharedData.tokenizer("tokenizers/llama3");
        String text = "Line one.\nLine two — with dashes… and “quotes”.\n".repeat(20);
        int[] ids = llama3.encode(text, false);
        assertEquals(text, String.join("", stream(new StreamingDecoder(llama3, true), ids)));
    }
}
