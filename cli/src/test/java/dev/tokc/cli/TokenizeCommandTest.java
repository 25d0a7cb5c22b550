package dev.tokc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizeCommandTest {
    @Test
    void encodesAndDecodesWithTheModelsTokenizer() {
        String model = SharedData.model("shakespeare-llama").toString();
        var enc = CliErrorsTest.tokc("tokenize", model, "--text", "ROMEO:", "--special");
        assertEquals(0, enc.code(), enc.err());
        assertEquals("[0, 860, 28]", enc.out().strip());
        var dec = CliErrorsTest.tokc("tokenize", model, "--decode", "860,28");
        assertEquals("ROMEO:", dec.out().strip());
    }

    @Test
    void rendersTheChatTemplate(@TempDir Path tmp) throws Exception {
        Path msgs = tmp.resolve("m.json");
        Files.writeString(msgs, "[{\"role\": \"user\", \"content\": \"Hi!\"}]");
        var r = CliErrorsTest.tokc("tokenize", SharedData.root().resolve("tokenizers/llama3").toString(), "--chat", msgs.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().endsWith("Hi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"), r.out());
    }

    @Test
    void badInputIsOneLine(@TempDir Path tmp) throws Exception {
        String model = SharedData.model("shakespeare-llama").toString();
        CliErrorsTest.assertOneLineError(CliErrorsTest.tokc("tokenize", model, "--decode", "5000"), "5000");
        Path msgs = tmp.resolve("m.json");
        Files.writeString(msgs, "{not json");
        CliErrorsTest.assertOneLineError(CliErrorsTest.tokc("tokenize", model, "--chat", msgs.toString()), "m.json");
        assertEquals(2, CliErrorsTest.tokc("tokenize", model).code()); // no mode
    }
}
