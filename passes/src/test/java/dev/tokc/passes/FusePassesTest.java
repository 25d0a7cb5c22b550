package dev.tokc.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.DType;
import dev.tokc.ir.ElementwiseExpr;
import dev.tokc.ir.Graph;
import dev.tokc.ir.IrException;
import dev.tokc.ir.KvCacheSpec;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.interp.ExecutionContext;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.ir.interp.ReferenceKvCache;
import dev.tokc.ir.text.IrParser;
import dev.tokc.ir.text.IrPrinter;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The fusion phase on whole blocks, beyond the per-pass golden files. */
class FusePassesTest {

    /**
     * One Llama decoder layer with GQA, the final norm, the tied LM head and Gemma-2-style logit soft-capping, as the
     * HF importer writes it (the embedding lookup left out: random ids would fall outside the vocabulary).
     */
    static final String LLAMA = """
            graph @llama(%x: f32[batch, seq, 8], %positions: i64[batch, seq]) -> (f32[batch, seq, 10]) {
              %emb = weight "embed" : f32[10, 8]
              %g1 = weight "ln1" : f32[8]
              %h = rms_norm(%x, %g1) {eps = 1.0e-05, weight_offset = 0.0} : f32[batch, seq, 8]
              %wq = weight "q" : f32[8, 8]
              %q = linear(%h, %wq) {transpose_weight = false} : f32[batch, seq, 8]
              %wk = weight "k" : f32[4, 8]
              %k = linear(%h, %wk) {transpose_weight = false} : f32[batch, seq, 4]
              %wv = weight "v" : f32[4, 8]
              %v = linear(%h, %wv) {transpose_weight = false} : f32[batch, seq, 4]
              %s2 = dims [batch, seq, 2, 4]
              %s1 = dims [batch, seq, 1, 4]
              %q4 = reshape(%q, %s2) {allow_zero = false} : f32[batch, seq, 2, 4]
              %k4 = reshape(%k, %s1) {allow_zero = false} : f32[batch, seq, 1, 4]
              %v4 = reshape(%v, %s1) {allow_zero = false} : f32[batch, seq, 1, 4]
              %f = constant f32[2] [1.0, 0.01]
              %qr = rope(%q4, %positions, %f) {interleaved = false} : f32[batch, seq, 2, 4]
              %kr = rope(%k4, %positions, %f) {interleaved = false} : f32[batch, seq, 1, 4]
              %a = attention(%qr, %kr, %v4) {num_heads = 2, num_kv_heads = 1, causal = true, scale = 0.5, softcap = 0.0, sliding_window = 0} : f32[batch, seq, 2, 4]
              %s3 = dims [batch, seq, 8]
              %a3 = reshape(%a, %s3) {allow_zero = false} : f32[batch, seq, 8]
              %wo = weight "o" : f32[8, 8]
              %o = linear(%a3, %wo) {transpose_weight = false} : f32[batch, seq, 8]
              %r1 = add(%x, %o) : f32[batch, seq, 8]
              %g2 = weight "ln2" : f32[8]
              %h2 = rms_norm(%r1, %g2) {eps = 1.0e-05, weight_offset = 0.0} : f32[batch, seq, 8]
              %wg = weight "gate" : f32[16, 8]
              %gate = linear(%h2, %wg) {transpose_weight = false} : f32[batch, seq, 16]
              %wu = weight "up" : f32[16, 8]
              %up = linear(%h2, %wu) {transpose_weight = false} : f32[batch, seq, 16]
              %act = swiglu(%gate, %up) : f32[batch, seq, 16]
              %wd = weight "down" : f32[8, 16]
              %down = linear(%act, %wd) {transpose_weight = false} : f32[batch, seq, 8]
              %r2 = add(%r1, %down) : f32[batch, seq, 8]
              %gf = weight "norm" : f32[8]
              %n = rms_norm(%r2, %gf) {eps = 1.0e-05, weight_offset = 0.0} : f32[batch, seq, 8]
              %logits = linear(%n, %emb) {transpose_weight = false} : f32[batch, seq, 10]
              %cap = constant f32[] [30.0]
              %d = div(%logits, %cap) : f32[batch, seq, 10]
              %t = tanh(%d) : f32[batch, seq, 10]
              %y = mul(%t, %cap) : f32[batch, seq, 10]
              return %y
            }
            """;

    static Pipeline fusePhase() {
        Pipeline.Phase fuse = Pipeline.standard().phases().stream().filter(p -> p.name().equals("fuse")).findFirst().orElseThrow();
        return Pipeline.of(fuse).verifyEach(true).failOnNonConvergence(true);
    }

    @Test
    void llamaLayerFusesEverywhereAndKeepsItsValues() {
        Graph g = IrParser.parse(LLAMA, "llama").getFirst();
        Pipeline.Result r = fusePhase().run(g);
        assertEquals(1, r.counter("fuse-gate-up", "swiglu"), r.report());
        assertEquals(1, r.counter("fuse-qkv", "qkv"), r.report());
        assertEquals(3, r.counter("fuse-qkv", "linears"), r.report());
        assertEquals(1, r.counter("fuse-residual-norm", "addRmsNorm"), r.report());
        assertEquals(1, r.counter("fuse-residual-norm", "finalNorm"), r.report());
        assertEquals(1, r.counter("fuse-linear-residual", "residualAdd"), r.report());
        assertEquals(1, r.counter("fuse-elementwise", "softcap"), r.report());
        Map<String, Integer> ops = r.graph().opHistogram();
        assertFalse(ops.containsKey("swiglu") || ops.containsKey("add") || ops.containsKey("tanh"), ops.toString());
        assertEquals(3, ops.get("fused_linear"), ops.toString()); // qkv, gate/up, down + residual
        assertEquals(2, ops.get("linear"), ops.toString()); // o_proj (its residual feeds the next norm and add), lm_head
        InterpreterEquivalenceTests.assertSameValues("llama fused", g, r.graph(), false);
        assertEquals(List.of(r.graph()), IrParser.parse(IrPrinter.print(r.graph()), "printed"));
    }

