package dev.tokc.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tokc.ir.DType;
import dev.tokc.ir.Graph;
import dev.tokc.ir.KvCacheSpec;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.interp.ExecutionContext;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.ir.interp.ReferenceKvCache;
import dev.tokc.ir.interp.WeightSource;
import dev.tokc.passes.transforms.LowerToPagedAttention;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Interpreter equivalence for a pass that turns a full forward into a step program ({@link LowerToPagedAttention}):
 * the two have different signatures, so "same values" means the step program, fed the forward's token rows as a
 * ragged batch of sequences in two steps (a chunked prefill: a ragged first chunk, then the rest) over scattered
 * cache blocks, gives the forward's logits row for every token (logits_indices = all tokens).
 */
final class StepPrograms {
    private StepPrograms() {}

    static final int BATCH = 2;
    static final int SEQ = 5;

    static boolean isStepProgram(Graph g) {
        return g.name().equals(LowerToPagedAttention.GRAPH_NAME)
                && g.inputs().stream().map(Node::name).toList().equals(LowerToPagedAttention.INPUTS);
    }

    /** Compares {@code step} (lowered) against {@code forward} on random ids and weights; exact up to 1e-6 relative. */
    static void assertMatchesForward(String where, Graph forward, Graph step, int seed) {
        Node ids = forward.inputs().getFirst();
        int batch = ids.shape().dim(0).isConstant() ? (int) ids.shape().dim(0).value() : BATCH;
        long vocab = forward.nodes().stream().filter(n -> n.op() instanceof ModelOp.Embedding && n.input(1) == ids)
                .mapToLong(n -> n.input(0).shape().dim(0).value()).min().orElse(8);
        Random rnd = new Random(seed);
        long[] tokens = new long[batch * SEQ];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = rnd.nextInt((int) vocab);
        }
        WeightSource weights = InterpreterEquivalenceTests.randomWeights(seed);
        Tensor expected = Interpreter.run(forward, Map.of(ids.name(), Tensor.ofLongs(ids.dtype(),
                new long[] {batch, SEQ}, tokens)), weights).getFirst();
        int v = (int) expected.dim(2);

        // From paged_attention: fusion may turn the kv_write into another write op, the reads stay.
        KvCacheSpec spec = step.nodes().stream().filter(n -> n.op() instanceof TargetOp.PagedAttention)
                .map(n -> ((TargetOp.PagedAttention) n.op()).spec()).findFirst().orElseThrow();
        int blocksPerSeq = Math.ceilDiv(SEQ, spec.blockSize());
        List<Integer> free = new ArrayList<>();
        for (int b = 1; b <= batch * blocksPerSeq + 2; b++) {
            free.add(b);
        }
        Collections.shuffle(free, rnd);
        int[][] tables = new int[batch][blocksPerSeq];
        for (int[] t : tables) {
            for (int i = 0; i < blocksPerSeq; i++) {
                t[i] = free.removeFirst();
            }
        }
        ReferenceKvCache cache = new ReferenceKvCache(spec, batch * blocksPerSeq + 3);
        int[] firstChunk = new int[batch];
        for (int r = 0; r < batch; r++) {
            firstChunk[r] = Math.max(1, SEQ - 2 - r);
        }
        double[][] rows = new double[batch * SEQ][];
        for (int stepNo = 0; stepNo < 2; stepNo++) {
            int[] from = new int[batch];
            int[] to = new int[batch];
            for (int r = 0; r < batch; r++) {
                from[r] = stepNo == 0 ? 0 : firstChunk[r];
                to[r] = stepNo == 0 ? firstChunk[r] : SEQ;
            }
            Tensor logits = runStep(step, weights, cache, spec, tokens, tables, from, to);
            int row = 0;
            for (int r = 0; r < batch; r++) {
                for (int p = from[r]; p < to[r]; p++, row++) {
                    double[] out = new double[v];
                    for (int t = 0; t < v; t++) {
                        out[t] = logits.getDouble(row * v + t);
                    }
                    rows[r * SEQ + p] = out;
                }
            }
        }
        for (int i = 0; i < rows.length; i++) {
            for (int t = 0; t < v; t++) {
                double e = expected.getDouble(i * v + t);
                double a = rows[i][t];
                if (Math.abs(e - a) > 1e-6 * Math.max(1, Math.abs(e))) {
                    throw new AssertionError(where + ": token " + i + ", logit " + t + " is " + a + ", the forward gives " + e);
                }
            }
        }
    }

    /** One step over tokens [from[r], to[r]) of every row r, logits for all of them. */
    private static Tensor runStep(Graph step, WeightSource weights, ReferenceKvCache cache, KvCacheSpec spec,
                                  long[] tokens, int[][] tables, int[] from, int[] to) {
        int batch = tables.length;
        int bs = spec.blockSize();
        int n = 0;
        for (int r = 0; r < batch; r++) {
            n += to[r] - from[r];
        }
        long[] ids = new long[n];
        long[] positions = new long[n];
        long[] slots = new long[n];
        long[] all = new long[n];
        long[] ctx = new long[batch];
        long[] starts = new long[batch + 1];
        long[] bt = new long[batch * tables[0].length];
        int t = 0;
        for (int r = 0; r < batch; r++) {
            starts[r] = t;
            ctx[r] = to[r];
            for (int i = 0; i < tables[r].length; i++) {
                bt[r * tables[r].length + i] = tables[r][i];
            }
            for (int p = from[r]; p < to[r]; p++, t++) {
                ids[t] = tokens[r * SEQ + p];
                positions[t] = p;
                slots[t] = (long) tables[r][p / bs] * bs + p % bs;
                all[t] = t;
            }
        }
        starts[batch] = n;
        Map<String, Tensor> in = new HashMap<>();
        in.put(LowerToPagedAttention.TOKENS, Tensor.ofLongs(DType.I64, new long[] {n}, ids));
        in.put(LowerToPagedAttention.POSITIONS, Tensor.ofLongs(DType.I64, new long[] {n}, positions));
        in.put(LowerToPagedAttention.SLOTS, Tensor.ofLongs(DType.I64, new long[] {n}, slots));
        in.put(LowerToPagedAttention.BLOCK_TABLES, Tensor.ofLongs(DType.I32, new long[] {batch, tables[0].length}, bt));
        in.put(LowerToPagedAttention.CONTEXT_LENS, Tensor.ofLongs(DType.I32, new long[] {batch}, ctx));
        in.put(LowerToPagedAttention.QUERY_STARTS, Tensor.ofLongs(DType.I32, new long[] {batch + 1}, starts));
        in.put(LowerToPagedAttention.LOGITS_INDICES, Tensor.ofLongs(DType.I64, new long[] {n}, all));
        Tensor out = Interpreter.run(step, in, weights, ExecutionContext.withKvCache(cache)).getFirst();
        assertEquals(2, out.rank());
        return out;
    }
}
