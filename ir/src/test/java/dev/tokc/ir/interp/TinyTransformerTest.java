package dev.tokc.ir.interp;

import static dev.tokc.ir.interp.TestGraphs.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import dev.tokc.ir.Verifier;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A two-layer Llama-style model (GQA, RoPE, SwiGLU, RMSNorm) over symbolic {@code [batch, seq]}, built twice: once from
 * model ops, once from the primitive ops an ONNX export would contain (Gather, Pow/ReduceMean/Sqrt, MatMul over a
 * transposed weight, repeat_kv through Unsqueeze/Expand/Reshape, a Trilu causal mask, Softmax). The interpreter must
 * give the same logits for both, for two different sequence lengths.
 */
class TinyTransformerTest {
    static final int VOCAB = 512;
    static final int HIDDEN = 128;
    static final int HEADS = 4;
    static final int KV_HEADS = 2;
    static final int HEAD_DIM = HIDDEN / HEADS;
    static final int FF = 256;
    static final int LAYERS = 2;
    static final Dim BATCH = Dim.sym("batch");
    static final Dim SEQ = Dim.sym("seq");

    final Node ids = param("ids", DType.I64, BATCH, SEQ);
    final Node pos = param("pos", DType.I64, BATCH, SEQ);
    final Node invFreq = constant(Tensor.generate(DType.F32, s(HEAD_DIM / 2), i -> Math.pow(10000, -2.0 * i / HEAD_DIM)));

    static Node weight(String key, long... shape) {
        return Node.of(new SourceOp.Weight(key, TensorType.of(DType.F32, shape)));
    }

    static Node dims(Object... d) {
        return Node.of(new SourceOp.Dims(java.util.Arrays.stream(d).map(x -> x instanceof Dim dim ? dim : Dim.of((Integer) x)).toList()));
    }

    static WeightSource weights() {
        WeightSource.InMemory w = WeightSource.inMemory();
        Random r = new Random(7);
        put(w, r, "embed", VOCAB, HIDDEN);
        for (int l = 0; l < LAYERS; l++) {
            put(w, r, l + ".q", HIDDEN, HIDDEN);
            put(w, r, l + ".k", KV_HEADS * HEAD_DIM, HIDDEN);
            put(w, r, l + ".v", KV_HEADS * HEAD_DIM, HIDDEN);
            put(w, r, l + ".o", HIDDEN, HIDDEN);
            put(w, r, l + ".gate", FF, HIDDEN);
            put(w, r, l + ".up", FF, HIDDEN);
            put(w, r, l + ".down", HIDDEN, FF);
            w.put(l + ".norm1", Tensor.generate(DType.F32, s(HIDDEN), i -> 1 + 0.1 * r.nextGaussian()));
            w.put(l + ".norm2", Tensor.generate(DType.F32, s(HIDDEN), i -> 1 + 0.1 * r.nextGaussian()));
        }
        w.put("norm", Tensor.generate(DType.F32, s(HIDDEN), i -> 1 + 0.1 * r.nextGaussian()));
        put(w, r, "lm_head", VOCAB, HIDDEN);
        return w;
    }

    static void put(WeightSource.InMemory w, Random r, String key, long rows, long cols) {
        double std = 1 / Math.sqrt(cols);
        w.put(key, Tensor.generate(DType.F32, s(rows, cols), i -> std * r.nextGaussian()));
    }

    Graph withModelOps() {
        Node h = node(new ModelOp.Embedding(), weight("embed", VOCAB, HIDDEN), ids);
        for (int l = 0; l < LAYERS; l++) {
            Node n = node(new ModelOp.RmsNorm(1e-5, 0), h, weight(l + ".norm1", HIDDEN));
            Node q = heads(node(new ModelOp.Linear(false), n, weight(l + ".q", HIDDEN, HIDDEN)), HEADS);
            Node k = heads(node(new ModelOp.Linear(false), n, weight(l + ".k", KV_HEADS * HEAD_DIM, HIDDEN)), KV_HEADS);
            Node v = heads(node(new ModelOp.Linear(false), n, weight(l + ".v", KV_HEADS * HEAD_DIM, HIDDEN)), KV_HEADS);
            q = node(new ModelOp.Rope(false), q, pos, invFreq);
            k = node(new ModelOp.Rope(false), k, pos, invFreq);
            Node a = node(new ModelOp.Attention(HEADS, KV_HEADS, true, 0, 0, 0), q, k, v);
            a = node(new PrimitiveOp.Reshape(false), a, dims(BATCH, SEQ, HIDDEN));
            h = node(new PrimitiveOp.Add(), h, node(new ModelOp.Linear(false), a, weight(l + ".o", HIDDEN, HIDDEN)));
            Node n2 = node(new ModelOp.RmsNorm(1e-5, 0), h, weight(l + ".norm2", HIDDEN));
            Node g = node(new ModelOp.Linear(false), n2, weight(l + ".gate", FF, HIDDEN));
            Node u = node(new ModelOp.Linear(false), n2, weight(l + ".up", FF, HIDDEN));
            Node m = node(new ModelOp.Linear(false), node(new ModelOp.Swiglu(), g, u), weight(l + ".down", HIDDEN, FF));
            h = node(new PrimitiveOp.Add(), h, m);
        }
        Node out = node(new ModelOp.Linear(false), node(new ModelOp.RmsNorm(1e-5, 0), h, weight("norm", HIDDEN)),
                weight("lm_head", VOCAB, HIDDEN));
        return new Graph("model_ops", List.of(ids, pos), List.of(out));
    }

