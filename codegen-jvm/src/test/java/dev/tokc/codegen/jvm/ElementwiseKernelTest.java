package dev.tokc.codegen.jvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.DType;
import dev.tokc.ir.Graph;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.ir.interp.WeightSource;
import dev.tokc.ir.text.IrParser;
import dev.tokc.runtime.exec.CompiledProgram;
import dev.tokc.runtime.exec.ExecContext;
import dev.tokc.runtime.exec.WeightSet;
import dev.tokc.runtime.kernels.Elements;
import dev.tokc.runtime.kernels.ReferenceKernels;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.util.CheckClassAdapter;

/**
 * Elementwise kernels generated into the program class (fusion's {@code elementwise} nodes): verified bytecode, the
 * loop in the Java source, and values equal to the reference interpreter's (each function rounded to f32 in both).
 */
class ElementwiseKernelTest {
    private static final String GRAPH = """
            graph @ew(%x: f32[n, 8], %y: f32[n, 8]) -> (f32[n, 8]) {
              %a = elementwise(%x) {expr = "mul(tanh(div($0, 30.0)), 30.0)"} : f32[n, 8]
              %b = elementwise(%a, %y) {expr = "mul(add(mul($0, sigmoid($0)), $1), 0.5)"} : f32[n, 8]
              %c = elementwise(%b) {expr = "gelu_tanh($0)"} : f32[n, 8]
              %d = elementwise(%c) {expr = "mul(tanh(div($0, 30.0)), 30.0)"} : f32[n, 8]
              return %d
            }
            """;

    @Test
    void generatedKernelsMatchTheInterpreter() throws Exception {
        Graph g = IrParser.parseGraph(GRAPH, "ew.ir");
        JvmBackend.Output out = JvmBackend.compile(g, WeightSource.none(), true);
        assertEquals(3, out.plan().kernels().size(), "the repeated soft-cap expression shares one method");
        StringWriter sw = new StringWriter();
        CheckClassAdapter.verify(new ClassReader(out.classFile()), getClass().getClassLoader(), false, new PrintWriter(sw));
        assertEquals("", sw.toString());
        assertTrue(out.source().contains("private static void elementwise0(MemorySegment out, MemorySegment in0, int count) {"),
                out.source());
        assertTrue(out.source().contains("for (int i = 0; i < count; i++) {"), out.source());

        int n = 5;
        SplittableRandom rnd = new SplittableRandom(3);
        float[] x = new float[n * 8];
        float[] y = new float[n * 8];
        double[] xd = new double[x.length];
        double[] yd = new double[y.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextDouble(-60, 60);
            y[i] = (float) rnd.nextDouble(-2, 2);
            xd[i] = x[i];
            yd[i] = y[i];
        }
        Tensor expected = Interpreter.run(g, Map.of("x", Tensor.ofDoubles(DType.F32, new long[] {n, 8}, xd),
                "y", Tensor.ofDoubles(DType.F32, new long[] {n, 8}, yd)), WeightSource.none()).get(0);
        CompiledProgram p = out.instantiate();
        try (ExecContext ctx = new ExecContext(new ReferenceKernels(), WeightSet.of(Map.of()), 1024)) {
            ctx.begin();
            ctx.setInputs(List.of(ctx.floatsInput(x, n, 8), ctx.floatsInput(y, n, 8)));
            p.run(ctx);
            float[] got = ctx.outputs().get(0).data().toArray(Elements.F32);
            for (int i = 0; i < got.length; i++) {
                assertEquals(expected.getDouble(i), got[i], 1e-6 * Math.max(1, Math.abs(expected.getDouble(i))), "element " + i);
            }
        }
    }

    @Test
    void functionWithoutScalarImplementationIsRefused() throws Exception {
        Graph g = IrParser.parseGraph("""
                graph @ew(%x: f32[n, 8]) -> (f32[n, 8]) {
                  %a = elementwise(%x) {expr = "erf($0)"} : f32[n, 8]
                  return %a
                }
                """, "ew.ir");
        CodegenException e = assertThrows(CodegenException.class, () -> JvmBackend.compile(g, WeightSource.none(), true));
        assertTrue(e.getMessage().contains("function 'erf' has no scalar implementation"), e.getMessage());
    }
}
