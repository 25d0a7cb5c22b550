package dev.tokc.tests;

import dev.tokc.ir.DType;
import dev.tokc.ir.Graph;
import dev.tokc.ir.KvCacheSpec;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.interp.ExecutionContext;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.ir.interp.ReferenceKvCache;
import dev.tokc.ir.interp.WeightSource;
import dev.tokc.passes.transforms.LowerToPagedAttention;
import dev.tokc.runtime.kv.KvBlockManager;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a step program (see {@link LowerToPagedAttention}) the way the runtime will: the runtime's
 * {@link KvBlockManager} hands out blocks, a {@link ReferenceKvCache} holds the keys and values, and each
 * {@link #step} builds the seven inputs of one ragged batch and evaluates the program with the reference interpreter.
 */
final class StepSession {
    /** New tokens of one sequence in a step; {@code allLogits}: logits for each of them, else only for the last. */
    record Chunk(long seq, long[] tokens, boolean allLogits) {}

    private final Graph program;
    private final KvCacheSpec spec;
    private final WeightSource weights;
    private final ReferenceKvCache cache;
    private final KvBlockManager blocks;
    private final Map<Long, Integer> computed = new HashMap<>();

    StepSession(Graph program, WeightSource weights, int numBlocks) {
        this.program = program;
        this.spec = specOf(program);
        this.weights = weights;
        this.cache = new ReferenceKvCache(spec, numBlocks);
        this.blocks = new KvBlockManager(numBlocks, spec.blockSize(), false);
    }

    /** The one cache spec of a step program, read off its paged_attention ops (fusion may replace the writes). */
    static KvCacheSpec specOf(Graph program) {
        return program.nodes().stream().filter(n -> n.op() instanceof TargetOp.PagedAttention)
                .map(n -> ((TargetOp.PagedAttention) n.op()).spec()).findFirst()
                .orElseThrow(() -> new AssertionError("@" + program.name() + " has no paged_attention"));
    }

    KvCacheSpec spec() {
        return spec;
    }

    /** Tokens of a sequence in the cache. */
    int cached(long seq) {
        return computed.getOrDefault(seq, 0);
    }

    /** One step over the chunks (one per sequence); returns each chunk's logits rows, each {@code [vocab]}. */
    List<List<double[]>> step(List<Chunk> chunks) {
        int seqs = chunks.size();
        int tokens = chunks.stream().mapToInt(c -> c.tokens().length).sum();
        long[] ids = new long[tokens];
        long[] positions = new long[tokens];
        long[] slots = new long[tokens];
        long[] contextLens = new long[seqs];
        long[] queryStarts = new long[seqs + 1];
        List<Long> logitsIndices = new ArrayList<>();
        int bs = spec.blockSize();
        int maxBlocks = 1;
        int t = 0;
        for (int i = 0; i < seqs; i++) {
            Chunk c = chunks.get(i);
            int n = c.tokens().length;
            int[] known = new int[n];
            for (int j = 0; j < n; j++) {
                known[j] = Math.toIntExact(c.tokens()[j]);
            }
            if (blocks.contains(c.seq())) {
                blocks.appendTokens(c.seq(), known);
            } else {
                blocks.addSequence(c.seq(), known);
            }
            blocks.allocate(c.seq(), n).orElseThrow(() -> new AssertionError("the test's cache is too small"));
            int[] table = blocks.blockTable(c.seq());
            maxBlocks = Math.max(maxBlocks, table.length);
            int before = cached(c.seq());
            queryStarts[i] = t;
            for (int j = 0; j < n; j++, t++) {
                int pos = before + j;
                ids[t] = c.tokens()[j];
                positions[t] = pos;
                slots[t] = (long) table[pos / bs] * bs + pos % bs;
                if (c.allLogits() || j == n - 1) {
                    logitsIndices.add((long) t);
                }
            }
            contextLens[i] = before + n;
        }
        queryStarts[seqs] = tokens;
        int[] tables = new int[seqs * maxBlocks];
        for (int i = 0; i < seqs; i++) {
            blocks.copyBlockTable(chunks.get(i).seq(), tables, i * maxBlocks, maxBlocks);
        }
        Map<String, Tensor> in = new HashMap<>();
        in.put(LowerToPagedAttention.TOKENS, Tensor.ofLongs(DType.I64, new long[] {tokens}, ids));
        in.put(LowerToPagedAttention.POSITIONS, Tensor.ofLongs(DType.I64, new long[] {tokens}, positions));
        in.put(LowerToPagedAttention.SLOTS, Tensor.ofLongs(DType.I64, new long[] {tokens}, slots));
        in.put(LowerToPagedAttention.BLOCK_TABLES, Tensor.ofLongs(DType.I32, new long[] {seqs, maxBlocks},
                java.util.Arrays.stream(tables).asLongStream().toArray()));
        in.put(LowerToPagedAttention.CONTEXT_LENS, Tensor.ofLongs(DType.I32, new long[] {seqs}, contextLens));
        in.put(LowerToPagedAttention.QUERY_STARTS, Tensor.ofLongs(DType.I32, new long[] {seqs + 1}, queryStarts));
        in.put(LowerToPagedAttention.LOGITS_INDICES, Tensor.ofLongs(DType.I64, new long[] {logitsIndices.size()},
                logitsIndices.stream().mapToLong(Long::longValue).toArray()));
        Tensor logits = Interpreter.run(program, in, weights, ExecutionContext.withKvCache(cache)).getFirst();
        if (logits.rank() != 2 || logits.dim(0) != logitsIndices.size()) {
            throw new AssertionError("logits " + java.util.Arrays.toString(logits.shape()) + " for "
                    + logitsIndices.size() + " indices");
        }
        int vocab = (int) logits.dim(1);
        double[] all = logits.doubles();
        List<List<double[]>> out = new ArrayList<>();
        int row = 0;
        for (Chunk c : chunks) {
            List<double[]> rows = new ArrayList<>();
            int count = c.allLogits() ? c.tokens().length : 1;
            for (int r = 0; r < count; r++, row++) {
                rows.add(java.util.Arrays.copyOfRange(all, row * vocab, (row + 1) * vocab));
            }
            out.add(rows);
            computed.merge(c.seq(), c.tokens().length, Integer::sum);
        }
        return out;
    }

    /** The first index of the largest value (torch.argmax's tie rule). */
    static long argmax(double[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) {
            if (row[i] > row[best]) {
                best = i;
            }
        }
        return best;
    }
}
