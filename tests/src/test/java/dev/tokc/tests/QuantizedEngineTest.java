package dev.tokc.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.codegen.jvm.EngineWriter;
import dev.tokc.codegen.jvm.JvmBackend;
import dev.tokc.frontend.LoadedModel;
import dev.tokc.frontend.ModelLoader;
import dev.tokc.ir.QuantType;
import dev.tokc.ir.interp.WeightSource;
import dev.tokc.ir.text.IrPrinter;
import dev.tokc.passes.Pipeline;
import dev.tokc.passes.transforms.QuantizeWeights;
import dev.tokc.runtime.artifact.Engine;
import dev.tokc.runtime.artifact.Progress;
import dev.tokc.runtime.exec.JvmExecutor;
import dev.tokc.runtime.exec.StepExecutor;
import dev.tokc.tests.StepSession.Chunk;
import java.nio.file.Path;
import java.util.ArrayList;
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
    static final List<String> FORMATS = List.of("int8", "int4g32", "nf4g32", "fp8");

    @TempDir
    static Path engines;

    @TestFactory
    Stream<DynamicTest> engineLogitsMatchTheDequantizingInterpreter() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (String model : List.of("shakespeare-llama", "tiny-random-gpt2", "tiny-random-qwen2")) {
            for (String format : FORMATS) {
                tests.add(DynamicTest.dynamicTest(model + " " + format, () -> check(model, QuantType.parse(format))));
            }
        }
        return tests.stream();
    }

    private static void check(String model, QuantType type) throws Exception {
        Path dir = dev.tokc.ir.testing.SharedData.model(model);
        long[] prompt = ReferenceCase.all().stream().filter(r -> r.modelDir().equals(dir)).findFirst()
                .orElseThrow().inputIds();
        try (LoadedModel m = ModelLoader.load(dir)) {
            List<Pipeline.Phase> phases = new ArrayList<>(Pipeline.standard().phases());
            phases.add(Pipeline.Phase.of("quantize", "test", new QuantizeWeights(new QuantizeWeights.Options(type, false))));
            Pipeline.Result r = Pipeline.of(phases.toArray(Pipeline.Phase[]::new)).verifyEach(true).run(m.graph());
            assertTrue(r.counter("quantize-weights", "quantized") > 0, r.report());
            WeightSource weights = PagedStepProgramTest.cachedWeights(m);
            JvmBackend.Output program = JvmBackend.compile(r.graph(), weights, true);
            Path out = engines.resolve(model + "-" + type);
            EngineWriter.write(out, program, weights, new EngineWriter.Options("f32", 16, false, Progress.Listener.NONE,
                    new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode(), List.of(),
                    IrPrinter.print(r.graph()), List.of()));
            try (Engine e = Engine.open(out)) {
                assertEquals(type.format().prefix(), e.manifest().quantization().method());
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
            assertTrue(maxErr <= TOLERANCE, model + " " + type + ": engine vs interpreter max |dlogit| = " + maxErr);
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
