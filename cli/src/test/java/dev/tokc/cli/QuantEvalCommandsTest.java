package dev.tokc.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 7 on the command line: {@code tokc compile --quant}, {@code tokc eval}, their errors, and the eval arithmetic. */
class QuantEvalCommandsTest {
    @TempDir
    Path tmp;

    private static final String MODEL = SharedData.model("shakespeare-llama").toString();

    @Test
    void quantizedEngineEvaluatesAgainstTheFloatOne() throws Exception {
        Path f32 = tmp.resolve("f32");
        Path int8 = tmp.resolve("int8");
        assertEquals(0, CliErrorsTest.tokc("compile", MODEL, "-o", f32.toString()).code());
        var c = CliErrorsTest.tokc("compile", MODEL, "-o", int8.toString(), "--quant", "int8");
        assertEquals(0, c.code(), c.err());
        // The LM head (tied to the embedding table) is quantized too: int8 is --lm-head's default.
        assertTrue(c.err().contains("quantize-weights: quantized=25 keptLmHead=0"), c.err());
        assertTrue(c.err().contains("int8, LM head too (+ f32)"), c.err());
        String manifest = Files.readString(int8.resolve("manifest.json"));
        assertTrue(manifest.contains("\"int8\""), manifest);
        assertTrue(Files.size(int8.resolve("weights.bin")) < Files.size(f32.resolve("weights.bin")) / 2);

        Path text = tmp.resolve("t.txt");
        Files.writeString(text, Files.readString(SharedData.root().resolve("corpus/tinyshakespeare.txt")).substring(0, 6000));
        var self = CliErrorsTest.tokc("eval", f32.toString(), "--perplexity", text.toString(), "--split", "all",
                "--window", "64", "--kl-reference", f32.toString());
        assertEquals(0, self.code(), self.err());
        assertTrue(self.out().contains("mean KL 0.000000 nats/token, top-1 agreement 100.00 %"), self.out());
        var q = CliErrorsTest.tokc("eval", int8.toString(), "--perplexity", text.toString(), "--split", "all",
                "--window", "64", "--kl-reference", f32.toString(), "--batch", "3");
        assertEquals(0, q.code(), q.err());
        double pplF32 = number(self.out(), "perplexity ([0-9.]+)");
        double pplInt8 = number(q.out(), "perplexity ([0-9.]+)");
        double kl = number(q.out(), "mean KL ([0-9.]+)");
        assertTrue(Math.abs(pplInt8 / pplF32 - 1) < 0.02, self.out() + q.out());
        assertTrue(kl > 0 && kl < 0.01, q.out());
    }

    @Test
    void calibrationScalesFoldIntoNormsAndUpRows() throws Exception {
        Path text = tmp.resolve("calib.txt");
        Files.writeString(text, Files.readString(SharedData.root().resolve("corpus/tinyshakespeare.txt")).substring(0, 2000));
        var awq = CliErrorsTest.tokc("compile", MODEL, "-o", tmp.resolve("awq").toString(), "--quant", "int4",
                "--calibration", text.toString(), "--calibration-tokens", "64");
        assertEquals(0, awq.code(), awq.err());
        assertTrue(awq.err().contains("calibration: 64 tokens, AWQ scales"), awq.err());
        // q/k/v (attn norm), gate/up (mlp norm), down (up rows) per layer; o_proj's input is not foldable.
        assertTrue(awq.err().contains("scaled=18 scaleNotFoldable="), awq.err());
        var w8a8 = CliErrorsTest.tokc("compile", MODEL, "-o", tmp.resolve("w8a8").toString(), "--quant", "w8a8",
                "--calibration", text.toString(), "--calibration-tokens", "64", "--smooth-alpha", "0.6");
        assertEquals(0, w8a8.code(), w8a8.err());
        // 24 projections and the LM head (int8 by default, so w8a8's own format: scaled and its activations quantized)
        assertTrue(w8a8.err().contains("SmoothQuant (alpha 0.6)") && w8a8.err().contains("activationsQuantized=25"), w8a8.err());
        assertTrue(Files.readString(tmp.resolve("w8a8").resolve("manifest.json")).contains("\"w8a8\""));
        var run = CliErrorsTest.tokc("run", tmp.resolve("w8a8").toString(), "--prompt", "ROMEO:", "--max-tokens", "4");
        assertEquals(0, run.code(), run.err());
        var w4a8 = CliErrorsTest.tokc("compile", MODEL, "-o", tmp.resolve("w4a8").toString(), "--quant", "w4a8",
                "--group-size", "64");
        assertEquals(0, w4a8.code(), w4a8.err());
        assertTrue(w4a8.err().contains("w4a8g64, LM head int8"), w4a8.err());
        assertTrue(Files.readString(tmp.resolve("w4a8").resolve("manifest.json")).contains("\"w4a8\""));
        run = CliErrorsTest.tokc("run", tmp.resolve("w4a8").toString(), "--prompt", "ROMEO:", "--max-tokens", "4");
        assertEquals(0, run.code(), run.err());
    }

