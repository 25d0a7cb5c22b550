package dev.tokc.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The factory's accepted forms, and the errors for missing or malformed files. */
class TokenizersTest {
    @TempDir
    Path dir;

    private static void assertMessage(Runnable load, String... parts) {
        TokenizerException e = assertThrows(TokenizerException.class, load::run);
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "message '" + e.getMessage() + "' lacks '" + part + "'");
        }
    }

    @Test
    void gpt2DirectoryFormFromEncoderAndMerges() throws IOException {
        Files.writeString(dir.resolve("encoder.json"),
                "{\"h\": 0, \"i\": 1, \"Ġ\": 2, \"hi\": 3, \"Ġhi\": 4, \"<|endoftext|>\": 5}");
        Files.writeString(dir.resolve("vocab.bpe"), "#version: 0.2\nh i\nĠ hi\n");
        for (Path form : new Path[] {dir, dir.resolve("encoder.json"), dir.resolve("vocab.bpe")}) {
            Tokenizer t = Tokenizers.load(form);
            assertArrayEquals(new int[] {3, 4}, t.encode("hi hi", false));
            assertEquals(5, t.eosId());
            assertEquals("hi hi", t.decode(new int[] {3, 4, 5}, true));
        }
    }

    @Test
    void missingPathNamesTheFile() {
        assertMessage(() -> Tokenizers.load(dir.resolve("nope.json")), "nope.json", "file not found");
    }

    @Test
    void emptyDirectoryListsWhatWasExpected() {
        assertMessage(() -> Tokenizers.load(dir), "no tokenizer in directory", "tokenizer.json", "tokenizer.model",
                "encoder.json");
    }

    @Test
    void unknownFileKind() throws IOException {
        Files.writeString(dir.resolve("vocab.txt"), "a\nb\n");
        assertMessage(() -> Tokenizers.load(dir.resolve("vocab.txt")), "vocab.txt", "not a known tokenizer file");
    }

    @Test
    void malformedJson() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", ");
        assertMessage(() -> Tokenizers.load(dir), "tokenizer.json", "not valid JSON");
    }

    @Test
    void jsonWithoutModel() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"version\": \"1.0\"}");
        assertMessage(() -> Tokenizers.load(dir), "tokenizer.json", "expected a \"model\" object");
    }

    @Test
    void unsupportedModelType() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}");
        assertMessage(() -> Tokenizers.load(dir), "tokenizer.json", "WordPiece", "not supported");
    }

    @Test
    void mergeWithUnknownToken() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"),
                "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}}");
        assertMessage(() -> Tokenizers.load(dir), "tokenizer.json", "merge 0 'a b'", "not in the vocabulary");
    }

    @Test
    void unsupportedPreTokenizer() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, "
                + "\"merges\": []}, \"pre_tokenizer\": {\"type\": \"UnicodeScripts\"}}");
        assertMessage(() -> Tokenizers.load(dir), "tokenizer.json", "pre_tokenizer type 'UnicodeScripts'");
    }

    @Test
    void garbageSentencePieceModel() throws IOException {
        Files.write(dir.resolve("tokenizer.model"), new byte[] {(byte) 0xFF, (byte) 0xFF, 0x01, 0x02});
        assertMessage(() -> Tokenizers.load(dir), "tokenizer.model", "not a SentencePiece ModelProto");
    }

    @Test
    void emptySentencePieceModel() throws IOException {
        Files.write(dir.resolve("m.model"), new byte[0]);
        assertMessage(() -> Tokenizers.load(dir.resolve("m.model")), "m.model");
    }

    @Test
    void gpt2WithoutMerges() throws IOException {
        Files.writeString(dir.resolve("encoder.json"), "{\"a\": 0}");
        assertMessage(() -> Tokenizers.load(dir), "vocab.bpe", "file not found");
    }

    @Test
    void idsOutsideTheVocabularyAreRejected() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"),
                "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}");
        Tokenizer t = Tokenizers.load(dir);
        assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {7}));
    }
}
