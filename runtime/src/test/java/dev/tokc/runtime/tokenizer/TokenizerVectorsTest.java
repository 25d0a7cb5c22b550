package dev.tokc.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every case of {@code ../shared/tokenizers/<name>/vectors.json}: ids without special tokens, decoded text, and
 * ids with special tokens where the vectors give them. One dynamic test per case and check, named by the text.
 */
class TokenizerVectorsTest {
    @TestFactory
    Stream<DynamicTest> gpt2() {
        return vectors("gpt2", "ids_with_special");
    }

    @TestFactory
    Stream<DynamicTest> llama2() {
        return vectors("llama2", "ids_with_bos");
    }

    @TestFactory
    Stream<DynamicTest> llama3() {
        return vectors("llama3", "ids_with_special");
    }

    private static Stream<DynamicTest> vectors(String name, String withSpecialField) {
        if (!SharedData.exists("tokenizers/" + name + "/vectors.json")) {
            return SharedData.skipped("tokenizers/" + name + "/vectors.json");
        }
        Path dir = SharedData.require("tokenizers/" + name);
        JsonNode vectors = SharedData.json(dir.resolve("vectors.json"));
        Tokenizer tokenizer = SharedData.tokenizer("tokenizers/" + name);
        List<DynamicTest> tests = new ArrayList<>();
        int index = 0;
        for (JsonNode c : vectors.get("cases")) {
            String text = c.get("text").asText();
            String label = name + " #" + index++ + " " + printable(text);
            int[] ids = SharedData.ints(c.get("ids"));
            tests.add(dynamicTest(label + " encode", () ->
                    assertArrayEquals(ids, tokenizer.encode(text, false), "ids of " + printable(text))));
            tests.add(dynamicTest(label + " decode", () ->
                    assertEquals(c.get("decoded").asText(), tokenizer.decode(ids))));
            if (c.has(withSpecialField)) {
                int[] withSpecial = SharedData.ints(c.get(withSpecialField));
                tests.add(dynamicTest(label + " encode with special", () ->
                        assertArrayEquals(withSpecial, tokenizer.encode(text, true))));
            }
        }
        return tests.stream();
    }

    static String printable(String text) {
        String s = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t");
        return "\"" + (s.length() > 40 ? s.substring(0, 37) + "..." : s) + "\"";
    }
}
