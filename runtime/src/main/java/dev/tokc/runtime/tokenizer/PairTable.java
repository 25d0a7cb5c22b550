package dev.tokc.runtime.tokenizer;

import java.util.Arrays;

/**
 * An open-addressing hash map from a pair of token ids to a packed {@code long} (for BPE: rank and merged id).
 * Built once at load, then read-only; it avoids boxing two hundred thousand merges into a {@code HashMap}.
 */
final class PairTable {
    static final long MISSING = Long.MIN_VALUE;
    private static final long EMPTY_KEY = -1L;

    private final long[] keys;
    private final long[] values;
    private final int mask;
    private int size;

    PairTable(int expected) {
        int capacity = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[capacity];
        values = new long[capacity];
        mask = capacity - 1;
        Arrays.fill(keys, EMPTY_KEY);
    }

    static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    /** Inserts or replaces; ids must be non-negative. Capacity is fixed by the expected size given at creation. */
    void put(int left, int right, long value) {
        long key = key(left, right);
        int slot = slot(key);
        while (keys[slot] != EMPTY_KEY && keys[slot] != key) {
            slot = (slot + 1) & mask;
        }
        if (keys[slot] == EMPTY_KEY) {
            if (++size > mask * 3 / 4) {
                throw new IllegalStateException("PairTable over capacity " + (mask + 1));
            }
            keys[slot] = key;
        }
        values[slot] = value;
    }

    /** The value stored for the pair, or {@link #MISSING}. */
    long get(int left, int right) {
        long key = key(left, right);
        int slot = slot(key);
        while (true) {
            long k = keys[slot];
            if (k == key) {
                return values[slot];
            }
            if (k == EMPTY_KEY) {
                return MISSING;
            }
            slot = (slot + 1) & mask;
        }
    }

    int size() {
        return size;
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29)) & mask;
    }
}
