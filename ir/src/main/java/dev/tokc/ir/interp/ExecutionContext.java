package dev.tokc.ir.interp;

/**
 * The state a graph run may touch beyond its inputs: the paged KV cache read and written by {@code kv_write} and
 * {@code paged_attention}, and the channel used by {@code send}/{@code recv}. Both are optional; an op that needs
 * one that is absent fails with a message saying so. Immutable; the cache itself is mutable state shared by runs.
 */
public record ExecutionContext(ReferenceKvCache kvCache, PipelineChannel channel) {
    /** No cache, no channel: enough for every graph without target-level state. */
    public static final ExecutionContext EMPTY = new ExecutionContext(null, null);

    public static ExecutionContext withKvCache(ReferenceKvCache cache) {
        return new ExecutionContext(cache, null);
    }

    public ExecutionContext withChannel(PipelineChannel c) {
        return new ExecutionContext(kvCache, c);
    }
}
