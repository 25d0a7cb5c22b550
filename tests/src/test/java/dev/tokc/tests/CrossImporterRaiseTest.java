package dev.tokc.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.frontend.LoadedModel;
import dev.tokc.frontend.ModelLoader;
import dev.tokc.ir.DType;
import dev.tokc.ir.Graph;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.ir.testing.SharedData;
import dev.tokc.passes.GraphComparison;
import dev.tokc.passes.Pipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Raising's acceptance check (issue 4): for every model of ../shared/models, the ONNX export and the safetensors
 * checkpoint, each run through the standard pipeline (simplify, cleanup, raise), give the same graph up to value
 * names and weight storage ({@link GraphComparison}, with attributes compared exactly), and every pair of corresponding weights holds the same values
 * (transposed where one is stored {@code [in, out]}). And raising changes no result: the raised ONNX graph gives the
 * imported one's logits on the reference prompt (max abs difference 1e-4), and the reference logits themselves.
 */
class CrossImporterRaiseTest {
    static final double TOLERANCE = 1e-4;

    private static List<Path> modelDirs() throws Exception {
        try (Stream<Path> dirs = Files.list(SharedData.models())) {
            return dirs.filter(d -> Files.exists(d.resolve("model.onnx")) && Files.exists(d.resolve("config.json"))).sorted().toList();
        }
    }

    private static Pipeline.Result optimise(Graph g) {
        return Pipeline.modelLevel().verifyEach(true).failOnNonConvergence(true).run(g);
    }

    @TestFactory
    Stream<DynamicTest> onnxAndCheckpointReachTheSameGraph() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : modelDirs()) {
            tests.add(DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
                try (LoadedModel hf = ModelLoader.load(dir); LoadedModel onnx = ModelLoader.load(dir.resolve("model.onnx"))) {
                    Pipeline.Result h = optimise(hf.graph());
                    Pipeline.Result o = optimise(onnx.graph());
                    System.out.println(dir.getFileName() + " (onnx) " + o.runs().stream()
                            .filter(r -> r.pass().equals("raise")).findFirst().orElseThrow().counters());
                    // Strict: attributes exactly equal (no tolerance), weights by type and, below, by value.
                    GraphComparison.Result cmp = GraphComparison.compare(h.graph(), o.graph(), new GraphComparison.Options(0, false));
                    assertTrue(cmp.equal(), dir.getFileName() + ": checkpoint (left) and ONNX (right) graphs differ after raising: "
                            + cmp.report());
                    for (GraphComparison.WeightPair p : cmp.weights()) {
                        Tensor a = hf.weights().load(p.left());
                        Tensor b = onnx.weights().load(p.right());
                        assertTrue(sameValues(a, b, p.transposed()), dir.getFileName() + ": weights " + p + " hold different values");
                    }
                }
            }));
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> raisedOnnxGivesTheSameLogits() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (ReferenceCase ref : ReferenceCase.all()) {
            if (!ref.name().equals("reference") && !ref.name().equals("reference-0")) {
                continue;
            }
            tests.add(DynamicTest.dynamicTest(ref.toString(), () -> {
                try (LoadedModel onnx = ModelLoader.load(ref.modelDir().resolve("model.onnx"))) {
                    Graph raised = optimise(onnx.graph()).graph();
                    assertTrue(raised.opHistogram().containsKey("attention"), "nothing raised: " + raised.opHistogram());
                    Tensor ids = Tensor.ofLongs(DType.I64, new long[] {1, ref.inputIds().length}, ref.inputIds());
                    Tensor before = Interpreter.run(onnx.graph(), Map.of("input_ids", ids), (k, t) -> onnx.weights().load(k)).get(0);
                    Tensor after = Interpreter.run(raised, Map.of("input_ids", ids), (k, t) -> onnx.weights().load(k)).get(0);
                    assertEquals(before.size(), after.size());
                    double worst = 0;
                    double worstRef = 0;
                    for (int i = 0; i < after.size(); i++) {
                        worst = Math.max(worst, Math.abs(before.getDouble(i) - after.getDouble(i)));
                        worstRef = Math.max(worstRef, Math.abs(ref.logits()[i] - after.getDouble(i)));
                    }
                    assertTrue(worst <= TOLERANCE, "raised vs imported ONNX: max abs logit difference " + worst);
                    assertTrue(worstRef <= TOLERANCE, "raised ONNX vs reference: max abs logit error " + worstRef);
                }
            }));
        }
        return tests.stream();
    }

    private static boolean sameValues(Tensor a, Tensor b, boolean transposed) {
        if (a.size() != b.size() || a.dtype() != b.dtype()) {
            return false;
        }
        long rows = a.rank() == 2 ? a.dim(0) : 1;
        long cols = a.rank() == 2 ? a.dim(1) : a.size();
        for (int i = 0; i < a.size(); i++) {
            int j = transposed ? (int) ((i % cols) * rows + i / cols) : i;
            if (Double.compare(a.getDouble(i), b.getDouble(j)) != 0) {
                return false;
            }
        }
        return true;
    }
}
