package dev.tokc.runtime.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.runtime.kv.KvBlockManager.Allocation;
import dev.tokc.runtime.kv.KvBlockManager.BlockCopy;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class KvBlockManagerTest {

    private static int[] tokens(int from, int count) {
        return IntStream.range(from, from + count).toArray();
    }

    @Test
    void allocatesWholeBlocksAndGrows() {
        KvBlockManager m = new KvBlockManager(9, 4, false);
        m.addSequence(1, tokens(0, 10));
        Allocation a = m.allocate(1, 10).orElseThrow();
        assertEquals(0, a.cachedTokens());
        assertArrayEquals(new int[] {1, 2, 3}, a.newBlocks());
        assertArrayEquals(new int[] {1, 2, 3}, m.blockTable(1));
        // Slots 10 and 11 fit in block 3; slot 12 needs a new block.
        assertEquals(0, m.allocate(1, 2).orElseThrow().newBlocks().length);
        assertArrayEquals(new int[] {4}, m.allocate(1, 1).orElseThrow().newBlocks());
        assertEquals(13, m.numSlots(1));
        KvCacheStats s = m.stats();
        assertEquals(8, s.totalBlocks());
        assertEquals(4, s.usedBlocks());
        assertEquals(4, s.freeBlocks());
        m.checkInvariants();
    }

    @Test
    void nullBlockIsNeverHandedOut() {
        KvBlockManager m = new KvBlockManager(4, 2, false);
        m.addSequence(1, tokens(0, 6));
        int[] table = m.allocate(1, 6).orElseThrow().newBlocks();
        assertArrayEquals(new int[] {1, 2, 3}, table);
        assertEquals(0, m.stats().freeBlocks());
        int[] row = new int[5];
        java.util.Arrays.fill(row, -1);
        m.copyBlockTable(1, row, 0, 5);
        assertArrayEquals(new int[] {1, 2, 3, BlockPool.NULL_BLOCK, BlockPool.NULL_BLOCK}, row);
        assertThrows(IllegalArgumentException.class, () -> m.copyBlockTable(1, new int[2], 0, 2));
        assertThrows(IllegalArgumentException.class, () -> new BlockPool(1));
    }

    @Test
    void outOfBlocksReturnsEmptyAndChangesNothing() {
        KvBlockManager m = new KvBlockManager(5, 4, true);
        m.addSequence(1, tokens(0, 8));
        m.allocate(1, 8).orElseThrow();
        m.addSequence(2, tokens(100, 12));
        KvCacheStats before = m.stats();
        assertEquals(Optional.empty(), m.allocate(2, 12));
        assertEquals(before, m.stats());
        assertEquals(0, m.blockTable(2).length);
        assertEquals(0, m.numSlots(2));
        m.checkInvariants();
        // Growing sequence 1 by one block still fits, then nothing does.
        assertTrue(m.allocate(1, 4).isPresent());
        assertTrue(m.allocate(1, 5).isEmpty());
        assertEquals(12, m.numSlots(1));
        // After sequence 1 finishes, sequence 2 fits (it evicts 1's cached blocks).
        m.free(1);
        assertTrue(m.allocate(2, 12).isPresent());
        m.checkInvariants();
    }

    @Test
    void freeReturnsBlocksAndRejectsUnknownSequences() {
        KvBlockManager m = new KvBlockManager(6, 4, false);
        m.addSequence(1, tokens(0, 9));
        m.allocate(1, 9).orElseThrow();
        m.free(1);
        assertEquals(5, m.stats().freeBlocks());
        assertFalse(m.contains(1));
        assertThrows(IllegalStateException.class, () -> m.free(1));
        assertThrows(IllegalStateException.class, () -> m.allocate(1, 1));
        m.addSequence(2, tokens(0, 1));
        assertThrows(IllegalStateException.class, () -> m.addSequence(2, tokens(0, 1)));
        assertThrows(IllegalArgumentException.class, () -> m.allocate(2, -1));
        m.checkInvariants();
    }

    @Test
    void prefixHitSharesBlocksAndCountsHitRate() {
        KvBlockManager m = new KvBlockManager(17, 4, true);
        int[] prompt = tokens(0, 10);          // blocks [0..3] [4..7] full, [8, 9] partial
        m.addSequence(1, prompt);
        Allocation first = m.allocate(1, 10).orElseThrow();
        assertEquals(0, first.cachedTokens());
        assertEquals(2, m.stats().cachedBlocks());

        m.addSequence(2, prompt);
        assertEquals(8, m.cachedPrefixTokens(2));
        Allocation second = m.allocate(2, 2).orElseThrow();
        assertEquals(8, second.cachedTokens());
        int[] t1 = m.blockTable(1);
        int[] t2 = m.blockTable(2);
        assertEquals(t1[0], t2[0]);
        assertEquals(t1[1], t2[1]);
        assertNotEquals(t1[2], t2[2]);
        assertEquals(2, m.pool().refCount(t1[0]));
        assertEquals(10, m.numSlots(2));
        assertEquals(20, m.stats().queriedTokens());
        assertEquals(8, m.stats().hitTokens());
        assertEquals(0.4, m.stats().hitRate(), 1e-12);
        m.checkInvariants();
    }

    @Test
    void aDifferentEarlierBlockMeansNoHitLater() {
        KvBlockManager m = new KvBlockManager(17, 4, true);
        int[] a = tokens(0, 12);
        int[] b = a.clone();
        b[1] = 999;                             // same second and third blocks, different first: a different prefix
        m.addSequence(1, a);
        m.allocate(1, 12).orElseThrow();
        m.addSequence(2, b);
        assertEquals(0, m.cachedPrefixTokens(2));
    }

    @Test
    void aFullyCachedPromptStillComputesItsLastToken() {
        KvBlockManager m = new KvBlockManager(17, 4, true);
        m.addSequence(1, tokens(0, 8));
        m.allocate(1, 8).orElseThrow();
        m.addSequence(2, tokens(0, 8));
        // Both blocks are cached, but the last token must be recomputed for its logits: only block 0 hits.
        assertEquals(4, m.cachedPrefixTokens(2));
    }

    @Test
    void freedCachedBlocksAreRevivedByAHit() {
        KvBlockManager m = new KvBlockManager(9, 4, true);
        m.addSequence(1, tokens(0, 9));
        int[] table = m.allocate(1, 9).orElseThrow().newBlocks();
        m.free(1);
        assertEquals(8, m.stats().freeBlocks());
        assertEquals(2, m.stats().cachedBlocks());
        m.addSequence(2, tokens(0, 9));
        Allocation a = m.allocate(2, 1).orElseThrow();
        assertEquals(8, a.cachedTokens());
        assertEquals(table[0], m.blockTable(2)[0]);
        assertEquals(table[1], m.blockTable(2)[1]);
        assertEquals(0, m.stats().evictions());
        m.checkInvariants();
    }

    @Test
    void revivingFreeBlocksCountsAgainstCapacity() {
        // 4 usable blocks; seq 1 leaves 2 cached free blocks; seq 2 would need them plus 3 new ones.
        KvBlockManager m = new KvBlockManager(5, 4, true);
        m.addSequence(1, tokens(0, 9));
        m.allocate(1, 9).orElseThrow();
        m.free(1);
        m.addSequence(2, tokens(0, 9));
        assertEquals(8, m.cachedPrefixTokens(2));
        KvCacheStats before = m.stats();
        assertTrue(m.allocate(2, 9).isEmpty());     // 8 cached + 9 new = 17 slots = 5 blocks > 4
        assertEquals(before, m.stats());
        assertTrue(m.allocate(2, 8).isPresent());  // 16 slots = 4 blocks, 2 of them revived
        m.checkInvariants();
    }

    @Test
    void evictionOrderUncachedFirstThenLeastRecentlyFreedTailFirst() {
        KvBlockManager m = new KvBlockManager(11, 2, true);
        m.addSequence(1, tokens(0, 5));           // blocks: [0,1] [2,3] full+cached, [4] partial
        int[] t1 = m.allocate(1, 5).orElseThrow().newBlocks();
        m.addSequence(2, tokens(50, 4));          // two full cached blocks
        int[] t2 = m.allocate(2, 4).orElseThrow().newBlocks();
        m.free(1);
        m.free(2);
        int[] queue = m.pool().freeQueue();
        // Front: seq 1's partial (uncached) block, ahead of the never-used blocks.
        assertEquals(t1[2], queue[0]);
        // Back: seq 1's cached blocks tail first, then seq 2's tail first; seq 2's prefix block is evicted last.
        int n = queue.length;
        assertArrayEquals(new int[] {t1[1], t1[0], t2[1], t2[0]}, java.util.Arrays.copyOfRange(queue, n - 4, n));

        // Allocating all but the last two free blocks evicts seq 1's cached blocks, and counts it.
        m.addSequence(3, tokens(900, 16));
        m.allocate(3, 2 * (n - 2)).orElseThrow();
        assertEquals(2, m.stats().evictions());
        m.addSequence(4, tokens(0, 5));
        assertEquals(0, m.cachedPrefixTokens(4));   // seq 1's prefix is gone
        m.addSequence(5, tokens(50, 5));
        assertEquals(4, m.cachedPrefixTokens(5));   // seq 2's survived
        m.checkInvariants();
    }

    @Test
    void decodeCompletesBlocksThatThenHit() {
        KvBlockManager m = new KvBlockManager(9, 4, true);
        m.addSequence(1, tokens(0, 3));
        m.allocate(1, 3).orElseThrow();
        assertEquals(0, m.stats().cachedBlocks());
        // Decode: sampled token 3 becomes known, its slot is allocated: block 0 is now full.
        m.appendTokens(1, 3);
        m.allocate(1, 1).orElseThrow();
        assertEquals(1, m.stats().cachedBlocks());
        m.addSequence(2, tokens(0, 6));
        assertEquals(4, m.cachedPrefixTokens(2));
    }

    @Test
    void aPreemptedSequenceComesBackWithItsBlocksAsHits() {
        KvBlockManager m = new KvBlockManager(9, 4, true);
        m.addSequence(7, tokens(0, 6));
        m.allocate(7, 6).orElseThrow();
        m.appendTokens(7, 6, 7, 8);             // three decoded tokens
        m.allocate(7, 3).orElseThrow();         // 9 slots: blocks 0 and 1 full
        int[] before = m.blockTable(7);
        m.free(7);                              // preempted (recompute)
        m.addSequence(7, tokens(0, 9));         // back with prompt + generated tokens
        Allocation a = m.allocate(7, 1).orElseThrow();
        assertEquals(8, a.cachedTokens());
        assertEquals(before[0], m.blockTable(7)[0]);
        assertEquals(before[1], m.blockTable(7)[1]);
        m.checkInvariants();
    }

    @Test
    void prefixCachingOffNeverHits() {
        KvBlockManager m = new KvBlockManager(9, 4, false);
        m.addSequence(1, tokens(0, 9));
        m.allocate(1, 9).orElseThrow();
        m.addSequence(2, tokens(0, 9));
        assertEquals(0, m.cachedPrefixTokens(2));
        assertEquals(0, m.stats().cachedBlocks());
    }

    @Test
    void forkSharesFullBlocksAndCopiesThePartialOne() {
        KvBlockManager m = new KvBlockManager(9, 4, true);
        m.addSequence(1, tokens(0, 6));
        int[] parent = m.allocate(1, 6).orElseThrow().newBlocks();
        List<BlockCopy> copies = m.fork(1, 2).orElseThrow();
        int[] child = m.blockTable(2);
        assertEquals(parent[0], child[0]);
        assertEquals(2, m.pool().refCount(parent[0]));
        assertEquals(List.of(new BlockCopy(parent[1], child[1])), copies);
        assertEquals(6, m.numSlots(2));
        m.checkInvariants();
        // Block-aligned parent: everything shared, nothing to copy.
        m.appendTokens(1, 6, 7);
        m.allocate(1, 2).orElseThrow();
        assertEquals(List.of(), m.fork(1, 3).orElseThrow());
        assertArrayEquals(m.blockTable(1), m.blockTable(3));
        m.free(1);
        m.free(2);
        m.free(3);
        assertEquals(8, m.stats().freeBlocks());
        m.checkInvariants();
    }

    @Test
    void forkWithoutRoomChangesNothing() {
        KvBlockManager m = new KvBlockManager(3, 4, false);
        m.addSequence(1, tokens(0, 5));
        m.allocate(1, 5).orElseThrow();
        assertTrue(m.fork(1, 2).isEmpty());
        assertFalse(m.contains(2));
        assertEquals(1, m.pool().refCount(m.blockTable(1)[0]));
        m.checkInvariants();
    }

    /** Random workloads: invariants after every step, and nothing leaks once every sequence is freed. */
    @Test
    void randomOperationsNeverLeak() {
        for (int seed = 0; seed < 40; seed++) {
            SplittableRandom rnd = new SplittableRandom(seed);
            int blockSize = 1 + rnd.nextInt(5);
            int numBlocks = 2 + rnd.nextInt(30);
            KvBlockManager m = new KvBlockManager(numBlocks, blockSize, rnd.nextBoolean());
            List<Long> live = new ArrayList<>();
            long nextId = 0;
            for (int step = 0; step < 300; step++) {
                int op = rnd.nextInt(10);
                if (op < 3 || live.isEmpty()) {
                    // Prompts from a small alphabet and shared stems, so prefix hits happen.
                    int len = 1 + rnd.nextInt(3 * blockSize + 2);
                    int[] prompt = new int[len];
                    for (int i = 0; i < len; i++) {
                        prompt[i] = i < blockSize * 2 && rnd.nextInt(4) > 0 ? i : rnd.nextInt(3);
                    }
                    long id = nextId++;
                    m.addSequence(id, prompt);
                    int cached = m.cachedPrefixTokens(id);
                    Optional<Allocation> a = m.allocate(id, len - cached);
                    if (a.isPresent()) {
                        assertEquals(cached, a.get().cachedTokens());
                        live.add(id);
                    } else {
                        assertEquals(0, m.blockTable(id).length);
                        m.free(id);
                    }
                } else if (op < 6) {
                    long id = live.get(rnd.nextInt(live.size()));
                    m.appendTokens(id, rnd.nextInt(3));
                    m.allocate(id, 1);   // may fail: then the sequence just stays as it is
                } else if (op < 8) {
                    long id = live.remove(rnd.nextInt(live.size()));
                    m.free(id);
                } else {
                    long parent = live.get(rnd.nextInt(live.size()));
                    long child = nextId++;
                    if (m.fork(parent, child).isPresent()) {
                        live.add(child);
                        assertEquals(m.numSlots(parent), m.numSlots(child));
                    }
                }
                m.checkInvariants();
                KvCacheStats s = m.stats();
                assertEquals(s.totalBlocks(), s.usedBlocks() + s.freeBlocks());
            }
            for (long id : live) {
                m.free(id);
            }
            m.checkInvariants();
            assertEquals(numBlocks - 1, m.stats().freeBlocks(), "seed " + seed);
            assertEquals(0, m.stats().usedBlocks(), "seed " + seed);
        }
    }
}
