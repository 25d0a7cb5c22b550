package dev.tokc.runtime.sched;

import java.util.List;

/**
 * The scheduler's budgets and its admission features.
 *
 * @param maxNumBatchedTokens tokens computed per step at most, over all sequences ({@code --max-num-batched-tokens})
 * @param maxNumSeqs          running sequences at most ({@code --max-num-seqs})
 * @param filters             admission filters, applied in order to the head of the waiting queue; see
 *                            {@link AdmissionFilters}
 */
public record SchedulerConfig(int maxNumBatchedTokens, int maxNumSeqs, List<AdmissionFilter> filters) {

    public SchedulerConfig {
        if (maxNumBatchedTokens < 1) {
            throw new IllegalArgumentException("maxNumBatchedTokens must be >= 1, got " + maxNumBatchedTokens);
        }
        if (maxNumSeqs < 1) {
            throw new IllegalArgumentException("maxNumSeqs must be >= 1, got " + maxNumSeqs);
        }
        filters = List.copyOf(filters);
    }

    /** Continuous batching with chunked prefill and no extra admission filters. */
    public static SchedulerConfig of(int maxNumBatchedTokens, int maxNumSeqs) {
        return new SchedulerConfig(maxNumBatchedTokens, maxNumSeqs, List.of());
    }

    /** This config with one more admission filter after the existing ones. */
    public SchedulerConfig withFilter(AdmissionFilter filter) {
        List<AdmissionFilter> more = new java.util.ArrayList<>(filters);
        more.add(filter);
        return new SchedulerConfig(maxNumBatchedTokens, maxNumSeqs, more);
    }
}
