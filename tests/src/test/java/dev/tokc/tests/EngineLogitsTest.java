package dev.tokc.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.codegen.jvm.EngineWriter;
import dev.tokc.codegen.jvm.JvmBackend;
import dev.tokc.frontend.LoadedModel;
import dev.tokc.frontend.ModelLoader;
import dev.tokc.ir.text.IrPrinter;
import dev.tokc.passes.Pipeline;
import dev.tokc.runtime.artifact.Progress;
import dev.tokc.runtime.exec.Generator;
import dev.tokc.runtime.exec.JvmExecutor;
import dev.tokc.runtime.exec.StepExecutor;
import dev.tokc.runtime.sampling.SamplingParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 5's acceptance checks on compiled engines. Every shared model is compiled twice: with the standard pipeline
 * (the paged step program, run by {@link StepExecutor}) and without its step-program phase (the full forward, run by
 * {@link JvmExecutor}), and the ONNX export once more to a step program. Checked: logits within 1e-4 of the
 * framework's through all three; greedy generation
 * through the KV-cached loop equal to {@code greedy_ids} (where those follow from the reference logits, see
 * {@link #assertGreedyIds}) and to the uncached loop's tokens; bf16 engines agree with f32 on greedy ids for the
 * shakespeare references; a ragged batch of two sequences with chunked prefill gives each sequence its full-forward
 * logits.
 */
class EngineLogitsTest {
    static final double TOLERANCE = 1e-4;

    @TempDir
    static Path engines;

    private static final Map<String, Path> COMPILED = new HashMap<>();

    /** Compiles (once per model and dtype) the model at {@code source} into a step-program engine. */
    static Path engine(Path source, String dtype) throws Exception {
        return engine(source, dtype, true);
    }

    /**
     * Compiles (once per model, dtype and kind) the model at {@code source}: the standard pipeline (step program) or,
     * with {@code step} false, the standard pipeline without its step-program phase (full forward, no cache).
     */
    static synchronized Path engine(Path source, String dtype, boolean step) throws Exception {
        String key = source + "@" + dtype + "@" + step;
        Path done = COMPILED.get(key);
        if (done != null) {
            return done;
        }
        String name = Files.isDirectory(source) ? source.getFileName().toString()
                : source.getParent().getFileName() + "-" + source.getFileName().toString().replace('.', '-');
        Path out = engines.resolve(name + "-" + dtype + (step ? "-step" : "-forward"));
        try (LoadedModel m = ModelLoader.load(source)) {
            Pipeline pipeline = Pipeline.standard();
            if (!step) {
                pipeline = Pipeline.of(pipeline.phases().stream().filter(p -> !p.name().equals("step-program"))
                        .toArray(Pipeline.Phase[]::new));
            }
            Pipeline.Result r = pipeline.run(m.graph());
            assertEquals(step ? "step" : "forward", r.graph().name(), r.report());
            JvmBackend.Output program = JvmBackend.compile(r.graph(), (k, t) -> m.weights().load(k), true);
            List<Path> tokenizer = Files.exists(source.resolve("tokenizer.json")) ? List.of(source.resolve("tokenizer.json")) : List.of();
            EngineWriter.write(out, program, (k, t) -> m.weights().load(k), new EngineWriter.Options(dtype, 16, false,
                    Progress.Listener.NONE, new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode(), List.of(),
                    IrPrinter.print(r.graph()), tokenizer));
        }
        COMPILED.put(key, out);
        return out;
    }

    @TestFactory
    Stream<DynamicTest> engineLogitsMatchTheReferences() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (ReferenceCase ref : ReferenceCase.all()) {
            tests.add(DynamicTest.dynamicTest(ref + " f32 step engine", () -> {
                try (StepExecutor ex = StepExecutor.open(engine(ref.modelDir(), "f32"), 2, JvmExecutor.KernelChoice.VECTOR, 64)) {
                    assertClose(ref.logits(), ex.forward(ref.inputIds()), ref + " step");
                }
            }));
            tests.add(DynamicTest.dynamicTest(ref + " f32 step engine from ONNX", () -> {
                Path onnx = ref.modelDir().resolve("model.onnx");
                try (StepExecutor ex = StepExecutor.open(engine(onnx, "f32"), 2, JvmExecutor.KernelChoice.VECTOR, 64)) {
                    assertClose(ref.logits(), ex.forward(ref.inputIds()), ref + " step via onnx");
                }
            }));
            tests.add(DynamicTest.dynamicTest(ref + " f32 forward engine", () -> {
                try (JvmExecutor ex = JvmExecutor.open(engine(ref.modelDir(), "f32", false), 2, JvmExecutor.KernelChoice.VECTOR)) {
                    assertClose(ref.logits(), ex.forward(ref.inputIds()), ref + " forward");
                }
            }));
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> greedyGenerationMatchesTheReferences() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (ReferenceCase ref : ReferenceCase.all()) {
            List<String> dtypes = ref.model().equals("shakespeare-llama") ? List.of("f32", "bf16") : List.of("f32");
            for (String dtype : dtypes) {
                tests.add(DynamicTest.dynamicTest(ref + " greedy " + dtype, () -> {
                    int n = ref.greedyIds().length - ref.inputIds().length;
                    SamplingParams p = SamplingParams.greedy().withMaxTokens(n).withIgnoreEos(true);
                    try (StepExecutor ex = StepExecutor.open(engine(ref.modelDir(), dtype), 2, JvmExecutor.KernelChoice.VECTOR, 64)) {
                        Generator.Result r = new Generator(ex).generate(ref.inputIds(), p, null, Set.of(), s -> { });
                        assertGreedyIds(ref, r.tokens(), dtype);
                        // The cached loop must produce what recomputing the whole sequence per token produces.
                        try (JvmExecutor full = JvmExecutor.open(engine(ref.modelDir(), dtype, false), 2, JvmExecutor.KernelChoice.VECTOR)) {
                            Generator.Result uncached = new Generator(full).generate(ref.inputIds(), p, null, Set.of(), s -> { });
                            assertArrayEquals(uncached.tokens(), r.tokens(), ref + " " + dtype + ": cached and uncached loops differ");
                        }
                        if (dtype.equals("bf16")) {
                            try (StepExecutor f32 = StepExecutor.open(engine(ref.modelDir(), "f32"), 2, JvmExecutor.KernelChoice.VECTOR, 64)) {
                                Generator.Result full = new Generator(f32).generate(ref.inputIds(), p, null, Set.of(), s -> { });
                                assertArrayEquals(full.tokens(), r.tokens(), ref + ": bf16 and f32 engines disagree on greedy ids");
                            }
                        }
                    }
                }));
            }
        }
        return tests.stream();
    }

    /**
     * Two sequences in ragged steps over one cache: A's prompt beside the first half of B's, then one decode token of
     * A beside the rest of B's prompt, then both decode. Every row each gets must equal the full forward's row for
     * that position over the same tokens (within 1e-4).
     */
    @TestFactory
    Stream<DynamicTest> raggedBatchWithChunkedPrefill() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (ReferenceCase a : ReferenceCase.all()) {
            if (!a.name().equals("reference") && !a.name().equals("reference-0")) {
                continue;
            }
            tests.add(DynamicTest.dynamicTest(a.model() + " ragged batch", () -> {
                long[] promptA = a.inputIds();
                long[] promptB = new long[promptA.length + 3];
                for (int i = 0; i < promptB.length; i++) {
                    promptB[i] = (promptA[i % promptA.length] * 7 + i) % a.vocab();
                }
                int half = promptB.length / 2;
                try (StepExecutor ex = StepExecutor.open(engine(a.modelDir(), "f32"), 2, JvmExecutor.KernelChoice.VECTOR, 64);
                        JvmExecutor full = JvmExecutor.open(engine(a.modelDir(), "f32", false), 2, JvmExecutor.KernelChoice.VECTOR)) {
                    List<float[]> s1 = ex.step(List.of(new StepExecutor.Chunk(1, promptA, StepExecutor.Rows.ALL),
                            new StepExecutor.Chunk(2, Arrays.copyOf(promptB, half), StepExecutor.Rows.ALL)));
                    long nextA = argmaxLast(s1.get(0), ex.vocabSize());
                    List<float[]> s2 = ex.step(List.of(new StepExecutor.Chunk(1, new long[] {nextA}, StepExecutor.Rows.LAST),
                            new StepExecutor.Chunk(2, Arrays.copyOfRange(promptB, half, promptB.length), StepExecutor.Rows.ALL)));
                    long nextB = argmaxLast(s2.get(1), ex.vocabSize());
                    List<float[]> s3 = ex.step(List.of(new StepExecutor.Chunk(2, new long[] {nextB}, StepExecutor.Rows.LAST),
                            new StepExecutor.Chunk(1, new long[] {7}, StepExecutor.Rows.LAST)));
                    long[] seqA = concat(promptA, new long[] {nextA, 7});
                    long[] seqB = concat(promptB, new long[] {nextB});
                    float[] fa = full.forward(seqA);
                    float[] fb = full.forward(seqB);
                    int v = ex.vocabSize();
                    assertClose(Arrays.copyOf(fa, promptA.length * v), s1.get(0), "A prefill");
                    assertClose(Arrays.copyOf(fb, half * v), s1.get(1), "B first half");
                    assertClose(Arrays.copyOfRange(fa, promptA.length * v, (promptA.length + 1) * v), s2.get(0), "A decode");
                    assertClose(Arrays.copyOfRange(fb, half * v, promptB.length * v), s2.get(1), "B second half");
                    assertClose(Arrays.copyOfRange(fb, promptB.length * v, (promptB.length + 1) * v), s3.get(0), "B decode");
                    assertClose(Arrays.copyOfRange(fa, (promptA.length + 1) * v, (promptA.length + 2) * v), s3.get(1), "A decode 2");
                }
            }));
        }
        return tests.stream();
    }

    /**
     * A step over more tokens than one program run may take (here 3) runs as a chunked prefill in pieces: A's rows
     * (all of them) and B's last row must still equal the full forward's, and decoding must go on from there.
     */
    @TestFactory
    Stream<DynamicTest> largeStepRunsInPieces() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (ReferenceCase a : ReferenceCase.all()) {
            if (!a.name().equals("reference")) {
                continue;
            }
            tests.add(DynamicTest.dynamicTest(a.model() + " step in pieces", () -> {
                long[] promptA = a.inputIds();
                long[] promptB = new long[promptA.length + 4];
                for (int i = 0; i < promptB.length; i++) {
                    promptB[i] = (promptA[i % promptA.length] * 5 + i) % a.vocab();
                }
                try (StepExecutor ex = StepExecutor.open(engine(a.modelDir(), "f32"), 2, JvmExecutor.KernelChoice.VECTOR, 64);
                        JvmExecutor full = JvmExecutor.open(engine(a.modelDir(), "f32", false), 2, JvmExecutor.KernelChoice.VECTOR)) {
                    ex.setMaxRunTokens(3);
                    List<float[]> s1 = ex.step(List.of(new StepExecutor.Chunk(1, promptA, StepExecutor.Rows.ALL),
                            new StepExecutor.Chunk(2, promptB, StepExecutor.Rows.LAST)));
                    int v = ex.vocabSize();
                    long nextB = argmaxLast(s1.get(1), v);
                    List<float[]> s2 = ex.step(List.of(new StepExecutor.Chunk(2, new long[] {nextB}, StepExecutor.Rows.LAST)));
                    float[] fa = full.forward(promptA);
                    float[] fb = full.forward(concat(promptB, new long[] {nextB}));
                    assertClose(fa, s1.get(0), "A, all rows");
                    assertClose(Arrays.copyOfRange(fb, (promptB.length - 1) * v, promptB.length * v), s1.get(1), "B, last row");
                    assertClose(Arrays.copyOfRange(fb, promptB.length * v, (promptB.length + 1) * v), s2.get(0), "B decode");
                }
            }));
        }
        return tests.stream();
    }

    /** Every shared model's step program, from both importers, passes ASM's bytecode verifier. */
    @TestFactory
    Stream<DynamicTest> generatedBytecodeVerifies() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        java.util.Set<Path> dirs = new java.util.TreeSet<>();
        for (ReferenceCase r : ReferenceCase.all()) {
            dirs.add(r.modelDir());
        }
        for (Path dir : dirs) {
            for (Path source : List.of(dir, dir.resolve("model.onnx"))) {
                tests.add(DynamicTest.dynamicTest(dir.getFileName() + " " + source.getFileName(), () -> {
                    try (LoadedModel m = ModelLoader.load(source)) {
                        Pipeline.Result r = Pipeline.standard().run(m.graph());
                        JvmBackend.Output out = JvmBackend.compile(r.graph(), (k, t) -> m.weights().load(k), true);
                        java.io.StringWriter sw = new java.io.StringWriter();
                        org.objectweb.asm.util.CheckClassAdapter.verify(new org.objectweb.asm.ClassReader(out.classFile()),
                                EngineLogitsTest.class.getClassLoader(), false, new java.io.PrintWriter(sw));
                        assertEquals("", sw.toString(), source + ": bytecode verifier");
                        assertTrue(out.source().contains("public final class StepProgram implements CompiledProgram"));
                    }
                }));
            }
        }
        return tests.stream();
    }

    /** All references of a model generated together in one batch give each the tokens it gets alone. */
    @TestFactory
    Stream<DynamicTest> batchGenerationEqualsSingleSequences() throws Exception {
        Map<Path, List<ReferenceCase>> byModel = new java.util.TreeMap<>();
        for (ReferenceCase r : ReferenceCase.all()) {
            byModel.computeIfAbsent(r.modelDir(), k -> new ArrayList<>()).add(r);
        }
        List<DynamicTest> tests = new ArrayList<>();
        for (Map.Entry<Path, List<ReferenceCase>> e : byModel.entrySet()) {
            tests.add(DynamicTest.dynamicTest(e.getKey().getFileName() + " batch of " + e.getValue().size(), () -> {
                try (StepExecutor ex = StepExecutor.open(engine(e.getKey(), "f32"), 2, JvmExecutor.KernelChoice.VECTOR, 128)) {
                    List<dev.tokc.runtime.exec.BatchGenerator.Request> reqs = new ArrayList<>();
                    List<long[]> alone = new ArrayList<>();
                    int k = 0;
                    for (ReferenceCase ref : e.getValue()) {
                        // Different lengths per sequence, so sequences leave the batch at different steps.
                        SamplingParams p = SamplingParams.greedy().withMaxTokens(12 + 5 * k++).withIgnoreEos(true);
                        reqs.add(new dev.tokc.runtime.exec.BatchGenerator.Request(ref.inputIds(), p));
                        alone.add(new Generator(ex).generate(ref.inputIds(), p, null, Set.of(), s -> { }).tokens());
                    }
                    // Twice the first request: two sequences with one prompt (and its cached prefix) in one batch.
                    reqs.add(reqs.get(0));
                    alone.add(alone.get(0));
                    List<Generator.Result> batch = new dev.tokc.runtime.exec.BatchGenerator(ex).generate(reqs, Set.of());
                    for (int i = 0; i < reqs.size(); i++) {
                        assertArrayEquals(alone.get(i), batch.get(i).tokens(), e.getKey().getFileName() + " sequence " + i);
                    }
                }
            }));
        }
        return tests.stream();
    }

    private static long argmaxLast(float[] rows, int vocab) {
        int base = rows.length - vocab;
        int best = 0;
        for (int t = 1; t < vocab; t++) {
            if (rows[base + t] > rows[base + best]) {
                best = t;
            }
        }
        return best;
    }

    private static long[] concat(long[] a, long[] b) {
        long[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static void assertClose(float[] expected, float[] got, String what) {
        assertEquals(expected.length, got.length, what + ": length");
        double max = 0;
        for (int i = 0; i < got.length; i++) {
            max = Math.max(max, Math.abs(got[i] - expected[i]));
        }
        assertTrue(max <= TOLERANCE, what + ": max |logit error| " + max);
    }

    /**
     * {@code greedy_ids} exactly where they follow from the reference's own logits. shakespeare-llama's do not (its
     * first new token is not the argmax of its reference logits' last row; PagedStepProgramTest found the same):
     * there the first new token must be that argmax.
     */
    static void assertGreedyIds(ReferenceCase ref, long[] generated, String dtype) {
        int n = ref.inputIds().length;
        int best = 0;
        for (int t = 1; t < ref.vocab(); t++) {
            if (ref.logit(n - 1, t) > ref.logit(n - 1, best)) {
                best = t;
            }
        }
        if (best == ref.greedyIds()[n]) {
            assertArrayEquals(ref.greedyIds(), generated, ref + " " + dtype + ": got " + Arrays.toString(generated));
        } else {
            assertEquals(best, generated[n], ref + " " + dtype + ": first new token against the reference logits");
        }
    }
}
