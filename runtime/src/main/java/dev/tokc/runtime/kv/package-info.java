/**
 * The paged KV cache's bookkeeping, vLLM v1 style: {@link dev.tokc.runtime.kv.BlockPool} owns physical blocks
 * (null block, reference counts, free queue in eviction order, prefix-hash cache) and
 * {@link dev.tokc.runtime.kv.KvBlockManager} maps sequences to blocks (allocate-or-empty, free, fork, block
 * tables for the attention kernels, counters). No KV data lives here, only block ids.
 */
package dev.tokc.runtime.kv;
