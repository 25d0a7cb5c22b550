package dev.tokc.codegen.jvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.DType;
import dev.tokc.ir.Graph;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.ir.interp.WeightSource;
import dev.tokc.ir.text.IrParser;
import dev.tokc.runtime.exec.CompiledProgram;
import dev.tokc.runtime.exec.ExecContext;
import dev.tokc.runtime.kernels.Elements;
import dev.tokc.runtime.kernels.Kernels;
import dev.tokc.runtime.kernels.ReferenceKernels;
import dev.tokc.runtime.kernels.VectorKernels;
import dev.tokc.runtime.kernels.WorkerPool;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.util.CheckClassAdapter;
import org.objectweb.asm.util.Textifier;
import org.objectweb.asm.util.TraceClassVisitor;

/**
 * The JVM backend on {@code tiny.ir} (every kernel binding once, plus a transposed weight and a weight-only
 * transpose to fold): verified bytecode, golden Textifier and JavaPoet text, and the generated program against the
 * reference interpreter on both kernel implementations.
 */
class JvmBackendTest {
    /** Set -Dtokc.updateGolden=true to rewrite the golden files after an intended change. */
    private static final boolean UPDATE = Boolean.getBoolean("tokc.updateGolden");

    @Test
    void bytecodeVerifies() throws Exception {
        Graph g = TinyProgram.graph();
        JvmBackend.Output out = JvmBackend.compile(g, TinyProgram.weights(g, 1), true);
        StringWriter sw = new StringWriter();
        CheckClassAdapter.verify(new ClassReader(out.classFile()), JvmBackendTest.class.getClassLoader(), false,
                new PrintWriter(sw));
        assertEquals("", sw.toString(), "CheckClassAdapter.verify reported problems");
    }

    @Test
    void goldenTextifierAndSource() throws Exception {
        Graph g = TinyProgram.graph();
        JvmBackend.Output out = JvmBackend.compile(g, TinyProgram.weights(g, 1), true);
        StringWriter sw = new StringWriter();
        new ClassReader(out.classFile()).accept(new TraceClassVisitor(null, new Textifier(), new PrintWriter(sw)), 0);
        golden("tiny.textifier.txt", sw.toString());
        golden("TinyProgram.java.txt", out.source());
    }

    private static void golden(String name, String actual) throws Exception {
        Path file = Path.of("src/test/resources/golden", name);
        if (UPDATE || !Files.exists(file)) {
            Files.writeString(file, actual, StandardCharsets.UTF_8);
        }
        assertEquals(Files.readString(file, StandardCharsets.UTF_8), actual, "generated text differs from " + file);
    }

    @Test
    void weightOnlySubgraphsAreFolded() throws Exception {
        Graph g = TinyProgram.graph();
        JvmBackend.Output out = JvmBackend.compile(g, TinyProgram.weights(g, 1), true);
        assertFalse(out.plan().graph().opHistogram().containsKey("transpose"), "transposes of weights are folded");
        assertEquals(2, out.weights().folded().size(), "wk (transpose_weight) and wo_t (explicit transpose)");
        assertTrue(out.source().contains("c.matrix(\"folded.0\")"));
    }

    @Test
    void matchesInterpreterOnReferenceKernels() throws Exception {
        differential(new ReferenceKernels());
    }

    @Test
    void matchesInterpreterOnVectorKernels() throws Exception {
        try (WorkerPool pool = new WorkerPool(2)) {
            differential(new VectorKernels(pool));
        }
    }

    private static void differential(Kernels kernels) throws Exception {
        Graph g = TinyProgram.graph();
        WeightSource.InMemory w = TinyProgram.weights(g, 7);
        JvmBackend.Output out = JvmBackend.compile(g, w, true);
        CompiledProgram program = out.instantiate();
        long[][] cases = {{3}, {1, 5, 9, 15, 0}, {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}};
        for (int batch : new int[] {1, 2}) {
            for (long[] ids : cases) {
                long[] batched = new long[ids.length * batch];
                for (int b = 0; b < batch; b++) {
                    for (int i = 0; i < ids.length; i++) {
                        batched[b * ids.length + i] = (ids[i] + b) % 16;
                    }
                }
                Tensor expected = Interpreter.run(g, Map.of("input_ids",
                        Tensor.ofLongs(DType.I64, new long[] {batch, ids.length}, batched.clone())), w).get(0);
                try (Arena arena = Arena.ofShared(); ExecContext ctx = new ExecContext(kernels,
                        EngineWriter.inMemory(out, w, "f32", arena), 4096)) {
                    ctx.begin();
                    ctx.setInputs(List.of(ctx.longs(batched, batch, ids.length)));
                    program.run(ctx);
                    ExecContext.Value v = ctx.outputs().get(0);
                    assertEquals(List.of((long) batch, (long) ids.length, 16L), java.util.Arrays.stream(v.shape()).boxed().toList());
                    float[] got = v.data().toArray(Elements.F32);
                    double max = 0;
                    for (int i = 0; i < got.length; i++) {
                        max = Math.max(max, Math.abs(got[i] - expected.getDouble(i)));
                    }
                    assertTrue(max <= 1e-4, "max |logit error| " + max + " for batch " + batch + " seq " + ids.length
                            + " on " + kernels.getClass().getSimpleName());
                }
            }
        }
    }

    @Test
    void unboundOpIsACompileErrorNamingTheNode() throws Exception {
        Graph g = IrParser.parseGraph("""
                graph @bad(%x: f32[n, 4]) -> (f32[n, 4]) {
                  %y = exp(%x) : f32[n, 4]
                  return %y
                }
                """, "bad.ir");
        CodegenException e = assertThrows(CodegenException.class, () -> JvmBackend.compile(g, WeightSource.none(), true));
        assertTrue(e.getMessage().contains("'exp'") && e.getMessage().contains("%y"), e.getMessage());
    }

    @Test
    void refusedNodeQuotesTheBindingsReason() throws Exception {
        Graph g = IrParser.parseGraph("""
                graph @bad(%x: f32[n, 4]) -> (f32[n, 4]) {
                  %w = weight "w" : f32[4]
                  %y = rms_norm(%x, %w) {eps = 1.0e-06, weight_offset = 1.0} : f32[n, 4]
                  return %y
                }
                """, "bad.ir");
        CodegenException e = assertThrows(CodegenException.class, () -> JvmBackend.compile(g, WeightSource.none(), true));
        assertTrue(e.getMessage().contains("rms_norm: weight_offset = 1.0"), e.getMessage());
    }

    @Test
    void storedTensorsHaveKernelDtypes() throws Exception {
        Graph g = TinyProgram.graph();
        JvmBackend.Output out = JvmBackend.compile(g, TinyProgram.weights(g, 1), true);
        Map<String, ProgramPlan.StoredTensor> t = out.plan().tensors();
        assertEquals(null, t.get("wq").dtype(), "matrices take the engine dtype");
        assertEquals(DType.F32, t.get("norm").dtype());
        assertTrue(t.values().stream().anyMatch(s -> s.node().op() instanceof SourceOp.Constant && s.dtype() == DType.I64));
    }
}
