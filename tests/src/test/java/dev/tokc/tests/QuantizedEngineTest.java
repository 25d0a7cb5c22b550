package dev.tokc.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.codegen.jvm.EngineWriter;
import dev.tokc.codegen.jvm.JvmBackend;
import dev.tokc.frontend.LoadedModel;
import dev.tokc.frontend.ModelLoader;
import dev.tokc.ir.DType;
import dev.tokc.ir.QuantType;
import dev.tokc.ir.interp.WeightSource;
import dev.tokc.ir.text.IrPrinter;
import dev.tokc.passes.Pipeline;
import dev.tokc.passes.transforms.LowerToPagedAttention;
import dev.tokc.passes.transforms.QuantizeWeights;
import dev.tokc.runtime.artifact.Engine;
import dev.tokc.runtime.artifact.Progress;
import dev.tokc.runtime.exec.JvmExecutor;
import dev.tokc.runtime.exec.StepExecutor;
import dev.tokc.tests.StepSession.Chunk;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 7: weight-quantized engines compute what the IR says. Each model is taken through the standard pipeline plus
 * {@code quantize-weights} in every format, compiled to a step-program engine (weights packed by the engine writer,
 * {@code quantized_linear} bound to the Vector API quantized GEMM), and run on a prompt with logits for every
 * position. The same program run by the reference interpreter (which dequantizes the packed weights it quantizes
 * itself with {@code QuantizedBlocks}, then computes in float64) must give the same logits to float32 accumulation
 * error; and the quantized logits must differ from the float engine's (the weights really were quantized).
 * shakespeare-llama (tied LM head, kept in float), tiny-random-gpt2 (Conv1D weights stored transposed, biases,
 * GELU-tanh epilogue) and tiny-random-qwen2 (q/k/v biases).
 */
class QuantizedEngineTest {
    /** Absolute logits tolerance: same packed values on both sides, float32 vs float64 accumulation. */
    static final double TOLERANCE = 2e-4;
    static final List<String> FORMATS = List.of("int8", "int4g32", "nf4g32", "fp8", "w4a8g32");

    @TempDir
    static Path engines;

