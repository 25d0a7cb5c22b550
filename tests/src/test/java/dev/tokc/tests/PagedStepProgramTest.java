package dev.tokc.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tokc.frontend.LoadedModel;
import dev.tokc.frontend.ModelLoader;
import dev.tokc.frontend.hf.ModelConfig;
import dev.tokc.ir.DType;
import dev.tokc.ir.Graph;
import dev.tokc.ir.KvCacheSpec;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.ir.interp.WeightSource;
import dev.tokc.ir.text.IrParser;
import dev.tokc.ir.text.IrPrinter;
import dev.tokc.passes.Pipeline;
import dev.tokc.passes.transforms.Canonicalize;
import dev.tokc.passes.transforms.Cse;
import dev.tokc.passes.transforms.Dce;
import dev.tokc.passes.transforms.LowerToFlashAttention;
import dev.tokc.passes.transforms.LowerToPagedAttention;
import dev.tokc.passes.transforms.ShapeInfer;
import dev.tokc.passes.transforms.StepProgramOptions;
import dev.tokc.tests.StepSession.Chunk;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Issue 4's interpreter-equivalence check for the step program: every shared model, imported from safetensors (and
 * from its ONNX export, once raising makes that reach model-level attention; skipped with the reason until then) and
 * taken through {@code Pipeline.standard()} (which ends in {@code lower-to-paged-attention}), run by the reference
 * interpreter over a paged {@code ReferenceKvCache} whose blocks the runtime's {@code KvBlockManager} hands out:
 * <ul>
 *   <li>every reference, prompt prefilled in two chunks with logits for every position (≤ 1e-4 against
 *       {@code reference*.logits.f32}), then greedy decode one token per step reproduces {@code greedy_ids};</li>
 *   <li>two sequences in one ragged batch: a prefill beside a half prefill, then a decode beside the chunked
 *       remainder, then joint decode; each sequence's every logits row matches the full forward over its final
 *       tokens (≤ 1e-4), and the first sequence's tokens equal its {@code greedy_ids};</li>
 *   <li>the cache stores KV heads only: bytes per token = 2 x layers x kv_heads x head_dim x 4 (f32);</li>
 *   <li>blocks of 3 tokens, interleaved with another sequence's, give the same results;</li>
 *   <li>the prefill-only alternative ({@code lower-to-flash-attention}) keeps the reference logits.</li>
 * </ul>
 * shakespeare-llama's {@code greedy_ids} do not follow from its own reference logits (see {@link #assertGreedyIds});
 * for those references the decode is checked against the checkpoint's greedy continuation instead.
 */
class PagedStepProgramTest {
    static final double TOLERANCE = 1e-4;
    static final int NUM_BLOCKS = 64;

