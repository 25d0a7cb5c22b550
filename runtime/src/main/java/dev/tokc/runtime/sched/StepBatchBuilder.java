package dev.tokc.runtime.sched;

import dev.tokc.runtime.kv.BlockPool;
import dev.tokc.runtime.sched.SchedulerOutput.NewSequence;
import dev.tokc.runtime.sched.SchedulerOutput.RunningSequence;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The worker side of a {@link SchedulerOutput}: keeps a mirror of each running sequence's tokens and block table,
 * applies the output's diffs to it, and lays the step out as a {@link StepBatch}. It never looks at the
 * scheduler or the block manager, so everything the step needs must travel in the output (tests check that the
 * mirror's tables equal the block manager's).
 *
 * <p>Block-table rows are as wide as the longest table in the step, at least {@code minBlockTableWidth}
 * (executors that capture graphs per batch shape pass their fixed width), padded with
 * {@link BlockPool#NULL_BLOCK}. Not thread-safe.
 */
public final class StepBatchBuilder {

    private final int blockSize;
    private final int minBlockTableWidth;
    private final Map<Long, Mirror> mirrors = new HashMap<>();

    public StepBatchBuilder(int blockSize, int minBlockTableWidth) {
        if (blockSize < 1 || minBlockTableWidth < 0) {
            throw new IllegalArgumentException("blockSize " + blockSize + " / minBlockTableWidth " + minBlockTableWidth);
        }
        this.blockSize = blockSize;
        this.minBlockTableWidth = minBlockTableWidth;
    }

    /** Applies {@code out} to the mirror and builds its batch (an empty batch for an empty output). */
    public StepBatch build(SchedulerOutput out) {
        out.finished().forEach(mirrors::remove);
        out.preempted().forEach(mirrors::remove);
        int numSeqs = out.running().size() + out.added().size();
        Mirror[] rows = new Mirror[numSeqs];
        int[] computed = new int[numSeqs];
        int[] scheduled = new int[numSeqs];
        boolean[] samples = new boolean[numSeqs];
        long[] seqIds = new long[numSeqs];
        int r = 0;
        for (RunningSequence d : out.running()) {
            Mirror m = mirrors.get(d.seqId());
            if (m == null) {
                throw new IllegalStateException("diff for sequence " + d.seqId() + ", which the worker does not know");
            }
            m.tokens.addAll(d.newTokens());
            m.blocks.addAll(d.newBlocks());
            rows[r] = m;
            seqIds[r] = d.seqId();
            computed[r] = d.computedTokens();
            scheduled[r] = d.scheduled();
            samples[r++] = d.samples();
        }
        for (NewSequence a : out.added()) {
            Mirror m = new Mirror();
            m.tokens.addAll(a.tokens());
            m.blocks.addAll(a.blocks());
            if (mirrors.put(a.seqId(), m) != null) {
                throw new IllegalStateException("sequence " + a.seqId() + " sent in full twice");
            }
            rows[r] = m;
            seqIds[r] = a.seqId();
            computed[r] = a.computedTokens();
            scheduled[r] = a.scheduled();
            samples[r++] = a.samples();
        }
        return layOut(rows, seqIds, computed, scheduled, samples);
    }

    /** The mirror's block table of a sequence, for tests. */
    int[] blockTable(long seqId) {
        return mirrors.get(seqId).blocks.toArray();
    }

    /** Sequences the mirror holds, for tests. */
    int size() {
        return mirrors.size();
    }

    private StepBatch layOut(Mirror[] rows, long[] seqIds, int[] computed, int[] scheduled, boolean[] samples) {
        int numSeqs = rows.length;
        int numTokens = 0;
        int numOutputs = 0;
        int width = minBlockTableWidth;
        for (int i = 0; i < numSeqs; i++) {
            numTokens += scheduled[i];
            numOutputs += samples[i] ? 1 : 0;
            width = Math.max(width, rows[i].blocks.size);
        }
        long[] tokens = new long[numTokens];
        long[] positions = new long[numTokens];
        long[] slots = new long[numTokens];
        int[] tables = new int[numSeqs * width];   // zero-filled: the null block pads every row
        int[] contextLens = new int[numSeqs];
        int[] queryStarts = new int[numSeqs + 1];
        long[] logitsIndices = new long[numOutputs];
        long[] outputSeqIds = new long[numOutputs];
        int t = 0;
        int o = 0;
        for (int i = 0; i < numSeqs; i++) {
            Mirror m = rows[i];
            System.arraycopy(m.blocks.data, 0, tables, i * width, m.blocks.size);
            for (int p = computed[i]; p < computed[i] + scheduled[i]; p++, t++) {
                tokens[t] = m.tokens.data[p];
                positions[t] = p;
                slots[t] = (long) m.blocks.data[p / blockSize] * blockSize + p % blockSize;
            }
            contextLens[i] = computed[i] + scheduled[i];
            queryStarts[i + 1] = t;
            if (samples[i]) {
                logitsIndices[o] = t - 1;
                outputSeqIds[o++] = seqIds[i];
            }
        }
        return new StepBatch(tokens, positions, slots, tables, width, contextLens, queryStarts, logitsIndices,
                seqIds, outputSeqIds);
    }

    private static final class Mirror {
        final IntArray tokens = new IntArray();
        final IntArray blocks = new IntArray();
    }

    /** A growable int array. */
    private static final class IntArray {
        int[] data = new int[16];
        int size;

        void addAll(int[] more) {
            if (size + more.length > data.length) {
                data = Arrays.copyOf(data, Math.max(data.length * 2, size + more.length));
            }
            System.arraycopy(more, 0, data, size, more.length);
            size += more.length;
        }

        int[] toArray() {
            return Arrays.copyOf(data, size);
        }
    }
}
