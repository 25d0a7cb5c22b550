package dev.tokc.passes.transforms;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Graph;
import dev.tokc.ir.GraphBuilder;
import dev.tokc.ir.IrException;
import dev.tokc.ir.KvCacheSpec;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import dev.tokc.ir.Verifier;
import dev.tokc.passes.PassContext;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class LowerToPagedAttentionTest {
    static final int HIDDEN = 16;
    static final int HEAD_DIM = 4;
    static final int HEADS = 4;
    static final int VOCAB = 32;

    /** What the little decoder below looks like. */
    record Model(Dim batch, int[] kvHeads, boolean maskLayer0, boolean softcappedLogits) {
        static Model gqa(int layers, int kvHeads) {
            int[] kv = new int[layers];
            java.util.Arrays.fill(kv, kvHeads);
            return new Model(Dim.sym("batch"), kv, false, false);
        }
    }

    /** A llama-style decoder as the HF importer builds it: range positions, RoPE, (GQA) attention, final norm, head. */
    static Graph decoder(Model m) {
        GraphBuilder b = new GraphBuilder("forward");
        Dim seq = Dim.sym("seq");
        Node ids = b.param("input_ids", TensorType.of(DType.I64, m.batch(), seq));
        Node len = b.op(new PrimitiveOp.Squeeze(List.of(0L)), b.op(new PrimitiveOp.ShapeOf(1, 2), ids));
        Node range = b.op(new PrimitiveOp.Range(), b.scalarI64(0), len, b.scalarI64(1));
        Node pos = b.op(new PrimitiveOp.Expand(), b.op(new PrimitiveOp.Unsqueeze(List.of(0L)), range),
                b.op(new PrimitiveOp.ShapeOf(0, 2), ids));
        Node invFreq = b.constant(Tensor.ofDoubles(DType.F32, new long[] {2}, new double[] {1.0, 0.01}));
        Node table = b.weight("embed", TensorType.of(DType.F32, VOCAB, HIDDEN));
        Node x = b.op(new ModelOp.Embedding(), table, ids);
        for (int l = 0; l < m.kvHeads().length; l++) {
            int kvh = m.kvHeads()[l];
            Node h = b.op(new ModelOp.RmsNorm(1e-5, 0), x, b.weight("norm" + l, TensorType.of(DType.F32, HIDDEN)));
            Node q = b.op(new ModelOp.Linear(false), h, b.weight("wq" + l, TensorType.of(DType.F32, HEADS * HEAD_DIM, HIDDEN)));
            Node k = b.op(new ModelOp.Linear(false), h, b.weight("wk" + l, TensorType.of(DType.F32, kvh * HEAD_DIM, HIDDEN)));
            Node v = b.op(new ModelOp.Linear(false), h, b.weight("wv" + l, TensorType.of(DType.F32, kvh * HEAD_DIM, HIDDEN)));
            q = b.op(new PrimitiveOp.Reshape(false), q, b.dims(m.batch(), seq, Dim.of(HEADS), Dim.of(HEAD_DIM)));
            k = b.op(new PrimitiveOp.Reshape(false), k, b.dims(m.batch(), seq, Dim.of(kvh), Dim.of(HEAD_DIM)));
            v = b.op(new PrimitiveOp.Reshape(false), v, b.dims(m.batch(), seq, Dim.of(kvh), Dim.of(HEAD_DIM)));
            q = b.op(new ModelOp.Rope(false), q, pos, invFreq);
            k = b.op(new ModelOp.Rope(false), k, pos, invFreq);
            ModelOp.Attention op = new ModelOp.Attention(HEADS, kvh, true, 0, 0, 0);
            Node a = l == 0 && m.maskLayer0()
                    ? b.named("attn" + l, op, q, k, v, b.constant(Tensor.ofLongs(DType.BOOL, new long[] {1, 1, 1, 1}, new long[] {1})))
                    : b.named("attn" + l, op, q, k, v);
            a = b.op(new PrimitiveOp.Reshape(false), a, b.dims(m.batch(), seq, Dim.of(HIDDEN)));
            x = b.op(new PrimitiveOp.Add(), x, b.op(new ModelOp.Linear(false), a, b.weight("wo" + l, TensorType.of(DType.F32, HIDDEN, HIDDEN))));
        }
        Node n = b.op(new ModelOp.RmsNorm(1e-5, 0), x, b.weight("final_norm", TensorType.of(DType.F32, HIDDEN)));
        Node logits = b.op(new ModelOp.Linear(false), n, table);
        if (m.softcappedLogits()) {
            Node cap = b.scalar(DType.F32, 30.0);
            logits = b.op(new PrimitiveOp.Mul(), b.op(new PrimitiveOp.Tanh(), b.op(new PrimitiveOp.Div(), logits, cap)), cap);
        }
        return b.build(logits);
    }

    static Graph lower(Graph g, StepProgramOptions options, PassContext ctx) {
        Graph out = new LowerToPagedAttention(options).run(g, ctx);
        Verifier.verifyOrThrow(out);
        return out;
    }

    static List<Node> ofOp(Graph g, Class<?> c) {
        return g.nodes().stream().filter(n -> c.isInstance(n.op())).toList();
    }

    @Test
    void gqaDecoderBecomesTheStepProgram() {
        PassContext ctx = new PassContext("lower-to-paged-attention");
        Graph out = lower(decoder(Model.gqa(3, 2)), StepProgramOptions.DEFAULT, ctx);
        assertEquals(LowerToPagedAttention.GRAPH_NAME, out.name());
        assertEquals(LowerToPagedAttention.INPUTS, out.inputs().stream().map(Node::name).toList());
        assertEquals(TensorType.of(DType.F32, Dim.sym("outputs"), Dim.of(VOCAB)), out.outputs().getFirst().type());
        List<Node> writes = ofOp(out, TargetOp.KvWrite.class);
        List<Node> paged = ofOp(out, TargetOp.PagedAttention.class);
        assertEquals(3, writes.size());
        assertEquals(3, paged.size());
        KvCacheSpec spec = new KvCacheSpec(3, 2, HEAD_DIM, 16, DType.F32);
        for (int l = 0; l < 3; l++) {
            assertEquals(new TargetOp.KvWrite(spec, l), writes.get(l).op(), "layers numbered in topological order");
            assertEquals(new TargetOp.PagedAttention(spec, l, HEADS, 0, 0, 0), paged.get(l).op());
            assertEquals(writes.get(l), paged.get(l).input(1));
            // GQA: the cache gets the 2 KV heads, never the 4 query heads.
            assertEquals(Dim.of(2), writes.get(l).input(0).shape().dim(1));
        }
        assertTrue(ofOp(out, ModelOp.Attention.class).isEmpty());
        assertTrue(ofOp(out, PrimitiveOp.Range.class).isEmpty(), "positions come from %positions");
        assertEquals("pagedAttention=3 kvWrite=3 positions=1 logitsGather=1 rowwiseTail=2 kvBytesPerToken=192",
                ctx.report());
        assertEquals(2L * 3 * 2 * HEAD_DIM * 4, spec.bytesPerToken());
    }

    @Test
    void kvBytesPerTokenCountKvHeadsOnly() {
        for (int kvHeads : new int[] {1, 2, 4}) { // MQA, GQA, MHA
            Graph g = decoder(Model.gqa(2, kvHeads));
            KvCacheSpec spec = new LowerToPagedAttention().kvCacheSpec(g);
            assertEquals(2L * 2 * kvHeads * HEAD_DIM * DType.F32.byteSize(), spec.bytesPerToken(), "kv heads " + kvHeads);
        }
    }

    @Test
    void blockSizeAndCacheDtypeComeFromTheOptions() {
        StepProgramOptions opts = StepProgramOptions.DEFAULT.withBlockSize(32).withKvDtype(DType.BF16);
        PassContext ctx = new PassContext("lower-to-paged-attention");
        Graph out = lower(decoder(Model.gqa(2, 1)), opts, ctx);
        KvCacheSpec spec = ((TargetOp.KvWrite) ofOp(out, TargetOp.KvWrite.class).getFirst().op()).spec();
        assertEquals(new KvCacheSpec(2, 1, HEAD_DIM, 32, DType.BF16), spec);
        assertEquals(2L * 2 * 1 * HEAD_DIM * 2, ctx.get("kvBytesPerToken"));
        assertThrows(IllegalArgumentException.class, () -> StepProgramOptions.DEFAULT.withBlockSize(0));
        assertThrows(IllegalArgumentException.class, () -> new StepProgramOptions(16, Optional.of(DType.I32), false));
    }

    @Test
    void softcappedLogitsMoveBehindTheGatherWithTheNormAndHead() {
        PassContext ctx = new PassContext("lower-to-paged-attention");
        Graph out = lower(decoder(new Model(Dim.of(1), new int[] {2}, false, true)), StepProgramOptions.DEFAULT, ctx);
        assertEquals(5, ctx.get("rowwiseTail"), "rms_norm, linear, div, tanh, mul");
        Node gather = ofOp(out, PrimitiveOp.Gather.class).getFirst();
        assertTrue(gather.input(0).is(PrimitiveOp.Add.class), "gathered right after the last residual: " + gather.input(0));
        for (Class<?> c : List.of(ModelOp.RmsNorm.class, PrimitiveOp.Tanh.class)) {
            List<Node> ns = ofOp(out, c);
            assertEquals(Dim.sym("outputs"), ns.getLast().shape().dim(1), c.getSimpleName());
        }
    }

    @Test
    void maskedAttentionLeavesTheGraphOrFailsWhenStrict() {
        Graph g = decoder(new Model(Dim.sym("batch"), new int[] {2, 2}, true, false));
        PassContext ctx = new PassContext("lower-to-paged-attention");
        assertSame(g, new LowerToPagedAttention().run(g, ctx));
        assertEquals("skipped=1 maskedAttention=1", ctx.report());
        IrException e = assertThrows(IrException.class, () -> new LowerToPagedAttention(
                StepProgramOptions.DEFAULT.withStrict(true)).run(g, new PassContext("lower-to-paged-attention")));
        assertTrue(e.getMessage().contains("cannot become a step program") && e.getMessage().contains("has a mask"),
                e.getMessage());
    }

    @Test
    void oneCacheSpecMeansOneKvHeadCountAcrossLayers() {
        Graph g = decoder(new Model(Dim.sym("batch"), new int[] {2, 1}, false, false));
        PassContext ctx = new PassContext("lower-to-paged-attention");
        assertSame(g, new LowerToPagedAttention().run(g, ctx));
        assertEquals(1, ctx.get("mixedLayers"));
    }

    @Test
    void aGraphWithoutAttentionIsNotAStepProgram() {
        GraphBuilder b = new GraphBuilder("embed_only");
        Node ids = b.param("input_ids", TensorType.of(DType.I64, Dim.sym("batch"), Dim.sym("seq")));
        Graph g = b.build(b.op(new ModelOp.Embedding(), b.weight("e", TensorType.of(DType.F32, VOCAB, HIDDEN)), ids));
        PassContext ctx = new PassContext("lower-to-paged-attention");
        assertSame(g, new LowerToPagedAttention().run(g, ctx));
        assertEquals(1, ctx.get("skipped"));
        assertEquals(1, ctx.get("noAttention"));
    }
}
