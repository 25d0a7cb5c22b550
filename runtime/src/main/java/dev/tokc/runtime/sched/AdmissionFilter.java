package dev.tokc.runtime.sched;

/**
 * One admission feature: decides how many tokens the sequence at the head of the waiting queue may compute in
 * the step being scheduled. Filters run in order; each sees the previous one's answer as {@code proposed}.
 * Answering 0 keeps the sequence waiting, and (the queue is FIFO) everything behind it too, for this step.
 * Filters only narrow: an answer above {@code proposed} is an error. They run on the scheduler thread and must
 * not block.
 */
@FunctionalInterface
public interface AdmissionFilter {

    /**
     * @param candidate the head of the waiting queue
     * @param step      the step being scheduled, as it stands before this admission
     * @param proposed  tokens the budget (and earlier filters) allow, {@code >= 1}
     * @return tokens to schedule for the candidate, in {@code [0, proposed]}
     */
    int admit(Candidate candidate, StepState step, int proposed);

    /**
     * A waiting sequence.
     *
     * @param seqId        the sequence
     * @param knownTokens  prompt plus tokens sampled before a preemption
     * @param cachedTokens leading tokens the prefix cache would supply
     * @param arrivalNanos when it was submitted, on the loop's clock
     * @param preemptions  how often it was preempted so far
     */
    record Candidate(long seqId, int knownTokens, int cachedTokens, long arrivalNanos, int preemptions) {
        /** Tokens still to compute before the sequence can sample. */
        public int remainingTokens() {
            return knownTokens - cachedTokens;
        }
    }

    /**
     * The step so far.
     *
     * @param runningBeforeAdmission sequences that were running when admission started (they may hold tokens)
     * @param admittedThisStep       sequences admitted earlier in this step
     * @param waiting                sequences in the waiting queue, the candidate included
     * @param budgetLeft             token budget left
     * @param freeBlocks             free KV blocks now
     * @param totalBlocks            usable KV blocks
     * @param blockSize              tokens per block
     */
    record StepState(int runningBeforeAdmission, int admittedThisStep, int waiting, int budgetLeft,
                     int freeBlocks, int totalBlocks, int blockSize) {}
}