    @Test
    void fusionIsIdempotent() {
        Graph once = fusePhase().run(IrParser.parse(LLAMA, "llama").getFirst()).graph();
        Pipeline.Result twice = fusePhase().run(once);
        assertSame(once, twice.graph());
        assertTrue(twice.runs().stream().noneMatch(Pipeline.PassRun::changed));
    }

    /** The paged step with cos/sin tables: the fused write stores the same keys, so attention reads the same. */
    @Test
    void ropeFusedIntoTheKvWriteFeedsPagedAttention() {
        String step = """
                graph @step(%k: f32[1, tokens, 1, 4], %positions: i64[1, tokens], %v: f32[tokens, 1, 4], %slots: i64[tokens], %q: f32[tokens, 2, 4], %bt: i32[1, 2], %cl: i32[1], %qs: i32[2]) -> (f32[tokens, 2, 4]) {
                  %cos = weight "cos" : f32[16, 2]
                  %sin = weight "sin" : f32[16, 2]
                  %kr = rope(%k, %positions, %cos, %sin) {interleaved = false} : f32[1, tokens, 1, 4]
                  %ks = dims [tokens, 1, 4]
                  %kf = reshape(%kr, %ks) {allow_zero = false} : f32[tokens, 1, 4]
                  %w = kv_write(%kf, %v, %slots) {spec = {layers = 1, kv_heads = 1, head_dim = 4, block_size = 4, dtype = f32}, layer = 0} : i64[]
                  %o = paged_attention(%q, %w, %bt, %cl, %qs) {spec = {layers = 1, kv_heads = 1, head_dim = 4, block_size = 4, dtype = f32}, layer = 0, num_heads = 2, scale = 0.5, softcap = 0.0, sliding_window = 0} : f32[tokens, 2, 4]
                  return %o
                }
                """;
        Graph g = IrParser.parse(step, "step").getFirst();
        Pipeline.Result r = fusePhase().run(g);
        assertEquals(1, r.counter("fuse-rope-kv-write", "ropeKvWrite"), r.report());
        assertTrue(r.graph().nodes().stream().anyMatch(n -> n.op() instanceof TargetOp.KvWriteRope));
        SplittableRandom rnd = new SplittableRandom(7);
        int tokens = 5;
        Map<String, Tensor> in = Map.of(
                "k", Tensor.generate(DType.F32, new long[] {1, tokens, 1, 4}, i -> rnd.nextDouble(-1, 1)),
                "positions", Tensor.ofLongs(DType.I64, new long[] {1, tokens}, new long[] {0, 1, 2, 3, 4}),
                "v", Tensor.generate(DType.F32, new long[] {tokens, 1, 4}, i -> rnd.nextDouble(-1, 1)),
                "slots", Tensor.ofLongs(DType.I64, new long[] {tokens}, new long[] {8, 9, 10, 11, 4}),
                "q", Tensor.generate(DType.F32, new long[] {tokens, 2, 4}, i -> rnd.nextDouble(-1, 1)),
                "bt", Tensor.ofLongs(DType.I32, new long[] {1, 2}, new long[] {2, 1}),
                "cl", Tensor.ofLongs(DType.I32, new long[] {1}, new long[] {5}),
                "qs", Tensor.ofLongs(DType.I32, new long[] {2}, new long[] {0, 5}));
        KvCacheSpec spec = new KvCacheSpec(1, 1, 4, 4, DType.F32);
        var weights = InterpreterEquivalenceTests.randomWeights(3);
        Tensor expected = Interpreter.run(g, in, weights, ExecutionContext.withKvCache(new ReferenceKvCache(spec, 3))).getFirst();
        Tensor actual = Interpreter.run(r.graph(), in, weights, ExecutionContext.withKvCache(new ReferenceKvCache(spec, 3))).getFirst();
        InterpreterEquivalenceTests.assertClose("paged step", expected, actual);
    }

    @Test
    void elementwiseExpressionsRoundTrip() {
        for (String e : List.of("mul(tanh(div($0, 30.0)), 30.0)", "add($0, $1)", "silu($2)", "max(neg($0), -Infinity)",
                "pow($0, 1.0E-5)", "gelu_tanh(sub(NaN, $0))")) {
            ElementwiseExpr x = ElementwiseExpr.parse(e);
            assertEquals(e, x.toString());
            assertEquals(x, ElementwiseExpr.parse(x.toString()));
        }
        assertEquals(3, ElementwiseExpr.parse("silu($2)").inputCount());
        assertEquals(3, ElementwiseExpr.parse("mul(tanh(div($0, 30.0)), 30.0)").functionCount());
        for (String bad : List.of("mul($0)", "frob($0)", "add($0, $1", "$", "add($0, $1) x", "")) {
            assertThrows(IrException.class, () -> ElementwiseExpr.parse(bad), bad);
        }
    }
}