    @TestFactory
    Stream<DynamicTest> kvCacheStoresKvHeadsOnly() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : modelDirs()) {
            tests.add(DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
                try (LoadedModel m = ModelLoader.load(dir)) {
                    ModelConfig cfg = m.config().orElseThrow();
                    Pipeline.Result r = lower(m);
                    KvCacheSpec spec = StepSession.specOf(r.graph());
                    long expected = 2L * cfg.numLayers() * cfg.numKvHeads() * cfg.headDim() * DType.F32.byteSize();
                    assertEquals(expected, spec.bytesPerToken(), spec.toString());
                    assertEquals(cfg.numKvHeads(), spec.kvHeads());
                    assertEquals(cfg.numLayers(), r.counter("lower-to-paged-attention", "pagedAttention"), r.report());
                    assertEquals(cfg.numLayers(), r.counter("lower-to-paged-attention", "kvWrite"), r.report());
                    assertEquals(expected, r.counter("lower-to-paged-attention", "kvBytesPerToken"));
                    for (Node n : r.graph().nodes()) {
                        assertFalse(n.op() instanceof ModelOp.Attention || n.op() instanceof PrimitiveOp.Expand
                                || n.op() instanceof PrimitiveOp.Tile || n.op() instanceof PrimitiveOp.Range,
                                "left in the step program: " + n);
                        if (n.op() instanceof TargetOp.KvWrite) {
                            assertEquals(cfg.numKvHeads(), n.input(0).shape().dim(1).value(), n.toString());
                        }
                    }
                    assertEquals(LowerToPagedAttention.INPUTS, r.graph().inputs().stream().map(Node::name).toList());
                    String text = IrPrinter.print(r.graph());
                    assertEquals(List.of(r.graph()), IrParser.parse(text, dir + " step program"), "parse(print(g)) == g");
                }
            }));
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> chunkedPrefillThenGreedyDecodeReproducesTheReferences() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (ReferenceCase ref : ReferenceCase.all()) {
            for (String format : List.of("safetensors", "onnx")) {
                tests.add(DynamicTest.dynamicTest(ref + " via " + format, () -> {
                    Path source = format.equals("onnx") ? ref.modelDir().resolve("model.onnx") : ref.modelDir();
                    try (LoadedModel m = ModelLoader.load(source)) {
                        Pipeline.Result lowered = Pipeline.standard().verifyEach(true).failOnNonConvergence(true).run(m.graph());
                        if (format.equals("onnx")) {
                            // The ONNX export reaches the step program once raising gives it model-level attention.
                            assumeTrue(lowered.counter("lower-to-paged-attention", "skipped") == 0,
                                    "the ONNX graph is not raised to model-level attention yet: " + lowered.report());
                        }
                        assertEquals(LowerToPagedAttention.GRAPH_NAME, lowered.graph().name(), lowered.report());
                        WeightSource w = cachedWeights(m);
                        StepSession s = new StepSession(lowered.graph(), w, NUM_BLOCKS);
                        long[] prompt = ref.inputIds();
                        int half = Math.max(1, prompt.length / 2);
                        List<double[]> rows = new ArrayList<>();
                        rows.addAll(s.step(List.of(new Chunk(1, Arrays.copyOf(prompt, half), true))).getFirst());
                        rows.addAll(s.step(List.of(new Chunk(1, Arrays.copyOfRange(prompt, half, prompt.length), true))).getFirst());
                        assertEquals(prompt.length, rows.size());
                        assertRowsMatchReference(ref, rows);
                        List<Long> generated = decode(s, 1, prompt, rows, ref.greedyIds().length);
                        assertRowsMatchForward(m.graph(), w, generated, rows, ref + " decode");
                        assertGreedyIds(ref, generated);
                    }
                }));
            }
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> twoSequencesInOneRaggedBatch() throws Exception {
        List<ReferenceCase> all = ReferenceCase.all();
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : modelDirs()) {
            List<ReferenceCase> refs = all.stream().filter(r -> r.modelDir().equals(dir)).toList();
            if (refs.isEmpty()) {
                continue;
            }
            tests.add(DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
                ReferenceCase a = refs.getFirst();
                ReferenceCase b = refs.size() > 1 ? refs.get(1) : null;
                long[] promptA = a.inputIds();
                // Without a second reference, the second sequence is the first prompt backwards: other tokens,
                // other length of history at every step, checked against the full forward only.
                long[] promptB = b != null ? b.inputIds() : reversed(Arrays.copyOf(promptA, promptA.length - 3));
                int newTokens = a.greedyIds().length - promptA.length;
                try (LoadedModel m = ModelLoader.load(dir)) {
                    WeightSource w = cachedWeights(m);
                    StepSession s = new StepSession(lower(m).graph(), w, NUM_BLOCKS);
                    int halfB = Math.max(1, promptB.length / 2);
                    // Step 1: all of A's prompt and the first half of B's.
                    List<List<double[]>> out = s.step(List.of(new Chunk(10, promptA, true),
                            new Chunk(20, Arrays.copyOf(promptB, halfB), true)));
                    List<double[]> rowsA = new ArrayList<>(out.get(0));
                    List<double[]> rowsB = new ArrayList<>(out.get(1));
                    List<Long> seqA = new ArrayList<>(boxed(promptA));
                    seqA.add(StepSession.argmax(rowsA.getLast()));
                    // Step 2: A's first decode beside the rest of B's prompt (chunked prefill + decode in one step).
                    out = s.step(List.of(new Chunk(10, new long[] {seqA.getLast()}, false),
                            new Chunk(20, Arrays.copyOfRange(promptB, halfB, promptB.length), true)));
                    rowsA.add(out.get(0).getFirst());
                    rowsB.addAll(out.get(1));
                    seqA.add(StepSession.argmax(rowsA.getLast()));
                    List<Long> seqB = new ArrayList<>(boxed(promptB));
                    seqB.add(StepSession.argmax(rowsB.getLast()));
                    // Then both decode together, B first in the batch this time.
                    while (seqA.size() < promptA.length + newTokens) {
                        out = s.step(List.of(new Chunk(20, new long[] {seqB.getLast()}, false),
                                new Chunk(10, new long[] {seqA.getLast()}, false)));
                        rowsB.add(out.get(0).getFirst());
                        rowsA.add(out.get(1).getFirst());
                        seqB.add(StepSession.argmax(rowsB.getLast()));
                        seqA.add(StepSession.argmax(rowsA.getLast()));
                    }
                    assertRowsMatchForward(m.graph(), w, seqA, rowsA, "sequence A");
                    assertRowsMatchForward(m.graph(), w, seqB, rowsB, "sequence B");
                    assertGreedyIds(a, seqA);
                    if (b != null) {
                        assertGreedyIds(b, seqB);
                    }
                }
            }));
        }
        return tests.stream();
    }

    /**
     * Blocks of 3 tokens (not a power of two): every sequence spans many blocks, interleaved with the other
     * sequence's in the cache; same checks against the references and the full forward.
     */
    @TestFactory
    Stream<DynamicTest> smallBlocksGiveTheSameTokens() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (ReferenceCase ref : ReferenceCase.all()) {
            if (!ref.name().equals("reference") && !ref.name().equals("reference-0")) {
                continue;
            }
            tests.add(DynamicTest.dynamicTest(ref.toString(), () -> {
                try (LoadedModel m = ModelLoader.load(ref.modelDir())) {
                    LowerToPagedAttention pass = new LowerToPagedAttention(StepProgramOptions.DEFAULT.withBlockSize(3).withStrict(true));
                    Pipeline.Result r = Pipeline.of(Pipeline.Phase.of("step", "lower with blocks of 3, then clean up",
                            pass, new ShapeInfer(), new Canonicalize(), new Cse(), new Dce()))
                            .verifyEach(true).failOnNonConvergence(true).run(m.graph());
                    assertEquals(3, StepSession.specOf(r.graph()).blockSize());
                    WeightSource w = cachedWeights(m);
                    StepSession s = new StepSession(r.graph(), w, 128);
                    long[] prompt = ref.inputIds();
                    // A second sequence takes blocks between the first one's.
                    List<List<double[]>> out = s.step(List.of(new Chunk(1, Arrays.copyOf(prompt, 1), true),
                            new Chunk(2, new long[] {prompt[prompt.length - 1], prompt[0]}, false)));
                    List<double[]> rows = new ArrayList<>(out.getFirst());
                    rows.addAll(s.step(List.of(new Chunk(2, new long[] {prompt[0]}, false),
                            new Chunk(1, Arrays.copyOfRange(prompt, 1, prompt.length), true))).get(1));
                    assertRowsMatchReference(ref, rows);
                    List<Long> generated = decode(s, 1, prompt, rows, ref.greedyIds().length);
                    assertRowsMatchForward(m.graph(), w, generated, rows, ref + " with blocks of 3");
                    assertGreedyIds(ref, generated);
                }
            }));
        }
        return tests.stream();
    }

    /** The prefill-only alternative: lower-to-flash-attention keeps the full forward and its logits. */
    @TestFactory
    Stream<DynamicTest> prefillOnlyFlashProgramKeepsTheLogits() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (ReferenceCase ref : ReferenceCase.all()) {
            tests.add(DynamicTest.dynamicTest(ref.toString(), () -> {
                try (LoadedModel m = ModelLoader.load(ref.modelDir())) {
                    Pipeline.Result r = Pipeline.of(List.of(new LowerToFlashAttention())).verifyEach(true)
                            .failOnNonConvergence(true).run(m.graph());
                    assertEquals(m.config().orElseThrow().numLayers(), r.counter("lower-to-flash-attention", "flashAttention"));
                    assertTrue(r.graph().nodes().stream().noneMatch(n -> n.op() instanceof ModelOp.Attention));
                    long[] ids = ref.inputIds();
                    Tensor logits = Interpreter.run(r.graph(), Map.of(r.graph().inputs().getFirst().name(),
                            Tensor.ofLongs(DType.I64, new long[] {1, ids.length}, ids)), cachedWeights(m)).getFirst();
                    List<double[]> rows = new ArrayList<>();
                    for (int p = 0; p < ids.length; p++) {
                        rows.add(Arrays.copyOfRange(logits.doubles(), p * ref.vocab(), (p + 1) * ref.vocab()));
                    }
                    assertRowsMatchReference(ref, rows);
                }
            }));
        }
        return tests.stream();
    }

    // ---- helpers ----

    static Pipeline.Result lower(LoadedModel m) {
        Pipeline.Result r = Pipeline.standard().verifyEach(true).failOnNonConvergence(true).run(m.graph());
        assertEquals(LowerToPagedAttention.GRAPH_NAME, r.graph().name(), "not lowered:\n" + r.report());
        return r;
    }

    /**
     * Greedy decode, one token per step, until the sequence (prompt included) has {@code length} tokens; appends each
     * step's logits row to {@code rows} (which holds the prompt's rows) and returns the tokens.
     */
    static List<Long> decode(StepSession s, long seq, long[] prompt, List<double[]> rows, int length) {
        List<Long> out = new ArrayList<>(boxed(prompt));
        out.add(StepSession.argmax(rows.getLast()));
        while (out.size() < length) {
            rows.add(s.step(List.of(new Chunk(seq, new long[] {out.getLast()}, false))).getFirst().getFirst());
            out.add(StepSession.argmax(rows.getLast()));
        }
        return out;
    }

    /**
     * The reference's greedy ids, where they follow from the reference's own logits: the first new token must be the
     * argmax of the last prompt row of {@code reference*.logits.f32}. shakespeare-llama's references fail that
     * (e.g. reference-0: row 2 ranks token 49 at 7.4447 above 43 at 7.4204, greedy_ids continue with 43, and a full
     * forward over greedy_ids disagrees with a third of its tokens by up to 1 logit): they were not generated from
     * this checkpoint, so no implementation can reproduce them. For those, the tokens must be the checkpoint's own
     * greedy continuation (already checked row by row against the full forward) and the mismatch must still be there,
     * so that the exact check comes back by itself once the data is regenerated.
     */
    static void assertGreedyIds(ReferenceCase ref, List<Long> generated) {
        int n = ref.inputIds().length;
        double[] last = new double[ref.vocab()];
        for (int t = 0; t < last.length; t++) {
            last[t] = ref.logit(n - 1, t);
        }
        long fromLogits = StepSession.argmax(last);
        if (fromLogits == ref.greedyIds()[n]) {
            assertArrayEquals(Arrays.copyOf(ref.greedyIds(), generated.size()), unboxed(generated), ref + ": greedy ids");
        } else {
            assertEquals(fromLogits, generated.get(n), ref + ": first new token against the reference logits");
            assertFalse(Arrays.equals(ref.greedyIds(), unboxed(generated)));
        }
    }

    static void assertRowsMatchReference(ReferenceCase ref, List<double[]> rows) {
        double worst = 0;
        for (int p = 0; p < rows.size(); p++) {
            for (int t = 0; t < ref.vocab(); t++) {
                worst = Math.max(worst, Math.abs(rows.get(p)[t] - ref.logit(p, t)));
            }
        }
        assertTrue(worst <= TOLERANCE, ref + ": max abs logit error " + worst + " > " + TOLERANCE);
    }

    /**
     * Every row a sequence got from the step program (positions 0 .. rows-1) against the full forward over the
     * sequence's tokens: row p must predict from tokens 0..p exactly as the uncached forward does.
     */
    static void assertRowsMatchForward(Graph forward, WeightSource w, List<Long> seq, List<double[]> rows, String what) {
        int len = rows.size();
        long[] ids = unboxed(seq.subList(0, len));
        Tensor logits = Interpreter.run(forward, Map.of(forward.inputs().getFirst().name(),
                Tensor.ofLongs(DType.I64, new long[] {1, len}, ids)), w).getFirst();
        int vocab = (int) logits.dim(2);
        double worst = 0;
        for (int p = 0; p < len; p++) {
            for (int t = 0; t < vocab; t++) {
                worst = Math.max(worst, Math.abs(rows.get(p)[t] - logits.getDouble(p * vocab + t)));
            }
        }
        assertTrue(worst <= TOLERANCE, what + ": max abs difference to the full forward " + worst);
    }

    /** Weights loaded once per key and kept: decode runs the program once per token. */
    static WeightSource cachedWeights(LoadedModel m) {
        Map<String, Tensor> cache = new ConcurrentHashMap<>();
        return (String key, TensorType type) -> cache.computeIfAbsent(key, k -> m.weights().load(k));
    }

    static List<Path> modelDirs() throws Exception {
        try (Stream<Path> dirs = java.nio.file.Files.list(dev.tokc.ir.testing.SharedData.models())) {
            return dirs.filter(d -> java.nio.file.Files.exists(d.resolve("config.json"))).sorted().toList();
        }
    }

    static long[] reversed(long[] a) {
        long[] out = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[a.length - 1 - i];
        }
        return out;
    }

    static List<Long> boxed(long[] a) {
        return Arrays.stream(a).boxed().toList();
    }

    static long[] unboxed(List<Long> a) {
        return a.stream().mapToLong(Long::longValue).toArray();
    }
}
