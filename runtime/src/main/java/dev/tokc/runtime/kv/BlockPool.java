package dev.tokc.runtime.kv;

import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The physical KV blocks: reference counts, the free queue in eviction order, and the prefix cache
 * (block hash to block id). The layer under {@link KvBlockManager}, which knows sequences; the pool knows only
 * blocks.
 *
 * <p>Contract:
 * <ul>
 *   <li>Block 0 is the null block: never handed out, never freed, never in the queue. Block tables are padded
 *       with it, so a kernel that reads past a sequence's last block reads a valid (garbage) block.</li>
 *   <li>A block is free iff its reference count is 0, and then it is in the free queue. A free block may still
 *       hold a cached prefix: until it is handed out again, a hash hit revives it ({@link #touch}).</li>
 *   <li>Handing out a cached free block evicts its hash from the cache (counted in {@link #evictions()}).</li>
 *   <li>Freed blocks with a hash go to the back of the queue (evicted last); freed blocks without one go to the
 *       front, since nothing can ever hit them. (vLLM appends both to the back; keeping useless blocks in line
 *       ahead of reusable ones only shortens cache lifetimes.)</li>
 * </ul>
 * Not thread-safe: one scheduler thread owns it.
 */
public final class BlockPool {

    /** The reserved block id that fills unused block-table entries. */
    public static final int NULL_BLOCK = 0;

    private final int numBlocks;
    private final int[] refCount;
    private final BlockHash[] hashOf;
    private final FreeBlockQueue free;
    private final Map<BlockHash, Integer> cached = new HashMap<>();
    private long evictions;

    /** @param numBlocks total blocks including the null block; at least 2 */
    public BlockPool(int numBlocks) {
        if (numBlocks < 2) {
            throw new IllegalArgumentException("numBlocks must be >= 2 (block 0 is the reserved null block), got " + numBlocks);
        }
        this.numBlocks = numBlocks;
        this.refCount = new int[numBlocks];
        this.hashOf = new BlockHash[numBlocks];
        this.free = new FreeBlockQueue(numBlocks);
        for (int b = 1; b < numBlocks; b++) {
            free.pushBack(b);
        }
    }

    /** Total blocks, including the null block. */
    public int numBlocks() {
        return numBlocks;
    }

    public int numFree() {
        return free.size();
    }

    public int refCount(int block) {
        return refCount[block];
    }

    public long evictions() {
        return evictions;
    }

    public int numCached() {
        return cached.size();
    }

    /** Hands out {@code n} blocks from the front of the queue, each with reference count 1. */
    int[] allocate(int n) {
        if (n > free.size()) {
            throw new IllegalStateException("asked for " + n + " blocks with " + free.size() + " free; callers check first");
        }
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int b = free.popFront();
            if (hashOf[b] != null) {
                cached.remove(hashOf[b]);
                hashOf[b] = null;
                evictions++;
            }
            refCount[b] = 1;
            out[i] = b;
        }
        return out;
    }

    /** Takes one more reference to {@code block}, reviving it from the free queue if it was free. */
    void touch(int block) {
        checkReal(block);
        if (refCount[block] == 0) {
            free.remove(block);
        }
        refCount[block]++;
    }

    /** Drops one reference; at zero the block joins the free queue (see the class contract for where). */
    void free(int block) {
        checkReal(block);
        if (refCount[block] <= 0) {
            throw new IllegalStateException("block " + block + " freed more often than referenced");
        }
        if (--refCount[block] == 0) {
            if (hashOf[block] != null) {
                free.pushBack(block);
            } else {
                free.pushFront(block);
            }
        }
    }

    OptionalInt lookup(BlockHash hash) {
        Integer b = cached.get(hash);
        return b == null ? OptionalInt.empty() : OptionalInt.of(b);
    }

    /**
     * Registers {@code block}, now full, under {@code hash}. Returns false (and registers nothing) when another
     * block already holds that content: the first copy stays the one that hits, the duplicate stays unhashed.
     */
    boolean cache(int block, BlockHash hash) {
        checkReal(block);
        if (hashOf[block] != null) {
            return hashOf[block].equals(hash);
        }
        if (cached.putIfAbsent(hash, block) != null) {
            return false;
        }
        hashOf[block] = hash;
        return true;
    }

    boolean isCached(int block) {
        return hashOf[block] != null;
    }

    /** Queue order, front (next evicted) first. */
    int[] freeQueue() {
        return free.toArray();
    }

    /** Verifies the pool's own invariants; see {@link KvBlockManager#checkInvariants()}. */
    void checkInvariants() {
        check(refCount[NULL_BLOCK] == 0 && !free.contains(NULL_BLOCK) && hashOf[NULL_BLOCK] == null, "null block was used");
        int zero = 0;
        for (int b = 1; b < numBlocks; b++) {
            check(refCount[b] >= 0, "negative refcount on block " + b);
            check((refCount[b] == 0) == free.contains(b), "block " + b + " refcount " + refCount[b] + " vs queued " + free.contains(b));
            zero += refCount[b] == 0 ? 1 : 0;
            if (hashOf[b] != null) {
                check(Integer.valueOf(b).equals(cached.get(hashOf[b])), "block " + b + " hash not in the cache map");
            }
        }
        check(zero == free.size(), "free queue size " + free.size() + " but " + zero + " blocks unreferenced");
        cached.forEach((h, b) -> check(h.equals(hashOf[b]), "cache map entry for block " + b + " is stale"));
    }

    private void checkReal(int block) {
        if (block <= NULL_BLOCK || block >= numBlocks) {
            throw new IllegalArgumentException("block id " + block + " out of range [1, " + numBlocks + ")");
        }
    }

    static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalStateException("KV block invariant broken: " + message);
        }
    }
}
