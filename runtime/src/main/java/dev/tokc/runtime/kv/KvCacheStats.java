package dev.tokc.runtime.kv;

/**
 * A snapshot of the block manager's counters, for {@code /metrics} and tests.
 *
 * @param totalBlocks   usable blocks (the null block excluded)
 * @param usedBlocks    blocks referenced by at least one sequence
 * @param freeBlocks    blocks in the free queue, cached or not
 * @param cachedBlocks  blocks holding a registered prefix hash (in use or free)
 * @param queriedTokens prompt tokens looked up in the prefix cache (once per sequence, at its first allocation)
 * @param hitTokens     of those, tokens whose KV came from the cache
 * @param evictions     cached blocks handed out again, losing their prefix
 */
public record KvCacheStats(int totalBlocks, int usedBlocks, int freeBlocks, int cachedBlocks,
                           long queriedTokens, long hitTokens, long evictions) {

    /** hitTokens / queriedTokens, 0 before any query. */
    public double hitRate() {
        return queriedTokens == 0 ? 0.0 : (double) hitTokens / queriedTokens;
    }
}
