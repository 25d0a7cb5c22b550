package dev.tokc.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Tokenizers of the reference models and of Qwen 3 (which has no vectors file), loaded the way the runtime does. */
class ModelTokenizerTest {

    /** shakespeare-llama's references: prompt encoded with BOS gives input_ids; greedy ids decode to greedy_text. */
    @TestFactory
    Stream<DynamicTest> shakespeareReferences() throws IOException {
        if (!SharedData.exists("models/shakespeare-llama")) {
            return SharedData.skipped("models/shakespeare-llama");
        }
        Path dir = SharedData.require("models/shakespeare-llama");
        Tokenizer tokenizer = Tokenizers.load(dir);
        List<DynamicTest> tests = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.getFileName().toString().matches("reference.*\\.json")).sorted().toList()) {
                JsonNode ref = SharedData.json(file);
                String name = file.getFileName().toString();
                tests.add(dynamicTest(name + " prompt ids", () -> assertArrayEquals(
                        SharedData.ints(ref.get("input_ids")), tokenizer.encode(ref.get("prompt").asText(), true))));
                tests.add(dynamicTest(name + " greedy text", () -> assertEquals(
                        ref.get("greedy_text").asText(), tokenizer.decode(SharedData.ints(ref.get("greedy_ids"))))));
            }
        }
        return tests.stream();
    }

    @Test
    void shakespeareSpecialTokens() {
        Tokenizer tokenizer = SharedData.tokenizer("models/shakespeare-llama/tokenizer.json");
        assertEquals(1024, tokenizer.vocabSize());
        assertEquals(0, tokenizer.bosId());
        assertEquals(1, tokenizer.eosId());
        assertArrayEquals(new int[] {0, 1}, tokenizer.encode("<s></s>", false), "special tokens match in text");
        assertEquals("ROMEO:", tokenizer.decode(tokenizer.encode("ROMEO:", true), true));
    }

    @Test
    void qwen3EncodesWithItsSpecialTokens() {
        Tokenizer qwen = SharedData.tokenizer("tokenizers/qwen3");
        assertEquals(151669, qwen.vocabSize());
        assertEquals(qwen.tokenToId("<|im_end|>"), qwen.eosId());
        assertEquals(-1, qwen.bosId(), "Qwen 3 has no BOS");
        // Published ids of the Qwen2/Qwen3 vocabulary.
        assertArrayEquals(new int[] {9707, 1879}, qwen.encode("Hello world", false));
        int imStart = qwen.tokenToId("<|im_start|>");
        int[] ids = qwen.encode("<|im_start|>user\nHi<|im_end|>", true);
        assertEquals(imStart, ids[0]);
        assertEquals(qwen.eosId(), ids[ids.length - 1]);
        assertTrue(qwen.isSpecial(imStart));
        assertEquals("user\nHi", qwen.decode(ids, true));
        // Qwen splits numbers into single digits (\p{N} without {1,3}).
        assertEquals(4, qwen.encode("1234", false).length);
        assertFalse(qwen.isSpecial(qwen.tokenToId("<think>")), "<think> is added but not special");
    }

    /** No vectors for Qwen 3: every llama3 vector text round-trips (after NFC, Qwen's normalizer). */
    @TestFactory
    Stream<DynamicTest> qwen3RoundTrips() {
        if (!SharedData.exists("tokenizers/qwen3") || !SharedData.exists("tokenizers/llama3/vectors.json")) {
            return SharedData.skipped("tokenizers/qwen3 and tokenizers/llama3/vectors.json");
        }
        Tokenizer qwen = SharedData.tokenizer("tokenizers/qwen3");
        JsonNode vectors = SharedData.json(SharedData.require("tokenizers/llama3/vectors.json"));
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : vectors.get("cases")) {
            String text = c.get("text").asText();
            tests.add(dynamicTest("qwen3 round trip " + TokenizerVectorsTest.printable(text), () -> assertEquals(
                    java.text.Normalizer.normalize(text, java.text.Normalizer.Form.NFC),
                    qwen.decode(qwen.encode(text, false)))));
        }
        return tests.stream();
    }

    @Test
    void llama3ChatPromptKeepsSpecialTokensWhole() {
        Tokenizer llama3 = SharedData.tokenizer("tokenizers/llama3");
        ChatTemplate template = ChatTemplate.load(SharedData.require("tokenizers/llama3"));
        String prompt = template.render(List.of(java.util.Map.of("role", "user", "content", "Hi!")), true);
        int[] ids = llama3.encode(prompt, false);
        int bos = llama3.tokenToId("<|begin_of_text|>");
        int header = llama3.tokenToId("<|start_header_id|>");
        int eot = llama3.tokenToId("<|eot_id|>");
        assertEquals(128000, bos);
        assertEquals(bos, ids[0]);
        assertEquals(header, ids[1]);
        assertEquals(2, java.util.Arrays.stream(ids).filter(id -> id == header).count());
        assertEquals(1, java.util.Arrays.stream(ids).filter(id -> id == eot).count());
        assertEquals(prompt, llama3.decode(ids));
        assertEquals("user\n\nHi!assistant\n\n", llama3.decode(ids, true));
        // User content must not forge turn boundaries: unparsed, the special token is spelled out as text.
        int[] spelled = llama3.encode("<|eot_id|>", false, false);
        assertTrue(spelled.length > 1 && java.util.Arrays.stream(spelled).noneMatch(id -> id == eot));
        assertEquals("<|eot_id|>", llama3.decode(spelled));
    }

    @Test
    void llama2SentencePieceMetadata() {
        Tokenizer llama2 = SharedData.tokenizer("tokenizers/llama2/tokenizer.model");
        JsonNode vectors = SharedData.json(SharedData.require("tokenizers/llama2/vectors.json"));
        assertEquals(vectors.get("vocab_size").asInt(), llama2.vocabSize());
        assertEquals(vectors.get("bos_id").asInt(), llama2.bosId());
        assertEquals(vectors.get("eos_id").asInt(), llama2.eosId());
        assertEquals(vectors.get("unk_id").asInt(), llama2.tokenToId("<unk>"));
        assertTrue(llama2.isSpecial(llama2.bosId()));
        assertEquals("<s>Hi", llama2.decode(llama2.encode("Hi", true)));
        assertEquals("Hi", llama2.decode(llama2.encode("Hi", true), true));
    }

    /** The pieces of the llama2 vectors are the vocabulary strings of the ids. */
    @TestFactory
    Stream<DynamicTest> llama2Pieces() {
        if (!SharedData.exists("tokenizers/llama2")) {
            return SharedData.skipped("tokenizers/llama2");
        }
        Tokenizer llama2 = SharedData.tokenizer("tokenizers/llama2");
        JsonNode vectors = SharedData.json(SharedData.require("tokenizers/llama2/vectors.json"));
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : vectors.get("cases")) {
            tests.add(dynamicTest("llama2 pieces " + TokenizerVectorsTest.printable(c.get("text").asText()), () -> {
                int[] ids = llama2.encode(c.get("text").asText(), false);
                List<String> pieces = new ArrayList<>();
                for (int id : ids) {
                    pieces.add(llama2.idToToken(id));
                }
                List<String> expected = new ArrayList<>();
                c.get("pieces").forEach(p -> expected.add(p.asText()));
                assertEquals(expected, pieces);
            }));
        }
        return tests.stream();
    }
}
