package dev.tokc.runtime.sched;

import java.util.List;

/**
 * What one {@link Scheduler#schedule()} decided, immutable. Sequences new to the worker side (first admission, or
 * readmission after a preemption) come in full; sequences it already knows come as diffs, so a long prompt
 * crosses to the worker once.
 *
 * <pre>
 *   NewSequence:     tokens [t0 ............. tK)   blocks [b0 b1 b2]   computed = cached prefix
 *   RunningSequence: newTokens [tK tK+1)            newBlocks [b3]       (appended since last sent)
 *   both:            this step computes positions [computed, computed + scheduled)
 * </pre>
 *
 * The batch lists running sequences first, then new ones, in scheduling order.
 *
 * @param stepId      counts calls to {@link Scheduler#schedule()}
 * @param running     sequences the worker knows, as diffs
 * @param added       sequences sent in full
 * @param preempted   sequences preempted in this step: forget them (they come back as {@link NewSequence})
 * @param finished    sequences that finished or were cancelled since the previous output: forget them
 */
public record SchedulerOutput(long stepId, List<RunningSequence> running, List<NewSequence> added,
                              List<Long> preempted, List<Long> finished) {

    public SchedulerOutput {
        running = List.copyOf(running);
        added = List.copyOf(added);
        preempted = List.copyOf(preempted);
        finished = List.copyOf(finished);
    }

    /**
     * A sequence sent in full.
     *
     * @param tokens         every known token (prompt, plus output sampled before a preemption)
     * @param blocks         its whole block table
     * @param computedTokens tokens whose KV is already in the cache (the prefix-cache hit)
     * @param scheduled      tokens to compute in this step
     * @param samples        whether this step reaches its last known token, so its logits are sampled
     */
    public record NewSequence(long seqId, int[] tokens, int[] blocks, int computedTokens, int scheduled,
                              boolean samples) {
        public NewSequence {
            tokens = tokens.clone();
            blocks = blocks.clone();
        }

        @Override
        public int[] tokens() {
            return tokens.clone();
        }

        @Override
        public int[] blocks() {
            return blocks.clone();
        }

        int tokenCount() {
            return tokens.length;
        }
    }

    /**
     * A diff against what the worker side already holds for the sequence.
     *
     * @param newTokens      tokens that became known since it was last sent (sampled outputs)
     * @param newBlocks      blocks appended to its table in this step
     * @param computedTokens tokens whose KV is in the cache before this step
     * @param scheduled      tokens to compute in this step
     * @param samples        whether this step reaches its last known token
     */
    public record RunningSequence(long seqId, int[] newTokens, int[] newBlocks, int computedTokens, int scheduled,
                                  boolean samples) {
        public RunningSequence {
            newTokens = newTokens.clone();
            newBlocks = newBlocks.clone();
        }

        @Override
        public int[] newTokens() {
            return newTokens.clone();
        }

        @Override
        public int[] newBlocks() {
            return newBlocks.clone();
        }
    }

    /** Tokens computed in this step, over all sequences. */
    public int totalScheduled() {
        int n = 0;
        for (RunningSequence r : running) {
            n += r.scheduled();
        }
        for (NewSequence a : added) {
            n += a.scheduled();
        }
        return n;
    }

    /** Whether the step computes nothing (the executor need not run). */
    public boolean isEmpty() {
        return running.isEmpty() && added.isEmpty();
    }
}