    Graph withPrimitives() {
        Node h = node(new PrimitiveOp.Gather(0), weight("embed", VOCAB, HIDDEN), ids);
        for (int l = 0; l < LAYERS; l++) {
            Node n = rmsNorm(h, weight(l + ".norm1", HIDDEN));
            Node q = heads(matmulT(n, weight(l + ".q", HIDDEN, HIDDEN)), HEADS);
            Node k = heads(matmulT(n, weight(l + ".k", KV_HEADS * HEAD_DIM, HIDDEN)), KV_HEADS);
            Node v = heads(matmulT(n, weight(l + ".v", KV_HEADS * HEAD_DIM, HIDDEN)), KV_HEADS);
            q = node(new ModelOp.Rope(false), q, pos, invFreq);
            k = node(new ModelOp.Rope(false), k, pos, invFreq);
            Node qt = transpose(q, 0, 2, 1, 3);
            Node kt = repeatKv(transpose(k, 0, 2, 1, 3));
            Node vt = repeatKv(transpose(v, 0, 2, 1, 3));
            Node scores = node(new PrimitiveOp.Mul(), node(new PrimitiveOp.MatMul(), qt, transpose(kt, 0, 1, 3, 2)),
                    constant(f32(s(), 1 / Math.sqrt(HEAD_DIM))));
            Node ones = node(new PrimitiveOp.ConstantOfShape(f32(s(1), 1)), dims(SEQ, SEQ));
            Node hidden = node(new PrimitiveOp.Equal(), node(new PrimitiveOp.Trilu(false, 0), ones), constant(f32(s(), 0)));
            scores = node(new PrimitiveOp.Where(), hidden, constant(f32(s(), Double.NEGATIVE_INFINITY)), scores);
            Node a = node(new PrimitiveOp.MatMul(), node(new PrimitiveOp.Softmax(-1), scores), vt);
            a = node(new PrimitiveOp.Reshape(false), transpose(a, 0, 2, 1, 3), dims(BATCH, SEQ, HIDDEN));
            h = node(new PrimitiveOp.Add(), h, matmulT(a, weight(l + ".o", HIDDEN, HIDDEN)));
            Node n2 = rmsNorm(h, weight(l + ".norm2", HIDDEN));
            Node g = matmulT(n2, weight(l + ".gate", FF, HIDDEN));
            Node u = matmulT(n2, weight(l + ".up", FF, HIDDEN));
            Node silu = node(new PrimitiveOp.Mul(), g, node(new PrimitiveOp.Sigmoid(), g));
            h = node(new PrimitiveOp.Add(), h, matmulT(node(new PrimitiveOp.Mul(), silu, u), weight(l + ".down", HIDDEN, FF)));
        }
        Node out = matmulT(rmsNorm(h, weight("norm", HIDDEN)), weight("lm_head", VOCAB, HIDDEN));
        return new Graph("primitives", List.of(ids, pos), List.of(out));
    }

    static Node heads(Node x, int n) {
        return node(new PrimitiveOp.Reshape(false), x, dims(BATCH, SEQ, n, HEAD_DIM));
    }

    static Node transpose(Node x, long... perm) {
        return node(new PrimitiveOp.Transpose(java.util.Arrays.stream(perm).boxed().toList()), x);
    }

    static Node matmulT(Node x, Node w) {
        return node(new PrimitiveOp.MatMul(), x, transpose(w, 1, 0));
    }

    /** [b, kvh, s, d] -> [b, heads, s, d], each kv head repeated for its query group. */
    static Node repeatKv(Node x) {
        Node u = node(new PrimitiveOp.Unsqueeze(List.of(2L)), x);
        Node e = node(new PrimitiveOp.Expand(), u, dims(BATCH, KV_HEADS, HEADS / KV_HEADS, SEQ, HEAD_DIM));
        return node(new PrimitiveOp.Reshape(false), e, dims(BATCH, HEADS, SEQ, HEAD_DIM));
    }

    static Node rmsNorm(Node x, Node w) {
        Node ms = node(new PrimitiveOp.ReduceMean(List.of(-1L), true), node(new PrimitiveOp.Pow(), x, constant(f32(s(), 2))));
        Node rms = node(new PrimitiveOp.Sqrt(), node(new PrimitiveOp.Add(), ms, constant(f32(s(), 1e-5))));
        return node(new PrimitiveOp.Mul(), node(new PrimitiveOp.Div(), x, rms), w);
    }

    @Test
    void modelOpsAndTheirPrimitiveDecompositionAgree() {
        Graph a = withModelOps();
        Graph b = withPrimitives();
        Verifier.verifyOrThrow(a);
        Verifier.verifyOrThrow(b);
        WeightSource w = weights();
        Random r = new Random(3);
        for (int seq : new int[] {5, 2}) {
            int batch = 2;
            Tensor idv = Tensor.generate(DType.I64, s(batch, seq), i -> r.nextInt(VOCAB));
            Tensor posv = Tensor.generate(DType.I64, s(batch, seq), i -> i % seq + 3);
            Tensor la = Interpreter.run(a, inputs("ids", idv, "pos", posv), w).getFirst();
            Tensor lb = Interpreter.run(b, inputs("ids", idv, "pos", posv), w).getFirst();
            assertArrayEquals(s(batch, seq, VOCAB), la.shape());
            double diff = maxAbsDiff(la, lb);
            assertTrue(diff < 1e-4, "max abs logit difference " + diff + " at seq " + seq);
        }
    }
}
