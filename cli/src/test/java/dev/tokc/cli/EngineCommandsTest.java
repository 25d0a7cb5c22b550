package dev.tokc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.testing.SharedData;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tokc compile -o}, {@code tokc logits ENGINE}, {@code tokc run}: the model -> engine -> tokens path. */
class EngineCommandsTest {
    @TempDir
    Path tmp;

    private static final String MODEL = SharedData.model("shakespeare-llama").toString();

    @Test
    void compileWritesAnEngineThatLogitsAndRunUse() throws Exception {
        Path engine = tmp.resolve("eng");
        var c = CliErrorsTest.tokc("compile", MODEL, "-o", engine.toString());
        assertEquals(0, c.code(), c.err());
        assertTrue(c.err().contains("program dev.tokc.generated.StepProgram"), c.err());
        for (String f : new String[] {"manifest.json", "weights.bin", "program.jar", "program.json", "program.ir",
                "src/dev/tokc/generated/StepProgram.java", "tokenizer.json"}) {
            assertTrue(Files.exists(engine.resolve(f)), f);
        }

        Path out = tmp.resolve("l.f32");
        var l = CliErrorsTest.tokc("logits", engine.toString(), "--ids", "0,860,28", "-o", out.toString());
        assertEquals(0, l.code(), l.err());
        float[] got = floats(Files.readAllBytes(out));
        float[] ref = floats(Files.readAllBytes(Path.of(MODEL, "reference-0.logits.f32")));
        assertEquals(ref.length, got.length);
        for (int i = 0; i < ref.length; i++) {
            assertTrue(Math.abs(ref[i] - got[i]) <= 1e-4, "logit " + i + ": " + got[i] + " vs " + ref[i]);
        }

        var r = CliErrorsTest.tokc("run", engine.toString(), "--prompt", "ROMEO:", "--max-tokens", "8");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("ROMEO:") && r.out().length() > "ROMEO:\n".length(), r.out());
        assertTrue(r.err().contains("8 generated tokens") && r.err().contains("tokens/s") && r.err().contains("paged KV cache"),
                r.err());
    }

    /**
     * The K/V bytes per cached token that bench adds to a step's bytes (and so to MBU) count a quantized cache's
     * vectors with their scales: shakespeare-llama has 6 layers, 2 KV heads of 32, so f32 2 x 6 x 2 x 128 = 3072 bytes,
     * int8 2 x 6 x 2 x (4 + 32) = 864, int4 2 x 6 x 2 x (8 + 16) = 576 (int4 was counted as 4 bytes a value).
     */
    @Test
    void benchCountsQuantizedKvBytes() throws Exception {
        for (String[] kv : new String[][] {{"", "3.1 KB"}, {"int8", "0.9 KB"}, {"int4", "0.6 KB"}}) {
            Path engine = tmp.resolve("eng-" + kv[0]);
            var c = kv[0].isEmpty() ? CliErrorsTest.tokc("compile", MODEL, "-o", engine.toString())
                    : CliErrorsTest.tokc("compile", MODEL, "-o", engine.toString(), "--kv-dtype", kv[0]);
            assertEquals(0, c.code(), c.err());
            var b = CliErrorsTest.tokc("bench", engine.toString(), "--prompt-len", "4", "--gen-len", "2", "--batch", "1",
                    "--threads", "1", "--bandwidth", "50");
            assertEquals(0, b.code(), b.err());
            assertTrue(b.out().contains("+ " + kv[1] + " of K/V per cached token"), b.out());
        }
    }

    /**
     * An engine this runtime cannot read (written by another format version, or with its weights cut short) is bad
     * input: one error line that names the file and what to do, exit code 1, no stack trace and no "internal error".
     */
    @Test
    void unreadableEnginesGiveOneLineErrors() throws Exception {
        Path engine = tmp.resolve("eng");
        assertEquals(0, CliErrorsTest.tokc("compile", MODEL, "-o", engine.toString()).code());
        Path manifest = engine.resolve("manifest.json");
        String json = Files.readString(manifest);
        Files.writeString(manifest, json.replaceFirst("\"format_version\" : \\d+", "\"format_version\" : 1"));
        for (String[] cmd : new String[][] {{"run", engine.toString(), "--prompt", "ROMEO:", "--max-tokens", "2"},
                {"bench", engine.toString(), "--batch", "1", "--bandwidth", "50"}, {"logits", engine.toString(), "--ids", "1"}}) {
            CliErrorsTest.assertOneLineError(CliErrorsTest.tokc(cmd), "manifest.json", "format version 1",
                    "recompile the model");
        }
        Files.writeString(manifest, json);
        Path weights = engine.resolve("weights.bin");
        byte[] full = Files.readAllBytes(weights);
        Files.write(weights, java.util.Arrays.copyOf(full, full.length / 2));
        CliErrorsTest.assertOneLineError(CliErrorsTest.tokc("run", engine.toString(), "--prompt", "ROMEO:"), "weights.bin");
    }

    @Test
    void benchPrintsOneRowPerBatchSize() throws Exception {
        Path engine = tmp.resolve("eng");
        assertEquals(0, CliErrorsTest.tokc("compile", MODEL, "-o", engine.toString()).code());
        var b = CliErrorsTest.tokc("bench", engine.toString(), "--prompt-len", "8", "--gen-len", "4", "--batch", "1,3",
                "--threads", "2", "--bandwidth", "50");
        assertEquals(0, b.code(), b.err());
        assertTrue(b.out().contains("read bandwidth 50.0 GB/s (given with --bandwidth)"), b.out());
        assertTrue(b.out().contains("prefill/s") && b.out().contains("decode tok/s") && b.out().contains("MBU"), b.out());
        for (String batch : new String[] {"1", "3"}) {
            String row = b.out().lines().filter(l -> l.trim().startsWith(batch + " ")).findFirst()
                    .orElseThrow(() -> new AssertionError("no row for batch " + batch + " in:\n" + b.out()));
            String[] f = row.trim().split("\\s+");
            assertEquals(8, f.length, row);
            for (int i = 1; i < 7; i++) {
                assertTrue(Double.parseDouble(f[i]) > 0, "column " + i + " of: " + row);
            }
            assertTrue(f[7].endsWith("%"), row);
        }
        assertUsageError(CliErrorsTest.tokc("bench", engine.toString(), "--prompt-len", "4:8"), "--prompt-len", "MIN:MAX");
        assertUsageError(CliErrorsTest.tokc("bench", engine.toString(), "--batch", "1,0"), "--batch");
    }

    /**
     * {@code tokc bench E1 E2 --rounds N}: every engine once per round, each in a child JVM, then per batch size the
     * median decode tok/s and the per-round ratio to the first engine (1.00x for itself).
     */
    @Test
    void benchComparesEnginesRoundByRound() throws Exception {
        Path f32 = tmp.resolve("f32");
        Path int8 = tmp.resolve("int8");
        assertEquals(0, CliErrorsTest.tokc("compile", MODEL, "-o", f32.toString()).code());
        assertEquals(0, CliErrorsTest.tokc("compile", MODEL, "-o", int8.toString(), "--quant", "int8").code());
        var b = CliErrorsTest.tokc("bench", f32.toString(), int8.toString(), "--rounds", "2", "--prompt-len", "4",
                "--gen-len", "3", "--batch", "1,2", "--threads", "1", "--bandwidth", "50");
        assertEquals(0, b.code(), b.err());
        assertEquals(4, b.out().lines().filter(l -> l.startsWith("round ")).count(), b.out());
        assertTrue(b.out().contains("round 2/2 int8:  batch 1 "), b.out());
        for (String batch : new String[] {"1", "2"}) {
            assertTrue(b.out().contains("batch " + batch + ", 2 rounds; ratio = decode tok/s / f32's in the same round"),
                    b.out());
        }
        String f32Row = b.out().lines().filter(l -> l.startsWith("f32 ")).findFirst().orElseThrow(() -> new AssertionError(b.out()));
        assertTrue(f32Row.contains("1.00x (1.00-1.00)"), f32Row);
        String[] int8Row = b.out().lines().filter(l -> l.startsWith("int8 ")).findFirst()
                .orElseThrow(() -> new AssertionError(b.out())).trim().split("\\s+");
        // engine, GB/step, byte ratio, tok/s median, (range), ratio median, (range), MBU
        double byteRatio = Double.parseDouble(int8Row[2].replace("x", ""));
        assertTrue(byteRatio > 1.5 && byteRatio < 4.5, "int8 reads 1/4 to 1/2 of f32's weight bytes: " + String.join(" ", int8Row));
        assertTrue(int8Row[5].endsWith("x") && Double.parseDouble(int8Row[5].replace("x", "")) > 0, String.join(" ", int8Row));

        CliErrorsTest.assertOneLineError(CliErrorsTest.tokc("bench", f32.toString(), tmp.toString(), "--rounds", "1"),
                tmp.toString(), "not an engine directory");
        assertUsageError(CliErrorsTest.tokc("bench", f32.toString(), "--rounds", "3"), "--rounds", "two or more");
        assertUsageError(CliErrorsTest.tokc("bench", f32.toString(), int8.toString(), "--rounds", "0"), "--rounds");
    }

    /**
     * Bytes per decode step: with tied embeddings (shakespeare-llama's) the embedding table is the LM head and is
     * streamed every step while the LM head stays in float ({@code --lm-head float}); once the LM head is quantized
     * (int8 by default) it is a tensor of its own and the table is only gathered from and is not counted.
     */
    @Test
    void benchCountsTheEmbeddingTableOnlyWhenItIsTheLmHead() throws Exception {
        Path tied = tmp.resolve("tied");
        Path separate = tmp.resolve("separate");
        assertEquals(0, CliErrorsTest.tokc("compile", MODEL, "-o", tied.toString(), "--quant", "int8",
                "--lm-head", "float").code());
        assertEquals(0, CliErrorsTest.tokc("compile", MODEL, "-o", separate.toString(), "--quant", "int8").code());
        for (int e = 0; e < 2; e++) {
            Path engine = e == 0 ? tied : separate;
            var b = CliErrorsTest.tokc("bench", engine.toString(), "--prompt-len", "4", "--gen-len", "2", "--batch", "1",
                    "--runs", "1", "--bandwidth", "50");
            assertEquals(0, b.code(), b.err());
            String expected = e == 0 ? "the embedding table is also the LM head"
                    : "all tensors but the embedding table model.embed_tokens.weight";
            assertTrue(b.out().contains(expected), b.out());
        }
    }

    /** A usage error: exit code 2, the message on the first line, then the usage line, no stack trace. */
    private static void assertUsageError(CliErrorsTest.Result r, String... mustContain) {
        assertEquals(2, r.code(), r.err());
        String first = r.err().strip().split("\n")[0];
        assertTrue(first.startsWith("tokc bench: "), first);
        for (String s : mustContain) {
            assertTrue(first.contains(s), "'" + s + "' missing from: " + first);
        }
        assertTrue(!r.err().contains("\tat "), r.err());
    }

    @Test
    void compileRefusesToOverwriteWithoutForce() throws Exception {
        Path engine = tmp.resolve("eng");
        assertEquals(0, CliErrorsTest.tokc("compile", MODEL, "-o", engine.toString()).code());
        CliErrorsTest.assertOneLineError(CliErrorsTest.tokc("compile", MODEL, "-o", engine.toString()), "already exists",
                "--force");
        var again = CliErrorsTest.tokc("compile", MODEL, "-o", engine.toString(), "--force", "--dtype", "bf16");
        assertEquals(0, again.code(), again.err());
        assertTrue(Files.readString(engine.resolve("manifest.json")).contains("\"bf16\""));
    }

    @Test
    void corruptedEngineFailsClearly() throws Exception {
        Path engine = tmp.resolve("eng");
        assertEquals(0, CliErrorsTest.tokc("compile", MODEL, "-o", engine.toString()).code());
        byte[] w = Files.readAllBytes(engine.resolve("weights.bin"));
        w[w.length / 2] ^= 0x40;
        Files.write(engine.resolve("weights.bin"), w);
        var r = CliErrorsTest.tokc("logits", engine.toString(), "--ids", "0,1");
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("weights.bin"), r.err());
    }

    @Test
    void emitJavaPrintsTheGeneratedSource() {
        var r = CliErrorsTest.tokc("compile", MODEL, "--emit", "java");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("public final class StepProgram implements CompiledProgram"), r.out());
        assertTrue(r.out().contains("c.pagedAttention("), r.out());
    }

    private static float[] floats(byte[] b) {
        float[] f = new float[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return f;
    }
}
