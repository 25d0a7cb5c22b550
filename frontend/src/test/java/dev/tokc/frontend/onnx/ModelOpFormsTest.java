package dev.tokc.frontend.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tokc.ir.DType;
import dev.tokc.ir.Graph;
import dev.tokc.ir.GraphBuilder;
import dev.tokc.ir.IrException;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.ir.interp.WeightSource;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The IR forms the ONNX importer relies on for the LLM operators, checked directly on small graphs. */
class ModelOpFormsTest {

    /** Rope's cache form with tables built from inv_freq equals the inv_freq form (same f32 angles). */
    @Test
    void ropeCacheFormEqualsInvFreqForm() {
        int b = 2, s = 3, h = 2, hd = 8, half = 3, maxPos = 40;
        double[] invFreq = {1.0, 0.1, 0.01};
        double[] cos = new double[maxPos * half];
        double[] sin = new double[maxPos * half];
        for (int p = 0; p < maxPos; p++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) p * (float) invFreq[i];
                cos[p * half + i] = Math.cos(angle);
                sin[p * half + i] = Math.sin(angle);
            }
        }
        Tensor x = Tensor.generate(DType.F32, new long[] {b, s, h, hd}, i -> Math.sin(i * 0.37));
        Tensor pos = Tensor.ofLongs(DType.I64, new long[] {b, s}, new long[] {0, 5, 17, 39, 2, 8});
        for (boolean interleaved : new boolean[] {false, true}) {
            GraphBuilder g = new GraphBuilder("rope");
            Node xp = g.param("x", TensorType.of(DType.F32, b, s, h, hd));
            Node pp = g.param("pos", TensorType.of(DType.I64, b, s));
            Node inv = g.constant(Tensor.ofDoubles(DType.F32, new long[] {half}, invFreq.clone()));
            Node cc = g.constant(Tensor.ofDoubles(DType.F32, new long[] {maxPos, half}, cos.clone()));
            Node sc = g.constant(Tensor.ofDoubles(DType.F32, new long[] {maxPos, half}, sin.clone()));
            Graph graph = g.build(g.op(new ModelOp.Rope(interleaved), xp, pp, inv), g.op(new ModelOp.Rope(interleaved), xp, pp, cc, sc));
            List<Tensor> out = Interpreter.run(graph, Map.of("x", x, "pos", pos), WeightSource.none());
            double[] a = out.get(0).doubles();
            double[] c = out.get(1).doubles();
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], c[i], 1e-6, "element " + i + " interleaved=" + interleaved);
            }
            // The dims past the rotary dim (2 * half = 6 of 8) pass through.
            assertArrayEquals(new double[] {x.getDouble(6), x.getDouble(7)}, new double[] {c[6], c[7]});
        }
    }

    @Test
    void ropeCachesMustAgree() {
        GraphBuilder g = new GraphBuilder("rope");
        Node x = g.param("x", TensorType.of(DType.F32, 1, 2, 1, 4));
        Node p = g.param("p", TensorType.of(DType.I64, 1, 2));
        Node cc = g.param("c", TensorType.of(DType.F32, 8, 2));
        Node sc = g.param("s", TensorType.of(DType.F32, 8, 1));
        assertThrows(IrException.class, () -> g.op(new ModelOp.Rope(false), x, p, cc, sc));
        Node wide = g.param("w", TensorType.of(DType.F32, 8, 3));
        assertThrows(IrException.class, () -> g.op(new ModelOp.Rope(false), x, p, wide, wide));
    }

    @Test
    void attentionMaskIsBoolOrQsTypeAndBroadcastsToTheScores() {
        GraphBuilder g = new GraphBuilder("att");
        Node q = g.param("q", TensorType.of(DType.F32, 2, 3, 4, 8));
        Node k = g.param("k", TensorType.of(DType.F32, 2, 5, 2, 8));
        ModelOp.Attention op = new ModelOp.Attention(4, 2, false, 0, 0, 0);
        g.op(op, q, k, k, g.param("m2", TensorType.of(DType.F32, 3, 5)));
        g.op(op, q, k, k, g.param("mb", TensorType.of(DType.BOOL, 2, 1, 3, 5)));
        assertThrows(IrException.class, () -> g.op(op, q, k, k, g.param("m16", TensorType.of(DType.F16, 3, 5))));
        assertThrows(IrException.class, () -> g.op(op, q, k, k, g.param("mw", TensorType.of(DType.F32, 3, 6))));
        assertThrows(IrException.class, () -> g.op(op, q, k, k, g.param("m5", TensorType.of(DType.F32, 1, 2, 1, 3, 5))));
    }
}
