package dev.tokc.runtime.exec;

import dev.tokc.runtime.kernels.Elements;
import dev.tokc.runtime.kv.KvBlockManager;
import dev.tokc.runtime.sched.GenerationLoop;
import dev.tokc.runtime.sched.StepBatch;
import java.lang.foreign.MemorySegment;

/**
 * The adapter between the {@link GenerationLoop} and a compiled engine: runs the engine's step program on the
 * loop's {@link StepBatch}es. The loop's scheduler owns the block bookkeeping ({@link KvBlockManager}: which
 * blocks, prefix caching, preemption); this class owns the blocks' memory, so the two must agree on geometry.
 * {@link #newBlockManager} makes a manager of exactly this cache's block count and block size.
 *
 * <pre>
 *   GenerationLoop --StepBatch (tokens, positions, slots, block tables, ...)--> ProgramStepExecutor
 *        ^                                                                         | StepProgramRunner.run
 *        +------------------------ float[outputs][vocab] logits <------------------+
 * </pre>
 *
 * Called from the loop thread only (one step at a time), as {@link dev.tokc.runtime.sched.StepExecutor} requires.
 */
public final class ProgramStepExecutor implements dev.tokc.runtime.sched.StepExecutor, AutoCloseable {
    private final StepProgramRunner runner;

    /** Takes ownership of {@code runner} (closed with this executor). */
    public ProgramStepExecutor(StepProgramRunner runner) {
        this.runner = runner;
    }

    /** A block manager for this cache: the same block count (null block included) and block size. */
    public KvBlockManager newBlockManager(boolean prefixCaching) {
        return new KvBlockManager(runner.numBlocks(), runner.kvCache().blockSize(), prefixCaching);
    }

    public StepProgramRunner runner() {
        return runner;
    }

    @Override
    public int vocabSize() {
        return runner.vocabSize();
    }

    @Override
    public float[][] step(StepBatch b) {
        if (b.maxBlocks() < 1) {
            throw new IllegalArgumentException("step batch with block tables of width " + b.maxBlocks());
        }
        MemorySegment out = runner.run(b.tokens(), b.positions(), b.slots(), b.blockTables(), b.maxBlocks(),
                b.contextLens(), b.queryStarts(), b.logitsIndices());
        int vocab = runner.vocabSize();
        long row = (long) vocab * Float.BYTES;
        float[][] logits = new float[b.numOutputs()][];
        for (int k = 0; k < logits.length; k++) {
            logits[k] = out.asSlice(k * row, row).toArray(Elements.F32);
        }
        return logits;
    }

    /**
     * Runs one throw-away step of {@code tokens} tokens, then one of a single token, (split into sequences of at most {@code maxSeqLen}) so the
     * activation arena grows to its high-water mark and the JIT sees the step code before the first request.
     * Writes KV into blocks 1.. (never the null block); nothing reads them before a real sequence overwrites them,
     * so call it only while no sequence holds a block.
     */
    public void warmUp(int tokens, int maxSeqLen) {
        int bs = runner.kvCache().blockSize();
        int usable = runner.numBlocks() - 1;
        int seqs = (tokens + maxSeqLen - 1) / maxSeqLen;
        int maxBlocks = (Math.min(tokens, maxSeqLen) + bs - 1) / bs;
        long[] ids = new long[tokens];
        long[] positions = new long[tokens];
        long[] slots = new long[tokens];
        int[] tables = new int[seqs * maxBlocks];
        int[] contextLens = new int[seqs];
        int[] queryStarts = new int[seqs + 1];
        long[] indices = new long[seqs];
        int next = 0;
        int t = 0;
        for (int s = 0; s < seqs; s++) {
            int len = Math.min(maxSeqLen, tokens - t);
            queryStarts[s] = t;
            for (int b = 0; b < (len + bs - 1) / bs; b++) {
                tables[s * maxBlocks + b] = 1 + (next++ % usable);   // wraps when the pool is small: content is junk anyway
            }
            for (int p = 0; p < len; p++, t++) {
                positions[t] = p;
                slots[t] = (long) tables[s * maxBlocks + p / bs] * bs + p % bs;
            }
            contextLens[s] = len;
            indices[s] = t - 1;
        }
        queryStarts[seqs] = t;
        runner.run(ids, positions, slots, tables, maxBlocks, contextLens, queryStarts, indices);
        // A one-token (decode-shaped) step: the arena grows to the big step's high-water mark at its start.
        runner.run(new long[1], new long[1], new long[] {bs}, new int[] {1}, 1, new int[] {1}, new int[] {0, 1},
                new long[1]);
    }

    @Override
    public void close() {
        runner.close();
    }
}
