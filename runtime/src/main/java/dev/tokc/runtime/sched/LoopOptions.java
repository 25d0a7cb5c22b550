package dev.tokc.runtime.sched;

import java.time.Duration;
import java.util.Optional;
import java.util.Set;

/**
 * How a {@link GenerationLoop} runs.
 *
 * @param scheduler          budgets and admission filters
 * @param eosTokenIds        the model's end-of-sequence ids
 * @param maxModelLen        prompt plus generated tokens at most per request
 * @param minBlockTableWidth block-table row width at least (see {@link StepBatchBuilder})
 * @param staticBatching     present for {@code --static-batching}: batches form, then run to completion
 */
public record LoopOptions(SchedulerConfig scheduler, Set<Integer> eosTokenIds, int maxModelLen,
                          int minBlockTableWidth, Optional<StaticBatching> staticBatching) {

    public LoopOptions {
        eosTokenIds = Set.copyOf(eosTokenIds);
        if (maxModelLen < 2) {
            throw new IllegalArgumentException("maxModelLen must be >= 2, got " + maxModelLen);
        }
    }

    /** Continuous batching under {@code scheduler}. */
    public static LoopOptions continuous(SchedulerConfig scheduler, Set<Integer> eosTokenIds, int maxModelLen) {
        return new LoopOptions(scheduler, eosTokenIds, maxModelLen, 0, Optional.empty());
    }

    /** These options in static-batching mode. */
    public LoopOptions withStaticBatching(int batchSize, Duration maxWait) {
        return new LoopOptions(scheduler, eosTokenIds, maxModelLen, minBlockTableWidth,
                Optional.of(new StaticBatching(batchSize, maxWait)));
    }

    /**
     * {@code --static-batching}: wait until {@code batchSize} requests queue (or the oldest waited
     * {@code maxWait}), run them together to completion, repeat.
     */
    public record StaticBatching(int batchSize, Duration maxWait) {}
}
