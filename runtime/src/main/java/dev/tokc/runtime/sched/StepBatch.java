package dev.tokc.runtime.sched;

import java.util.Arrays;

/**
 * The ragged inputs of one step, exactly the step program's parameters (see {@link StepExecutor}), plus the
 * sequence ids the engine needs to route logits back. Built by {@link StepBatchBuilder}; the arrays belong to the
 * batch and nobody writes them after it is built (they are not copied, for speed).
 *
 * <pre>
 *   seq 0: computes positions 5..7 (3 tokens), seq 1: position 12 (1 token), block size 4
 *   tokens         [a b c | d]
 *   positions      [5 6 7 | 12]
 *   slots          [T0[1]*4+1, T0[1]*4+2, T0[1]*4+3 | T1[3]*4+0]      slot = block * blockSize + offset
 *   block_tables   [[T0[0] T0[1] 0 0], [T1[0] T1[1] T1[2] T1[3]]]      padded with the null block 0
 *   context_lens   [8, 13]                                             cache length after this step's writes
 *   query_starts   [0, 3, 4]
 *   logits_indices [2, 3]                                              last token of each sampling sequence
 * </pre>
 *
 * @param tokens        token ids, {@code numTokens()} of them, sequence after sequence
 * @param positions     each token's position in its sequence
 * @param slots         each token's KV slot
 * @param blockTables   {@code numSeqs() x maxBlocks} row-major
 * @param maxBlocks     width of a block-table row
 * @param contextLens   per sequence, tokens in the cache after this step's writes
 * @param queryStarts   {@code numSeqs() + 1} offsets into {@code tokens}
 * @param logitsIndices token indices whose logits the step returns, ascending
 * @param seqIds        per sequence, its id
 * @param outputSeqIds  per logits row, the sequence it belongs to
 */
public record StepBatch(long[] tokens, long[] positions, long[] slots, int[] blockTables, int maxBlocks,
                        int[] contextLens, int[] queryStarts, long[] logitsIndices, long[] seqIds,
                        long[] outputSeqIds) {

    public int numTokens() {
        return tokens.length;
    }

    public int numSeqs() {
        return seqIds.length;
    }

    public int numOutputs() {
        return logitsIndices.length;
    }

    /** Row {@code seq} of the block table (a copy). */
    public int[] blockTableRow(int seq) {
        return Arrays.copyOfRange(blockTables, seq * maxBlocks, (seq + 1) * maxBlocks);
    }

    @Override
    public String toString() {
        return "StepBatch[seqs=" + numSeqs() + ", tokens=" + numTokens() + ", outputs=" + numOutputs()
                + ", maxBlocks=" + maxBlocks + "]";
    }
}