    @TestFactory
    Stream<DynamicTest> engineLogitsMatchTheDequantizingInterpreter() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (String model : List.of("shakespeare-llama", "tiny-random-gpt2", "tiny-random-qwen2")) {
            for (String format : FORMATS) {
                tests.add(DynamicTest.dynamicTest(model + " " + format, () -> check(model, QuantType.parse(format), 0, null)));
            }
            // The LM head in a type of its own (tokc compile's default: int8 under any --quant), tied or not.
            tests.add(DynamicTest.dynamicTest(model + " w4a8g32, LM head int8",
                    () -> check(model, QuantType.parse("w4a8g32"), 0, QuantType.parse("int8"))));
        }
        // W8A8: int8 weights and per-token int8 activations (quantize_activations kernel against the interpreter).
        tests.add(DynamicTest.dynamicTest("shakespeare-llama w8a8", () -> check("shakespeare-llama", QuantType.parse("int8"), 8, null)));
        tests.add(DynamicTest.dynamicTest("shakespeare-llama int4g32, LM head fp8",
                () -> check("shakespeare-llama", QuantType.parse("int4g32"), 0, QuantType.parse("fp8"))));
        return tests.stream();
    }

    @org.junit.jupiter.api.Test
    void quantizeActivationsKernelMatchesTheInterpreter() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(5);
        int rows = 7;
        int cols = 48;
        float[] x = new float[rows * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * (i % 13 == 0 ? 20 : 1));
        }
        java.util.Arrays.fill(x, 2 * cols, 3 * cols, 0f); // an all-zero row: scale 0
        dev.tokc.ir.Tensor expected = dev.tokc.ir.interp.Interpreter.run(new dev.tokc.ir.Graph("q", List.of(), List.of(
                dev.tokc.ir.Node.of(new dev.tokc.ir.TargetOp.QuantizeActivations(8), dev.tokc.ir.Node.of(
                        new dev.tokc.ir.SourceOp.Constant(dev.tokc.ir.Tensor.ofDoubles(DType.F32, new long[] {rows, cols},
                                java.util.stream.IntStream.range(0, x.length).mapToDouble(i -> x[i]).toArray())),
                        List.of(), null)))), java.util.Map.of(), WeightSource.none()).getFirst();
        try (dev.tokc.runtime.exec.ExecContext ctx = new dev.tokc.runtime.exec.ExecContext(
                new dev.tokc.runtime.kernels.ReferenceKernels(), dev.tokc.runtime.exec.WeightSet.of(java.util.Map.of()), 1 << 16)) {
            ctx.begin();
            var in = ctx.floatsInput(x, rows, cols);
            var y = ctx.quantizeActivations(in.data(), rows, cols, 8);
            for (int i = 0; i < x.length; i++) {
                assertEquals((float) expected.getDouble(i), y.getAtIndex(dev.tokc.runtime.kernels.Elements.F32, i), "element " + i);
            }
        }
    }

    /**
     * Quantized KV caches ({@code --kv-dtype}): the engine (QuantKvCache, per-(token, head) scales, Vector API decode
     * attention) against the interpreter over a {@code ReferenceKvCache} of the same dtype (QuantizedKv), on a prompt
     * prefilled in two chunks and then decoded, so later steps read what earlier ones quantized; with int4 weights too.
     */
    @TestFactory
    Stream<DynamicTest> quantizedKvEnginesMatchTheInterpreter() {
        List<DynamicTest> tests = new ArrayList<>();
        for (DType kv : List.of(DType.FP8E4M3, DType.I8, DType.I4)) {
            for (String model : List.of("shakespeare-llama", "tiny-random-qwen2")) {
                tests.add(DynamicTest.dynamicTest(model + " kv " + kv, () -> checkKv(model, kv, null)));
            }
        }
        tests.add(DynamicTest.dynamicTest("shakespeare-llama kv i8 + int4g32 weights",
                () -> checkKv("shakespeare-llama", DType.I8, QuantType.parse("int4g32"))));
        return tests.stream();
    }

    private static void checkKv(String model, DType kv, QuantType weights) throws Exception {
        Path dir = dev.tokc.ir.testing.SharedData.model(model);
        long[] prompt = ReferenceCase.all().stream().filter(r -> r.modelDir().equals(dir)).findFirst()
                .orElseThrow().inputIds();
        try (LoadedModel m = ModelLoader.load(dir)) {
            List<Pipeline.Phase> phases = new ArrayList<>();
            for (Pipeline.Phase ph : Pipeline.standard().phases()) {
                phases.add(new Pipeline.Phase(ph.name(), ph.comment(), ph.passes().stream()
                        .map(p -> p instanceof LowerToPagedAttention l ? new LowerToPagedAttention(l.options().withKvDtype(kv)) : p)
                        .toList()));
            }
            if (weights != null) {
                phases.add(Pipeline.Phase.of("quantize", "test", new QuantizeWeights(new QuantizeWeights.Options(weights, null))));
            }
            Pipeline.Result r = Pipeline.of(phases.toArray(Pipeline.Phase[]::new)).verifyEach(true).run(m.graph());
            assertEquals(kv, StepSession.specOf(r.graph()).dtype());
            WeightSource w = PagedStepProgramTest.cachedWeights(m);
            JvmBackend.Output program = JvmBackend.compile(r.graph(), w, true);
            Path out = engines.resolve(model + "-kv-" + kv + (weights == null ? "" : "-" + weights));
            EngineWriter.write(out, program, w, new EngineWriter.Options("f32", 16, false, Progress.Listener.NONE,
                    new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode(), List.of(),
                    IrPrinter.print(r.graph()), List.of()));
            int half = Math.max(1, prompt.length / 2);
            StepSession ref = new StepSession(r.graph(), w, 64);
            try (StepExecutor ex = StepExecutor.open(out, 2, JvmExecutor.KernelChoice.VECTOR, 64)) {
                List<float[]> got = new ArrayList<>();
                List<double[]> want = new ArrayList<>();
                got.add(ex.step(List.of(new StepExecutor.Chunk(1, Arrays.copyOf(prompt, half), StepExecutor.Rows.ALL))).getFirst());
                want.addAll(ref.step(List.of(new Chunk(1, Arrays.copyOf(prompt, half), true))).getFirst());
                long[] rest = Arrays.copyOfRange(prompt, half, prompt.length);
                got.add(ex.step(List.of(new StepExecutor.Chunk(1, rest, StepExecutor.Rows.ALL))).getFirst());
                want.addAll(ref.step(List.of(new Chunk(1, rest, true))).getFirst());
                long next = StepSession.argmax(want.getLast());
                for (int i = 0; i < 4; i++) {
                    got.add(ex.step(List.of(new StepExecutor.Chunk(1, new long[] {next}, StepExecutor.Rows.LAST))).getFirst());
                    want.addAll(ref.step(List.of(new Chunk(1, new long[] {next}, false))).getFirst());
                    next = StepSession.argmax(want.getLast());
                }
                int vocab = want.getFirst().length;
                float[] flat = new float[want.size() * vocab];
                int at = 0;
                for (float[] g : got) {
                    System.arraycopy(g, 0, flat, at, g.length);
                    at += g.length;
                }
                assertEquals(flat.length, at);
                double maxErr = 0;
                for (int t = 0; t < want.size(); t++) {
                    for (int v = 0; v < vocab; v++) {
                        maxErr = Math.max(maxErr, Math.abs(flat[t * vocab + v] - want.get(t)[v]));
                    }
                }
                // Codes can differ where x / scale lands within float rounding of a rounding boundary (the runtime
                // divides f32 values, the interpreter f64): one code step in one element moves logits by ~1e-4.
                assertTrue(maxErr <= 1e-3, model + " kv " + kv + ": engine vs interpreter max |dlogit| = " + maxErr);
            }
        }
    }

    /** {@code head}: the LM head's packed type, or null to keep it in float. */
    private static void check(String model, QuantType type, int activationBits, QuantType head) throws Exception {
        Path dir = dev.tokc.ir.testing.SharedData.model(model);
        long[] prompt = ReferenceCase.all().stream().filter(r -> r.modelDir().equals(dir)).findFirst()
                .orElseThrow().inputIds();
        try (LoadedModel m = ModelLoader.load(dir)) {
            List<Pipeline.Phase> phases = new ArrayList<>(Pipeline.standard().phases());
            phases.add(Pipeline.Phase.of("quantize", "test", new QuantizeWeights(
                    new QuantizeWeights.Options(type, head, java.util.Map.of(), activationBits))));
            Pipeline.Result r = Pipeline.of(phases.toArray(Pipeline.Phase[]::new)).verifyEach(true).run(m.graph());
            assertTrue(r.counter("quantize-weights", "quantized") > 0, r.report());
            assertEquals(head == null ? 1 : 0, r.counter("quantize-weights", "keptLmHead"), r.report());
            WeightSource weights = PagedStepProgramTest.cachedWeights(m);
            JvmBackend.Output program = JvmBackend.compile(r.graph(), weights, true);
            Path out = engines.resolve(model + "-" + type + "-a" + activationBits + "-h" + head);
            EngineWriter.write(out, program, weights, new EngineWriter.Options("f32", 16, false, Progress.Listener.NONE,
                    new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode(), List.of(),
                    IrPrinter.print(r.graph()), List.of()));
            try (Engine e = Engine.open(out)) {
                assertEquals(activationBits == 8 ? "w8a8" : type.format().prefix(), e.manifest().quantization().method());
                assertEquals(type.groupSize(), e.manifest().quantization().groupSize());
            }
            float[] engine;
            try (StepExecutor ex = StepExecutor.open(out, 2, JvmExecutor.KernelChoice.VECTOR, 64)) {
                engine = ex.step(List.of(new StepExecutor.Chunk(1, prompt, StepExecutor.Rows.ALL))).getFirst();
            }
            List<double[]> reference = new StepSession(r.graph(), weights, 64)
                    .step(List.of(new Chunk(1, prompt, true))).getFirst();
            int vocab = reference.getFirst().length;
            assertEquals(prompt.length * vocab, engine.length);
            double maxErr = 0;
            for (int t = 0; t < prompt.length; t++) {
                for (int v = 0; v < vocab; v++) {
                    maxErr = Math.max(maxErr, Math.abs(engine[t * vocab + v] - reference.get(t)[v]));
                }
            }
            // W8A8: per-token activation codes can flip where float32 and float64 inputs straddle a rounding boundary,
            // and a flip moves the next layer's input by a whole code step; measured 0.06 on logits of magnitude ~10.
            // The activation kernel itself is compared exactly in quantizeActivationsKernelMatchesTheInterpreter.
            double tol = activationBits > 0 ? 0.1 : TOLERANCE;
            assertTrue(maxErr <= tol, model + " " + type + ": engine vs interpreter max |dlogit| = " + maxErr);
            List<double[]> unquantized = new StepSession(Pipeline.standard().run(m.graph()).graph(), weights, 64)
                    .step(List.of(new Chunk(1, prompt, true))).getFirst();
            double change = 0;
            for (int t = 0; t < prompt.length; t++) {
                for (int v = 0; v < reference.get(t).length; v++) {
                    change = Math.max(change, Math.abs(unquantized.get(t)[v] - reference.get(t)[v]));
                }
            }
            assertTrue(change > 2 * TOLERANCE, model + " " + type + ": quantized logits equal the float ones (" + change + ")");
        }
    }
}
