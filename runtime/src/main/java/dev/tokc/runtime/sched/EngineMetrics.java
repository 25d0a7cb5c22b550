package dev.tokc.runtime.sched;

import dev.tokc.runtime.kv.KvCacheStats;

/**
 * The serving counters {@code /metrics} exports, as one consistent snapshot taken by
 * {@link GenerationLoop#metrics()}. Counters count since the loop started; gauges are values now.
 *
 * @param queueDepth         requests submitted and not yet admitted (never ran)
 * @param waitingSequences   sequences in the waiting queue, preempted ones included
 * @param runningSequences   sequences holding KV blocks
 * @param kvBlocksUsed       KV blocks referenced by a sequence
 * @param kvBlocksFree       KV blocks free (cached prefixes included)
 * @param preemptions        sequences preempted (counter)
 * @param prefixCacheHitRate prompt tokens served from the prefix cache / prompt tokens looked up
 * @param prefillTokens      prompt tokens computed (counter)
 * @param decodeTokens       output tokens computed (counter)
 * @param recomputedTokens   tokens computed again after preemptions (counter)
 * @param steps              model steps run (counter)
 * @param requestsFinished   requests that ended, cancelled ones included (counter)
 * @param requestsCancelled  of those, cancelled (counter)
 * @param generatedTokens    tokens sampled and streamed (counter)
 * @param kv                 the block manager's own counters
 * @param ttft               submission to first token, seconds
 * @param interTokenLatency  between consecutive tokens of one request, seconds
 * @param e2eLatency         submission to the last token, seconds
 */
public record EngineMetrics(int queueDepth, int waitingSequences, int runningSequences, int kvBlocksUsed,
                            int kvBlocksFree, long preemptions, double prefixCacheHitRate, long prefillTokens,
                            long decodeTokens, long recomputedTokens, long steps, long requestsFinished,
                            long requestsCancelled, long generatedTokens, KvCacheStats kv,
                            LatencyHistogram.Snapshot ttft, LatencyHistogram.Snapshot interTokenLatency,
                            LatencyHistogram.Snapshot e2eLatency) {}