    @Test
    void badQuantAndEvalFlagsFailInOneLine() {
        usage(CliErrorsTest.tokc("compile", MODEL, "--emit", "ir-opt", "--quant", "int3"), "--quant must be int8, int4, nf4, fp8, w8a8 or w4a8");
        usage(CliErrorsTest.tokc("compile", MODEL, "--emit", "ir-opt", "--quant", "int4", "--group-size", "48"),
                "--group-size must be 32, 64 or 128");
        usage(CliErrorsTest.tokc("compile", MODEL, "--emit", "ir-opt", "--quant", "int8", "--group-size", "32"),
                "--group-size applies to int4, nf4 and w4a8");
        usage(CliErrorsTest.tokc("compile", MODEL, "--emit", "ir-opt", "--quant", "int8", "--calibration", "x.txt"),
                "--calibration applies to int4, nf4, w4a8 (AWQ) and w8a8");
        usage(CliErrorsTest.tokc("compile", MODEL, "--emit", "ir-opt", "--quant", "w8a8", "--smooth-alpha", "2"),
                "--smooth-alpha takes a number in [0, 1]");
        usage(CliErrorsTest.tokc("compile", MODEL, "--emit", "ir-opt", "--kv-dtype", "int2"), "--kv-dtype must be fp8, int8 or int4");
        usage(CliErrorsTest.tokc("compile", MODEL, "--emit", "ir-opt", "--quant", "int4", "--lm-head", "int3"),
                "--lm-head must be int8, fp8, int4, nf4, w4a8, same or float, got 'int3'");
        usage(CliErrorsTest.tokc("compile", MODEL, "--emit", "ir-opt", "--quant", "int4", "--lm-head", "float",
                "--quant-lm-head"), "--quant-lm-head is --lm-head same; give one of them");
        usage(CliErrorsTest.tokc("compile", MODEL, "--emit", "ir-opt", "--lm-head", "int8"), "--lm-head needs --quant");
        CliErrorsTest.assertOneLineError(CliErrorsTest.tokc("eval", tmp.toString(), "--perplexity", "x.txt"),
                "is not an engine directory");
    }

    /** A usage error: exit code 2, the message on the first line, no stack trace. */
    private static void usage(CliErrorsTest.Result r, String message) {
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().lines().findFirst().orElse("").contains(message), r.err());
        assertTrue(!r.err().contains("\tat "), r.err());
    }

    @Test
    void splitsWindowsAndDivergences() {
        int[] t = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        assertArrayEquals(new int[] {9}, Evaluation.split(t, "last:0.1"));
        assertArrayEquals(new int[] {0, 1, 2}, Evaluation.split(t, "first:0.3"));
        assertEquals(t, Evaluation.split(t, "all"));
        assertEquals(List.of(new Evaluation.Window(0, 4), new Evaluation.Window(4, 8), new Evaluation.Window(8, 10)),
                Evaluation.windows(10, 4));
        assertEquals(List.of(new Evaluation.Window(0, 4), new Evaluation.Window(4, 8)), Evaluation.windows(9, 4));
        // Uniform logits: nll = ln V; the reference picks token 1 where the model is uniform (argmax 0).
        int vocab = 4;
        float[] uniform = new float[3 * vocab];
        float[] peaked = new float[3 * vocab];
        for (int r = 0; r < 3; r++) {
            peaked[r * vocab + 1] = 5;
        }
        Evaluation.Totals tot = new Evaluation.Totals();
        tot.add(new int[] {0, 1, 2}, uniform, peaked, vocab);
        assertEquals(2, tot.predictions);
        assertEquals(Math.log(4), tot.meanNll(), 1e-12);
        assertEquals(4, tot.perplexity(), 1e-9);
        assertEquals(0, tot.top1Agreement());
        double z = Math.exp(5) + 3;
        double p = Math.exp(5) / z;
        double q = 1 / z;
        assertEquals(p * Math.log(p / 0.25) + 3 * q * Math.log(q / 0.25), tot.meanKl(), 1e-9);
        UsageError e = org.junit.jupiter.api.Assertions.assertThrows(UsageError.class, () -> Evaluation.split(t, "last:2"));
        assertTrue(e.getMessage().contains("--split must be"), e.getMessage());
    }

    private static double number(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertTrue(m.find(), regex + " in " + text);
        return Double.parseDouble(m.group(1));
    }
}
