package dev.tokc.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.runtime.tokenizer.sentencepiece.SentencePieceModelProto.ModelProto;
import dev.tokc.runtime.tokenizer.sentencepiece.SentencePieceModelProto.ModelProto.SentencePiece;
import dev.tokc.runtime.tokenizer.sentencepiece.SentencePieceModelProto.NormalizerSpec;
import dev.tokc.runtime.tokenizer.sentencepiece.SentencePieceModelProto.TrainerSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SentencePiece BPE on small hand-built models: score order, leftmost ties, user-defined pieces, UNUSED pieces
 * split back, byte fallback, and the whole-text path taken when pieces cross word starts.
 */
class SentencePieceModelTest {
    @TempDir
    Path dir;

    private static final String[] BASE = {"<unk>", "<s>", "</s>", "<0x41>", "<0xC3>", "<0x9F>", "▁", "a", "b", "c"};

    /** ids: 0 unk, 1 bos, 2 eos, 3..5 bytes (A, and the two bytes of ß), 6 ▁, 7 a, 8 b, 9 c, then {@code extra}. */
    private Tokenizer model(boolean dummyPrefix, Object... extra) throws IOException {
        ModelProto.Builder proto = ModelProto.newBuilder();
        for (String piece : BASE) {
            SentencePiece.Type type = piece.equals("<unk>") ? SentencePiece.Type.UNKNOWN
                    : piece.startsWith("<0x") ? SentencePiece.Type.BYTE
                    : piece.startsWith("<") ? SentencePiece.Type.CONTROL : SentencePiece.Type.NORMAL;
            proto.addPieces(SentencePiece.newBuilder().setPiece(piece).setScore(-100).setType(type));
        }
        for (int i = 0; i < extra.length; i += 3) {
            proto.addPieces(SentencePiece.newBuilder().setPiece((String) extra[i])
                    .setScore(((Number) extra[i + 1]).floatValue()).setType((SentencePiece.Type) extra[i + 2]));
        }
        proto.setTrainerSpec(TrainerSpec.newBuilder().setModelType(TrainerSpec.ModelType.BPE).setByteFallback(true));
        proto.setNormalizerSpec(NormalizerSpec.newBuilder().setName("identity").setAddDummyPrefix(dummyPrefix)
                .setRemoveExtraWhitespaces(false));
        Path file = dir.resolve("m" + System.nanoTime() + ".model");
        Files.write(file, proto.build().toByteArray());
        return Tokenizers.load(file);
    }

    private static final SentencePiece.Type NORMAL = SentencePiece.Type.NORMAL;

    @Test
    void higherScoreMergesFirst() throws IOException {
        Tokenizer t = model(false, "ab", -2, NORMAL, "bc", -1, NORMAL);
        assertArrayEquals(new int[] {7, 11}, t.encode("abc", false)); // bc (-1) beats ab (-2)
    }

    @Test
    void equalScoresMergeLeftmostFirst() throws IOException {
        Tokenizer t = model(false, "aa", -1, NORMAL);
        assertArrayEquals(new int[] {10, 7}, t.encode("aaa", false));
    }

    @Test
    void dummyPrefixAndSpaces() throws IOException {
        Tokenizer t = model(true, "▁a", -1, NORMAL);
        assertArrayEquals(new int[] {10, 10, 8}, t.encode("a ab", false));
        assertArrayEquals(new int[] {1, 10}, t.encode("a", true));
        assertEquals("a ab", t.decode(new int[] {10, 10, 8}));
        assertEquals(" a", t.decode(new int[] {6, 10}), "only the first piece loses its dummy-prefix space");
    }

    @Test
    void userDefinedPiecesStayWhole() throws IOException {
        Tokenizer t = model(false, "ab", -1, NORMAL, "b<x>", 0, NORMAL, "<x>", 0, SentencePiece.Type.USER_DEFINED);
        // "<x>" is matched before merging and never merges, so "b<x>" cannot form; "<", "x", ">" alone would be bytes.
        assertArrayEquals(new int[] {10, 12}, t.encode("ab<x>", false));
    }

    @Test
    void unusedPiecesAreSplitBack() throws IOException {
        Tokenizer t = model(false, "ab", -2, NORMAL, "abc", -1, SentencePiece.Type.UNUSED);
        // ab, then ab+c = abc (unused) is split back into ab and c.
        assertArrayEquals(new int[] {10, 9}, t.encode("abc", false));
    }

    @Test
    void byteFallbackAndUnknown() throws IOException {
        Tokenizer t = model(false);
        assertArrayEquals(new int[] {3, 4, 5, 7}, t.encode("Aßa", false)); // A and ß have byte pieces
        assertArrayEquals(new int[] {0}, t.encode("z", false)); // z has no byte piece: unknown
        assertEquals("Aßa", t.decode(new int[] {3, 4, 5, 7}));
        assertTrue(t.isSpecial(0) && t.isSpecial(1) && !t.isSpecial(7));
    }

    @Test
    void piecesAcrossWordStartsUseTheWholeText() throws IOException {
        // "a▁b" crosses a word start, so words are not independent: the merge must see the whole text.
        Tokenizer t = model(true, "a▁", -3, NORMAL, "a▁b", -2, NORMAL, "▁a", -1, NORMAL);
        // ▁ a ▁ b: ▁a (-1) first, then "▁a▁"? not a piece; so [▁a, ▁, b].
        assertArrayEquals(new int[] {12, 6, 8}, t.encode("a b", false));
        // Without the dummy prefix: a ▁ b -> a▁ (-3) -> a▁b (-2).
        Tokenizer noPrefix = model(false, "a▁", -3, NORMAL, "a▁b", -2, NORMAL, "▁a", -1, NORMAL);
        assertArrayEquals(new int[] {11}, noPrefix.encode("a b", false));
    }

    @Test
    void unigramIsRejectedWithTheFileName() throws IOException {
        Path file = dir.resolve("unigram.model");
        Files.write(file, ModelProto.newBuilder().addPieces(SentencePiece.newBuilder().setPiece("<unk>"))
                .setTrainerSpec(TrainerSpec.newBuilder().setModelType(TrainerSpec.ModelType.UNIGRAM)).build()
                .toByteArray());
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizers.load(file));
        assertTrue(e.getMessage().contains("unigram.model") && e.getMessage().contains("UNIGRAM"), e.getMessage());
    }
}
