package dev.tokc.runtime.kv;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Turns "sequence S needs N more token slots" into KV blocks, with prefix caching: the runtime's half of the
 * paged KV cache (the IR only knows the cache's shape; block tables never leave the runtime).
 *
 * <p>Token slots of one sequence, against what a call to {@link #allocate} does:
 * <pre>
 *   | cached prefix | allocated earlier |  numNewTokens  |
 *   |<- hit blocks ->|                  |<- new blocks ->|
 *   block table: [ 7 | 3 | 12 | 40 | 41 ]   (then NULL_BLOCK padding, see {@link #copyBlockTable})
 *                 ^^^^^ shared,  refcount > 1 when another sequence holds the same prefix
 * </pre>
 * Contract:
 * <ul>
 *   <li>{@link #allocate} is all or nothing: {@link Optional#empty()} means no room and no state changed, so the
 *       scheduler can preempt a sequence and retry.</li>
 *   <li>A sequence's first allocation attaches the longest cached prefix of its known tokens, in whole blocks,
 *       keeping at least one token to compute (its logits are needed); {@link Allocation#cachedTokens()} says how
 *       many tokens the caller may skip. {@link #cachedPrefixTokens} is the same lookup without side effects.</li>
 *   <li>A block is registered in the prefix cache once it is fully covered by allocated slots and known tokens.
 *       Like vLLM, this assumes the caller computes the KV of the slots it allocated in the same step.</li>
 *   <li>{@link #free} releases a finished, cancelled or preempted sequence: tail blocks first, so that among
 *       its cached blocks the prefix (most shareable) is evicted last.</li>
 * </ul>
 * Not thread-safe: the scheduler thread owns it.
 */
public final class KvBlockManager {

    /** What one successful {@link #allocate} did. {@code newBlocks} is a fresh array the caller may keep. */
    public record Allocation(int cachedTokens, int[] newBlocks) {}

    /** After {@link #fork}: copy the KV of block {@code src} into {@code dst} before the child appends. */
    public record BlockCopy(int src, int dst) {}

    private final BlockPool pool;
    private final int blockSize;
    private final boolean prefixCaching;
    private final Map<Long, Seq> seqs = new HashMap<>();
    private final MessageDigest digest = BlockHash.newDigest();
    private long queriedTokens;
    private long hitTokens;

    /**
     * @param numBlocks     blocks in the cache including the null block (so {@code numBlocks - 1} are usable)
     * @param blockSize     tokens per block
     * @param prefixCaching whether full blocks are hashed and shared between sequences
     */
    public KvBlockManager(int numBlocks, int blockSize, boolean prefixCaching) {
        if (blockSize < 1) {
            throw new IllegalArgumentException("blockSize must be >= 1, got " + blockSize);
        }
        this.pool = new BlockPool(numBlocks);
        this.blockSize = blockSize;
        this.prefixCaching = prefixCaching;
    }

    public int blockSize() {
        return blockSize;
    }

    /** Starts tracking a sequence whose known tokens are {@code promptTokens}; it holds no blocks yet. */
    public void addSequence(long seqId, int[] promptTokens) {
        if (seqs.containsKey(seqId)) {
            throw new IllegalStateException("sequence " + seqId + " is already tracked");
        }
        Seq s = new Seq();
        s.appendTokens(promptTokens);
        seqs.put(seqId, s);
    }

    public boolean contains(long seqId) {
        return seqs.containsKey(seqId);
    }

    /** Records tokens that became known (sampled); may complete blocks for the prefix cache. */
    public void appendTokens(long seqId, int... tokens) {
        Seq s = seq(seqId);
        s.appendTokens(tokens);
        registerFullBlocks(s);
    }

    /** How many leading tokens the first allocation would take from the prefix cache now; changes nothing. */
    public int cachedPrefixTokens(long seqId) {
        Seq s = seq(seqId);
        return s.allocatedOnce ? 0 : prefixHits(s).length * blockSize;
    }

    /**
     * Reserves slots for the next {@code numNewTokens} tokens of the sequence (after the cached prefix, on the
     * first call), or returns empty, changing nothing, when the free blocks do not suffice.
     */
    public Optional<Allocation> allocate(long seqId, int numNewTokens) {
        if (numNewTokens < 0) {
            throw new IllegalArgumentException("numNewTokens must be >= 0, got " + numNewTokens);
        }
        Seq s = seq(seqId);
        boolean first = !s.allocatedOnce;
        int[] hits = first ? prefixHits(s) : new int[0];
        int slotsAfter = (first ? hits.length * blockSize : s.numSlots) + numNewTokens;
        int needNew = ceilDiv(slotsAfter, blockSize) - s.numBlocks - hits.length;
        // A hit on a free cached block takes that block out of the free queue too.
        int revived = 0;
        for (int b : hits) {
            revived += pool.refCount(b) == 0 ? 1 : 0;
        }
        if (needNew + revived > pool.numFree()) {
            return Optional.empty();
        }
        for (int b : hits) {
            pool.touch(b);
            s.addBlock(b);
        }
        int[] fresh = pool.allocate(Math.max(0, needNew));
        for (int b : fresh) {
            s.addBlock(b);
        }
        s.numSlots = slotsAfter;
        s.allocatedOnce = true;
        if (first) {
            queriedTokens += s.numTokens;
            hitTokens += (long) hits.length * blockSize;
        }
        registerFullBlocks(s);
        return Optional.of(new Allocation(hits.length * blockSize, fresh));
    }

    /**
     * Makes {@code childId} a copy of {@code parentId} (parallel sampling, beam search): full blocks are shared
     * by reference count; a partly filled last block is copied, since both would write into it. Returns the copy
     * the caller must perform, or empty (nothing changed) when no block is free for it.
     */
    public Optional<List<BlockCopy>> fork(long parentId, long childId) {
        Seq p = seq(parentId);
        if (seqs.containsKey(childId)) {
            throw new IllegalStateException("sequence " + childId + " is already tracked");
        }
        boolean partialTail = p.numSlots % blockSize != 0;
        if (partialTail && pool.numFree() < 1) {
            return Optional.empty();
        }
        Seq c = p.copyWithoutBlocks();
        int shared = partialTail ? p.numBlocks - 1 : p.numBlocks;
        for (int i = 0; i < shared; i++) {
            pool.touch(p.table[i]);
            c.addBlock(p.table[i]);
        }
        List<BlockCopy> copies = new ArrayList<>();
        if (partialTail) {
            int dst = pool.allocate(1)[0];
            c.addBlock(dst);
            copies.add(new BlockCopy(p.table[p.numBlocks - 1], dst));
        }
        seqs.put(childId, c);
        return Optional.of(List.copyOf(copies));
    }

    /**
     * Releases all blocks of a finished, cancelled or preempted sequence and forgets it. A preempted sequence
     * comes back through {@link #addSequence} with all its tokens; its freed blocks, if not yet evicted, are then
     * prefix hits, so recomputation is partly free.
     */
    public void free(long seqId) {
        Seq s = seqs.remove(seqId);
        if (s == null) {
            throw new IllegalStateException("sequence " + seqId + " is not tracked");
        }
        for (int i = s.numBlocks - 1; i >= 0; i--) {
            pool.free(s.table[i]);
        }
    }

    /** The sequence's block ids, one per {@link #blockSize()} slots (a copy). */
    public int[] blockTable(long seqId) {
        Seq s = seq(seqId);
        return Arrays.copyOf(s.table, s.numBlocks);
    }

    /**
     * Writes the block table into a row of a batch table that kernels read: {@code width} entries at
     * {@code offset}, padded with {@link BlockPool#NULL_BLOCK}.
     */
    public void copyBlockTable(long seqId, int[] dst, int offset, int width) {
        Seq s = seq(seqId);
        if (s.numBlocks > width) {
            throw new IllegalArgumentException("sequence " + seqId + " has " + s.numBlocks + " blocks, row width is " + width);
        }
        System.arraycopy(s.table, 0, dst, offset, s.numBlocks);
        Arrays.fill(dst, offset + s.numBlocks, offset + width, BlockPool.NULL_BLOCK);
    }

    /** Token slots allocated to the sequence (the cached prefix included). */
    public int numSlots(long seqId) {
        return seq(seqId).numSlots;
    }

    public KvCacheStats stats() {
        int total = pool.numBlocks() - 1;
        return new KvCacheStats(total, total - pool.numFree(), pool.numFree(), pool.numCached(),
                queriedTokens, hitTokens, pool.evictions());
    }

    /** The pool, for inspection in tests and metrics. */
    BlockPool pool() {
        return pool;
    }

    /**
     * Checks every invariant that ties sequences to blocks: each block's reference count equals the number of
     * block tables that hold it, the free queue holds exactly the unreferenced blocks, and tables cover the slots.
     * For tests; O(blocks + table entries).
     */
    void checkInvariants() {
        pool.checkInvariants();
        int[] refs = new int[pool.numBlocks()];
        for (Map.Entry<Long, Seq> e : seqs.entrySet()) {
            Seq s = e.getValue();
            BlockPool.check(s.numBlocks == ceilDiv(s.numSlots, blockSize), "sequence " + e.getKey() + " has "
                    + s.numBlocks + " blocks for " + s.numSlots + " slots");
            for (int i = 0; i < s.numBlocks; i++) {
                refs[s.table[i]]++;
            }
        }
        for (int b = 1; b < refs.length; b++) {
            BlockPool.check(refs[b] == pool.refCount(b), "block " + b + " is in " + refs[b] + " tables but has refcount " + pool.refCount(b));
        }
    }

    /** Blocks of the longest cached prefix of s's known tokens, leaving at least one token uncached. */
    private int[] prefixHits(Seq s) {
        if (!prefixCaching) {
            return new int[0];
        }
        int maxBlocks = Math.max(0, (s.numTokens - 1) / blockSize);
        s.hashUpTo(maxBlocks, digest, blockSize);
        int[] hits = new int[maxBlocks];
        int n = 0;
        while (n < maxBlocks) {
            OptionalInt b = pool.lookup(s.hashes.get(n));
            if (b.isEmpty()) {
                break;
            }
            hits[n++] = b.getAsInt();
        }
        return Arrays.copyOf(hits, n);
    }

    private void registerFullBlocks(Seq s) {
        if (!prefixCaching) {
            return;
        }
        int full = Math.min(s.numSlots, s.numTokens) / blockSize;
        if (full <= s.numRegistered) {
            return;
        }
        s.hashUpTo(full, digest, blockSize);
        for (int i = s.numRegistered; i < full; i++) {
            pool.cache(s.table[i], s.hashes.get(i));
        }
        s.numRegistered = full;
    }

    private Seq seq(long seqId) {
        Seq s = seqs.get(seqId);
        if (s == null) {
            throw new IllegalStateException("sequence " + seqId + " is not tracked");
        }
        return s;
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    /** Per-sequence state: known tokens, block table, and the hash chain of its full blocks. */
    private static final class Seq {
        int[] tokens = new int[16];
        int numTokens;
        int[] table = new int[4];
        int numBlocks;
        int numSlots;
        /** Hashes of the first hashes.size() full token blocks (a chain, so computed in order). */
        final List<BlockHash> hashes = new ArrayList<>();
        /** Leading blocks already offered to the prefix cache. */
        int numRegistered;
        /** The prefix lookup happens at the first allocation only. */
        boolean allocatedOnce;

        void appendTokens(int[] more) {
            if (numTokens + more.length > tokens.length) {
                tokens = Arrays.copyOf(tokens, Math.max(tokens.length * 2, numTokens + more.length));
            }
            System.arraycopy(more, 0, tokens, numTokens, more.length);
            numTokens += more.length;
        }

        void addBlock(int b) {
            if (numBlocks == table.length) {
                table = Arrays.copyOf(table, table.length * 2);
            }
            table[numBlocks++] = b;
        }

        void hashUpTo(int blocks, MessageDigest digest, int blockSize) {
            while (hashes.size() < blocks) {
                int i = hashes.size();
                BlockHash parent = i == 0 ? BlockHash.ROOT : hashes.get(i - 1);
                hashes.add(BlockHash.of(digest, parent, tokens, i * blockSize, blockSize));
            }
        }

        Seq copyWithoutBlocks() {
            Seq c = new Seq();
            c.tokens = Arrays.copyOf(tokens, tokens.length);
            c.numTokens = numTokens;
            c.numSlots = numSlots;
            c.hashes.addAll(hashes);
            c.numRegistered = numRegistered;
            c.allocatedOnce = allocatedOnce;
            c.table = new int[Math.max(4, numBlocks)];
            return c;
        }
    }
}
