package dev.tokc.ir.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Epilogue;
import dev.tokc.ir.Graph;
import dev.tokc.ir.KvCacheSpec;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.QuantFormat;
import dev.tokc.ir.QuantType;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The exact text of hand-built graphs: the layout other teams' golden files rely on. */
class IrPrinterTest {
    static final Dim BATCH = Dim.sym("batch");
    static final Dim SEQ = Dim.sym("seq");

    static Node param(String name, TensorType t) {
        return Node.of(new SourceOp.Param(name, t), List.of(), name);
    }

    @Test
    void printsTheDesignExample() {
        Node x = param("x", TensorType.of(DType.F32, BATCH, SEQ, Dim.of(192)));
        Node pos = param("pos", TensorType.of(DType.I64, BATCH, SEQ));
        Node g = Node.of(new SourceOp.Weight("model.layers.0.input_layernorm.weight", TensorType.of(DType.F32, 192)),
                List.of(), "g");
        Node h = Node.of(new ModelOp.RmsNorm(1e-5, 0.0), List.of(x, g), "h");
        Node s = Node.of(new SourceOp.Constant(Tensor.vector(DType.I64, 6, -1)), List.of(), "s");
        Node d = Node.of(new SourceOp.Dims(List.of(BATCH, SEQ, Dim.of(6), Dim.of(32))), List.of(), "d");
        Node r = Node.of(new PrimitiveOp.Reshape(false), h, d);
        Node r2 = Node.of(new PrimitiveOp.Reshape(false), r, s);
        Node sum = Node.of(new PrimitiveOp.Add(), h, x);
        Graph graph = new Graph("block0", List.of(x, pos), List.of(sum, r2));

        String text = IrPrinter.print(graph);
        assertEquals("""
                graph @block0(%x: f32[batch, seq, 192], %pos: i64[batch, seq]) -> (f32[batch, seq, 192], f32[6, 32*batch*seq]) {
                  %g = weight "model.layers.0.input_layernorm.weight" : f32[192]
                  %h = rms_norm(%x, %g) {eps = 1.0e-05, weight_offset = 0.0} : f32[batch, seq, 192]
                  %0 = add(%h, %x) : f32[batch, seq, 192]
                  %d = dims [batch, seq, 6, 32]
                  %1 = reshape(%h, %d) {allow_zero = false} : f32[batch, seq, 6, 32]
                  %s = constant i64[2] [6, -1]
                  %2 = reshape(%1, %s) {allow_zero = false} : f32[6, 32*batch*seq]
                  return %0, %2
                }
                """, text);
        assertEquals(graph, IrParser.parseGraph(text, "example.ir"));
    }

    @Test
    void printsNestedRecordsEnumsQuantizedTypesAndOddNames() {
        Node q = param("q", TensorType.of(DType.F16, Dim.sym("tokens"), Dim.of(4), Dim.of(8)));
        Node slots = param("slots", TensorType.of(DType.I32, Dim.sym("tokens")));
        KvCacheSpec spec = new KvCacheSpec(2, 4, 8, 16, DType.FP8E4M3);
        Node write = Node.of(new TargetOp.KvWrite(spec, 1), List.of(q.withName(null), q, slots), null);
        Node w = Node.of(new SourceOp.Weight("w\"1\"\n", new TensorType(new QuantType(QuantFormat.INT4, 32),
                dev.tokc.ir.Shape.of(16, 8))), List.of(), "7");
        Node x = param("x", TensorType.of(DType.F32, 3, 8));
        Node lin = Node.of(new TargetOp.QuantizedLinear(), List.of(x, w), "a.b$c");
        Node fused = Node.of(new TargetOp.FusedLinear(Epilogue.SILU_MUL, false, true),
                List.of(x, Node.of(new SourceOp.Weight("w2", TensorType.of(DType.F32, 8, 6)), List.of(), null)), null);
        Graph graph = new Graph("g", List.of(x), List.of(lin, fused));
        String text = IrPrinter.print(graph);
        assertEquals("""
                graph @g(%x: f32[3, 8]) -> (f32[3, 16], f32[3, 3]) {
                  %"7" = weight "w\\"1\\"\\n" : int4g32[16, 8]
                  %a.b$c = quantized_linear(%x, %"7") {epilogue = none} : f32[3, 16]
                  %0 = weight "w2" : f32[8, 6]
                  %1 = fused_linear(%x, %0) {epilogue = silu_mul, has_bias = false, transpose_weight = true} : f32[3, 3]
                  return %a.b$c, %1
                }
                """, text);
        assertEquals(graph, IrParser.parseGraph(text, "t.ir"));
        assertEquals("{spec = {layers = 2, kv_heads = 4, head_dim = 8, block_size = 16, dtype = fp8e4m3}, layer = 1}",
                attributes(write));
    }

    @Test
    void unnamedParametersCarryTheirParamName() {
        Node p = Node.of(new SourceOp.Param("input ids", TensorType.of(DType.I64, SEQ)), List.of(), null);
        Graph graph = new Graph("g", List.of(p), List.of(p));
        String text = IrPrinter.print(graph);
        assertEquals("""
                graph @g(%0: i64[seq] {param_name = "input ids"}) -> (i64[seq]) {
                  return %0
                }
                """, text);
        assertSame(p, IrParser.parseGraph(text, "t.ir").inputs().getFirst());
    }

    @Test
    void freshNumbersSkipRealNames() {
        Node x = param("0", TensorType.of(DType.F32, 2));
        Node neg = Node.of(new PrimitiveOp.Neg(), x);
        Graph graph = new Graph("g", List.of(x), List.of(neg));
        assertEquals("""
                graph @g(%"0": f32[2]) -> (f32[2]) {
                  %1 = neg(%"0") : f32[2]
                  return %1
                }
                """, IrPrinter.print(graph));
    }

    @Test
    void floatsPrintShortestForTheirDtype() {
        assertEquals("1.0e-05", Literals.formatDouble(1e-5));
        assertEquals("1.0e+10", Literals.formatDouble(1e10));
        assertEquals("-0.0", Literals.formatDouble(-0.0));
        assertEquals("nan", Literals.formatDouble(Double.NaN));
        assertEquals("-inf", Literals.formatDouble(Double.NEGATIVE_INFINITY));
        double[] values = {0.1, -0.0, Double.POSITIVE_INFINITY, 3e38};
        Tensor t = Tensor.ofDoubles(DType.BF16, new long[] {4}, values);
        StringBuilder sb = new StringBuilder();
        AttributePrinter.printTensor(t, sb);
        assertEquals("bf16[4] [0.1, -0.0, inf, 3.0e+38]", sb.toString());
        Tensor fp8 = Tensor.ofDoubles(DType.FP8E4M3, new long[] {3}, new double[] {448, 0.1, -1.0 / 512});
        sb.setLength(0);
        AttributePrinter.printTensor(fp8, sb);
        assertEquals("fp8e4m3[3] [448.0, 0.1, -0.002]", sb.toString());
        Tensor f32 = Tensor.ofDoubles(DType.F32, new long[] {2}, new double[] {0.1, 1.4e-45});
        sb.setLength(0);
        AttributePrinter.printTensor(f32, sb);
        assertEquals("f32[2] [0.1, 1.4e-45]", sb.toString());
    }

    private static String attributes(Node n) {
        StringBuilder sb = new StringBuilder();
        AttributePrinter.printAttributes(n.op().attributes(), sb);
        return sb.toString();
    }
}
