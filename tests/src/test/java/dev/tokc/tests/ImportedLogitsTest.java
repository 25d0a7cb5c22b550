package dev.tokc.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.frontend.LoadedModel;
import dev.tokc.frontend.ModelLoader;
import dev.tokc.ir.DType;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.interp.Interpreter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Issue 3's acceptance check: every shared model, imported from its safetensors checkpoint and from its ONNX
 * export, evaluated by the reference interpreter, reproduces the framework's logits within 1e-4 (max abs) — for the
 * reference prompt, for shorter prefixes of it (a causal model's prefix logits are the first rows), and in a batch
 * of two rows.
 */
class ImportedLogitsTest {
    static final double TOLERANCE = 1e-4;

    @TestFactory
    Stream<DynamicTest> logitsMatchTheReferences() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (ReferenceCase ref : ReferenceCase.all()) {
            for (String format : List.of("safetensors", "onnx")) {
                tests.add(DynamicTest.dynamicTest(ref + " via " + format, () -> {
                    Path source = format.equals("onnx") ? ref.modelDir().resolve("model.onnx") : ref.modelDir();
                    try (LoadedModel m = ModelLoader.load(source)) {
                        checkRows(m, new long[][] {ref.inputIds()}, List.of(ref));
                        int shorter = Math.max(1, ref.inputIds().length / 2);
                        checkRows(m, new long[][] {Arrays.copyOf(ref.inputIds(), shorter)}, List.of(ref));
                    }
                }));
            }
        }
        return tests.stream();
    }

    /** Two rows from two different references of one model (cut to a common length) in one batch. */
    @TestFactory
    Stream<DynamicTest> batchOfTwoMatches() throws Exception {
        List<ReferenceCase> all = ReferenceCase.all();
        List<DynamicTest> tests = new ArrayList<>();
        for (String format : List.of("safetensors", "onnx")) {
            for (ReferenceCase a : all) {
                ReferenceCase b = all.stream().filter(r -> r.model().equals(a.model()) && r != a).findFirst().orElse(a);
                if (!a.name().equals("reference") && !a.name().equals("reference-0")) {
                    continue;
                }
                tests.add(DynamicTest.dynamicTest(a.model() + " batch 2 via " + format, () -> {
                    int len = Math.min(a.inputIds().length, b.inputIds().length);
                    Path source = format.equals("onnx") ? a.modelDir().resolve("model.onnx") : a.modelDir();
                    try (LoadedModel m = ModelLoader.load(source)) {
                        checkRows(m, new long[][] {Arrays.copyOf(a.inputIds(), len), Arrays.copyOf(b.inputIds(), len)},
                                List.of(a, b));
                    }
                }));
            }
        }
        return tests.stream();
    }

    private static void checkRows(LoadedModel m, long[][] rows, List<ReferenceCase> refs) {
        int batch = rows.length;
        int seq = rows[0].length;
        long[] flat = new long[batch * seq];
        for (int r = 0; r < batch; r++) {
            System.arraycopy(rows[r], 0, flat, r * seq, seq);
        }
        Tensor ids = Tensor.ofLongs(DType.I64, new long[] {batch, seq}, flat);
        Tensor logits = Interpreter.run(m.graph(), Map.of("input_ids", ids), (key, type) -> m.weights().load(key)).get(0);
        int vocab = refs.get(0).vocab();
        assertEquals(List.of((long) batch, (long) seq, (long) vocab), Arrays.stream(logits.shape()).boxed().toList());
        double worst = 0;
        for (int r = 0; r < batch; r++) {
            for (int p = 0; p < seq; p++) {
                for (int t = 0; t < vocab; t++) {
                    double got = logits.getDouble((r * seq + p) * vocab + t);
                    worst = Math.max(worst, Math.abs(got - refs.get(r).logit(p, t)));
                }
            }
        }
        assertTrue(worst <= TOLERANCE, "max abs logit error " + worst + " > " + TOLERANCE);
    }
}
