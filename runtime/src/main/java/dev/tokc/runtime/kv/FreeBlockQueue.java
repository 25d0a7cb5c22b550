package dev.tokc.runtime.kv;

import java.util.Arrays;

/**
 * The free blocks in eviction order, as an intrusive doubly linked list over block ids: O(1) push at either end,
 * pop from the front, and removal from the middle (when a prefix-cache hit revives a free block).
 *
 * <pre>
 *   front (evicted first)                                   back (evicted last)
 *   [uncached blocks] [cached, least recently freed ... most recently freed]
 * </pre>
 *
 * Links live in two int arrays indexed by block id; {@code NONE} ends the list. Not thread-safe.
 */
final class FreeBlockQueue {

    private static final int NONE = -1;

    private final int[] prev;
    private final int[] next;
    private final boolean[] queued;
    private int head = NONE;
    private int tail = NONE;
    private int size;

    FreeBlockQueue(int capacity) {
        prev = new int[capacity];
        next = new int[capacity];
        queued = new boolean[capacity];
        Arrays.fill(prev, NONE);
        Arrays.fill(next, NONE);
    }

    int size() {
        return size;
    }

    boolean contains(int block) {
        return queued[block];
    }

    void pushBack(int block) {
        link(block, tail, NONE);
    }

    void pushFront(int block) {
        link(block, NONE, head);
    }

    int popFront() {
        if (head == NONE) {
            throw new IllegalStateException("free block queue is empty");
        }
        int b = head;
        remove(b);
        return b;
    }

    void remove(int block) {
        if (!queued[block]) {
            throw new IllegalStateException("block " + block + " is not in the free queue");
        }
        int p = prev[block];
        int n = next[block];
        if (p == NONE) {
            head = n;
        } else {
            next[p] = n;
        }
        if (n == NONE) {
            tail = p;
        } else {
            prev[n] = p;
        }
        prev[block] = NONE;
        next[block] = NONE;
        queued[block] = false;
        size--;
    }

    /** Front to back, for tests and debugging. */
    int[] toArray() {
        int[] out = new int[size];
        int i = 0;
        for (int b = head; b != NONE; b = next[b]) {
            out[i++] = b;
        }
        return out;
    }

    private void link(int block, int before, int after) {
        if (queued[block]) {
            throw new IllegalStateException("block " + block + " is already in the free queue");
        }
        prev[block] = before;
        next[block] = after;
        if (before == NONE) {
            head = block;
        } else {
            next[before] = block;
        }
        if (after == NONE) {
            tail = block;
        } else {
            prev[after] = block;
        }
        queued[block] = true;
        size++;
    }
}
