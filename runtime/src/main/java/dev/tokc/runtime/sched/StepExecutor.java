package dev.tokc.runtime.sched;

/**
 * What the scheduler needs from a model executor: run one step of the step program over a ragged batch.
 *
 * <pre>
 *   &#64;step(%tokens: i64[tokens], %positions: i64[tokens], %slots: i64[tokens],
 *         %block_tables: i32[seqs, max_blocks], %context_lens: i32[seqs], %query_starts: i32[seqs+1],
 *         %logits_indices: i64[outputs]) -&gt; f32[outputs, vocab]
 * </pre>
 *
 * The executor writes the KV of every token in the batch to its slot, then attends each token over its
 * sequence's cache through the block table, and returns the logits of the tokens in {@code logits_indices}.
 * Implementations are called from the loop thread only and may keep the batch's arrays for the call's duration.
 */
public interface StepExecutor {

    /** The length of each logits row. */
    int vocabSize();

    /**
     * Runs one step.
     *
     * @return {@code batch.numOutputs()} rows of {@link #vocabSize()} logits, row k for
     *         {@code batch.logitsIndices()[k]}
     */
    float[][] step(StepBatch batch);
}
