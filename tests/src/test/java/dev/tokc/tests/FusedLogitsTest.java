package dev.tokc.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.frontend.LoadedModel;
import dev.tokc.frontend.ModelLoader;
import dev.tokc.ir.Graph;
import dev.tokc.passes.Pipeline;
import dev.tokc.passes.memory.MemoryPlan;
import dev.tokc.passes.memory.MemoryPlanner;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The fusion passes on real models: every shared model's Hugging Face import, optimised by the standard pipeline
 * (lowered to the paged step program, then fused) with the verifier after every pass, still reproduces the
 * framework's logits within 1e-4 under the reference interpreter (the whole prompt in one step over a paged cache),
 * and the fusions did fire where the architecture has their pattern.
 * Also plans the optimised program's activation memory and checks the arena is smaller than one buffer per value.
 */
class FusedLogitsTest {
    static final double TOLERANCE = 1e-4;

    @TestFactory
    Stream<DynamicTest> fusedProgramsKeepTheLogits() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (ReferenceCase ref : ReferenceCase.all()) {
            if (!ref.name().equals("reference") && !ref.name().equals("reference-0")) {
                continue;
            }
            tests.add(DynamicTest.dynamicTest(ref.model() + " fused", () -> {
                try (LoadedModel m = ModelLoader.load(ref.modelDir())) {
                    Pipeline.Result r = Pipeline.standard().verifyEach(true).failOnNonConvergence(true).run(m.graph());
                    Graph fused = r.graph();
                    System.out.println("== " + ref.model() + "\n" + r.report());
                    long fusions = r.runs().stream().filter(run -> run.pass().startsWith("fuse-"))
                            .mapToLong(run -> run.counters().values().stream().mapToLong(Long::longValue).sum()).sum();
                    assertTrue(fusions > 0, ref.model() + ": no fusion fired\n" + r.report());
                    if (ref.model().contains("llama") || ref.model().contains("mistral") || ref.model().contains("qwen")) {
                        assertTrue(r.counter("fuse-gate-up", "gateUp") > 0, r.report());
                        assertTrue(r.counter("fuse-qkv", "qkv") > 0, r.report());
                        assertTrue(r.counter("fuse-linear-residual", "residualAdd") > 0, r.report());
                        assertEquals(1, r.counter("fuse-residual-norm", "finalNorm"), r.report());
                    }
                    // RoPE goes into every layer's paged KV write (all shared models rotate their keys but GPT-2).
                    long layers = r.counter("lower-to-paged-attention", "kvWrite");
                    assertEquals(ref.model().contains("gpt2") ? 0 : layers, r.counter("fuse-rope-kv-write", "ropeKvWrite"),
                            r.report());
                    MemoryPlan plan = MemoryPlanner.plan(fused);
                    System.out.println(plan.render());
                    for (int b = 0; b < plan.buckets().size(); b++) {
                        assertTrue(plan.arenaBytes(b) < plan.unplannedBytes(b), plan.render());
                    }
                    long[] ids = ref.inputIds();
                    StepSession s = new StepSession(fused, (key, type) -> m.weights().load(key), 64);
                    List<double[]> rows = s.step(List.of(new StepSession.Chunk(1, ids, true))).getFirst();
                    assertEquals(ids.length, rows.size());
                    double worst = 0;
                    for (int p = 0; p < ids.length; p++) {
                        for (int t = 0; t < ref.vocab(); t++) {
                            worst = Math.max(worst, Math.abs(rows.get(p)[t] - ref.logit(p, t)));
                        }
                    }
                    assertTrue(worst <= TOLERANCE, ref.model() + ": max abs logit error " + worst + " > " + TOLERANCE);
                }
            }));
        }
        return tests.stream();
    }
}
