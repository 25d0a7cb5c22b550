package dev.tokc.ir.interp;

import static dev.tokc.ir.interp.TestGraphs.*;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.DType;
import dev.tokc.ir.KvCacheSpec;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * PagedAttention against Attention: keys and values are written through KvWrite into blocks scattered over the
 * cache (a shuffled block table per sequence), over two runs that share the cache (a prefix, then a chunk of new
 * tokens), and each sequence's paged result must equal causal Attention over its whole K and V.
 */
class PagedAttentionTest {
    static final int HEADS = 4;
    static final int KV_HEADS = 2;
    static final int HEAD_DIM = 8;
    static final int BLOCK = 4;
    static final KvCacheSpec SPEC = new KvCacheSpec(2, KV_HEADS, HEAD_DIM, BLOCK, DType.F32);

    /** One sequence: its full K/V/Q [len, heads, d], its block table, and how many tokens each run adds. */
    record Seq(Tensor k, Tensor v, Tensor q, int[] blocks, int prefix, int len) {}

    @Test
    void pagedMatchesAttentionOverScatteredBlocksAcrossRuns() {
        check(0, 0);
    }

    @Test
    void softcapAndSlidingWindowMatchAttentionToo() {
        check(2.0, 3);
    }

    static void check(double softcap, long window) {
        List<Integer> free = new ArrayList<>();
        for (int b = 1; b < 16; b++) { // block 0 left unused, as the runtime's null block
            free.add(b);
        }
        Collections.shuffle(free, new Random(42));
        // Sequence 0: chunked prefill (5 cached, then 3 more); sequence 1: decode (6 cached, then 1 more).
        List<Seq> seqs = List.of(seq(0, 5, 8, free), seq(1, 6, 7, free));
        ReferenceKvCache cache = new ReferenceKvCache(SPEC, 16);
        int layer = 1; // the second layer of two, so that layer indexing is exercised
        runStep(seqs, cache, layer, true, softcap, window);
        Tensor out = runStep(seqs, cache, layer, false, softcap, window);
        int row = 0;
        for (Seq s : seqs) {
            int n = s.len() - s.prefix();
            Tensor expected = attention(s, s.prefix(), s.len(), softcap, window);
            double diff = 0;
            for (int i = 0; i < n * HEADS * HEAD_DIM; i++) {
                diff = Math.max(diff, Math.abs(expected.getDouble(i) - out.getDouble(row * HEADS * HEAD_DIM + i)));
            }
            assertTrue(diff < 1e-6, "sequence diff " + diff);
            row += n;
        }
    }

    static Seq seq(long seed, int prefix, int len, List<Integer> free) {
        int blocks = Math.ceilDiv(len, BLOCK);
        int[] table = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            table[i] = free.removeFirst();
        }
        return new Seq(random(DType.F32, s(len, KV_HEADS, HEAD_DIM), seed * 10 + 1),
                random(DType.F32, s(len, KV_HEADS, HEAD_DIM), seed * 10 + 2),
                random(DType.F32, s(len, HEADS, HEAD_DIM), seed * 10 + 3), table, prefix, len);
    }

    /** Writes and attends the prefix tokens ({@code first}) or the remaining ones, for all sequences at once. */
    static Tensor runStep(List<Seq> seqs, ReferenceKvCache cache, int layer, boolean first, double softcap, long window) {
        int tokens = 0;
        for (Seq s : seqs) {
            tokens += first ? s.prefix() : s.len() - s.prefix();
        }
        double[] k = new double[tokens * KV_HEADS * HEAD_DIM];
        double[] v = new double[k.length];
        double[] q = new double[tokens * HEADS * HEAD_DIM];
        long[] slots = new long[tokens];
        long[] starts = new long[seqs.size() + 1];
        long[] ctx = new long[seqs.size()];
        int maxBlocks = seqs.stream().mapToInt(s -> s.blocks().length).max().orElseThrow();
        long[] tables = new long[seqs.size() * maxBlocks];
        int t = 0;
        for (int i = 0; i < seqs.size(); i++) {
            Seq s = seqs.get(i);
            int from = first ? 0 : s.prefix();
            int to = first ? s.prefix() : s.len();
            starts[i] = t;
            ctx[i] = to;
            for (int b = 0; b < s.blocks().length; b++) {
                tables[i * maxBlocks + b] = s.blocks()[b];
            }
            for (int p = from; p < to; p++, t++) {
                slots[t] = (long) s.blocks()[p / BLOCK] * BLOCK + p % BLOCK;
                System.arraycopy(s.k().doubles(), p * KV_HEADS * HEAD_DIM, k, t * KV_HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM);
                System.arraycopy(s.v().doubles(), p * KV_HEADS * HEAD_DIM, v, t * KV_HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM);
                System.arraycopy(s.q().doubles(), p * HEADS * HEAD_DIM, q, t * HEADS * HEAD_DIM, HEADS * HEAD_DIM);
            }
        }
        starts[seqs.size()] = t;
        Tensor kt = f32(s(tokens, KV_HEADS, HEAD_DIM), k);
        Tensor vt = f32(s(tokens, KV_HEADS, HEAD_DIM), v);
        Tensor qt = f32(s(tokens, HEADS, HEAD_DIM), q);
        Tensor st = i64(s(tokens), slots);
        Tensor bt = ints(DType.I32, s(seqs.size(), maxBlocks), tables);
        Tensor cl = ints(DType.I32, s(seqs.size()), ctx);
        Tensor qs = ints(DType.I32, s(seqs.size() + 1), starts);
        Node write = node(new TargetOp.KvWrite(SPEC, layer), param("k", kt), param("v", vt), param("slots", st));
        Node attn = node(new TargetOp.PagedAttention(SPEC, layer, HEADS, 0, softcap, window), param("q", qt), write,
                param("bt", bt), param("cl", cl), param("qs", qs));
        return Interpreter.run(graph(attn), inputs("k", kt, "v", vt, "slots", st, "q", qt, "bt", bt, "cl", cl, "qs", qs),
                WeightSource.none(), ExecutionContext.withKvCache(cache)).getFirst();
    }

    /** Causal Attention of the sequence's queries [from, to) over its keys [0, to). */
    static Tensor attention(Seq s, int from, int to, double softcap, long window) {
        int n = to - from;
        Tensor q = f32(s(1, n, HEADS, HEAD_DIM),
                java.util.Arrays.copyOfRange(s.q().doubles(), from * HEADS * HEAD_DIM, to * HEADS * HEAD_DIM));
        Tensor k = f32(s(1, to, KV_HEADS, HEAD_DIM), java.util.Arrays.copyOf(s.k().doubles(), to * KV_HEADS * HEAD_DIM));
        Tensor v = f32(s(1, to, KV_HEADS, HEAD_DIM), java.util.Arrays.copyOf(s.v().doubles(), to * KV_HEADS * HEAD_DIM));
        Node out = node(new ModelOp.Attention(HEADS, KV_HEADS, true, 0, softcap, window), param("q", q), param("k", k), param("v", v));
        return eval(out, "q", q, "k", k, "v", v);
    }
}
