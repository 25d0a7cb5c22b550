package dev.tokc.runtime.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

class WorkerPoolTest {

    @Test
    void coversEveryIndexExactlyOnce() {
        coversEveryIndexExactlyOnce(false);
        coversEveryIndexExactlyOnce(true);
    }

    /** Front-loaded slices: the first ranges are the long ones (3/7 of a thread's share for 2 threads). */
    @Test
    void frontLoadedSlicesShrinkTowardTheEnd() {
        try (WorkerPool pool = new WorkerPool(2)) {
            java.util.List<int[]> ranges = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
            pool.parallelForFrontLoaded(1400, 1, (s, e) -> ranges.add(new int[] {s, e}));
            ranges.sort(java.util.Comparator.comparingInt(r -> r[0]));
            int[] lengths = ranges.stream().mapToInt(r -> r[1] - r[0]).toArray();
            assertEquals(java.util.List.of(300, 300, 200, 200, 100, 100, 100, 100),
                    java.util.Arrays.stream(lengths).boxed().toList());
        }
    }

    private static void coversEveryIndexExactlyOnce(boolean frontLoaded) {
        for (int threads : new int[] {1, 2, 3, 5}) {
            try (WorkerPool pool = new WorkerPool(threads)) {
                for (int count : new int[] {1, 2, 3, 7, 64, 1000}) {
                    for (int grain : new int[] {1, 4, 16, 2000}) {
                        AtomicIntegerArray hits = new AtomicIntegerArray(count);
                        WorkerPool.RangeTask task = (s, e) -> {
                            assertTrue(s % grain == 0, "range starts on a grain boundary");
                            for (int i = s; i < e; i++) {
                                hits.incrementAndGet(i);
                            }
                        };
                        if (frontLoaded) {
                            pool.parallelForFrontLoaded(count, grain, task);
                        } else {
                            pool.parallelFor(count, grain, task);
                        }
                        for (int i = 0; i < count; i++) {
                            assertEquals(1, hits.get(i), "index " + i + " count " + count + " grain " + grain
                                    + (frontLoaded ? " front-loaded" : ""));
                        }
                    }
                }
            }
        }
    }

    /**
     * A range that takes much longer than the others does not keep the other threads from the rest of the loop: the
     * caller's first slice blocks until every other slice is done, which only the worker can do (a pool that gave
     * each thread one fixed range would leave the caller's second half undone and time out here).
     */
    @Test
    void threadsClaimTheSlicesOfASlowThread() throws Exception {
        int slices = 2 * WorkerPool.SLICES_PER_THREAD;
        try (WorkerPool pool = new WorkerPool(2)) {
            java.util.concurrent.CountDownLatch others = new java.util.concurrent.CountDownLatch(slices - 1);
            java.util.concurrent.atomic.AtomicBoolean waited = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.Map<Thread, Long> rows = new java.util.concurrent.ConcurrentHashMap<>();
            pool.parallelFor(slices, 1, (s, e) -> {
                if (s == 0) {
                    try {
                        waited.set(others.await(30, java.util.concurrent.TimeUnit.SECONDS));
                    } catch (InterruptedException ex) {
                        Thread.currentThread().interrupt();
                    }
                } else {
                    others.countDown();
                }
                rows.merge(Thread.currentThread(), (long) (e - s), Long::sum);
            });
            assertTrue(waited.get(), "the other slices were not all run while the first one waited");
            assertEquals(slices, rows.values().stream().mapToLong(Long::longValue).sum());
        }
    }

    /** Many back-to-back calls, the decode pattern: no lost wake-up may hang or drop a range. */
    @Test
    void survivesManyShortCalls() {
        try (WorkerPool pool = new WorkerPool(3, 2_000)) {
            AtomicLong total = new AtomicLong();
            for (int call = 0; call < 20_000; call++) {
                pool.parallelFor(3, 1, (s, e) -> total.addAndGet(e - s));
                if (call % 5000 == 0) {
                    sleep(5); // let the workers reach park() between some calls
                }
            }
            assertEquals(60_000, total.get());
        }
    }

    @Test
    void rethrowsTheFirstFailureAndStaysUsable() {
        try (WorkerPool pool = new WorkerPool(2)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.parallelFor(10, 1, (s, en) -> {
                if (s > 0) {
                    throw new IllegalStateException("worker range failed");
                }
            }));
            assertEquals("worker range failed", e.getMessage());
            AtomicLong total = new AtomicLong();
            pool.parallelFor(10, 1, (s, en) -> total.addAndGet(en - s));
            assertEquals(10, total.get());
        }
    }

    @Test
    void nestedCallsRunInline() {
        try (WorkerPool pool = new WorkerPool(2)) {
            AtomicLong total = new AtomicLong();
            AtomicLong outerRanges = new AtomicLong();
            AtomicLong elsewhere = new AtomicLong();
            pool.parallelFor(4, 1, (s, e) -> {
                outerRanges.incrementAndGet();
                Thread outer = Thread.currentThread();
                pool.parallelFor(10, 1, (s2, e2) -> {
                    total.addAndGet(e2 - s2);
                    if (Thread.currentThread() != outer) {
                        elsewhere.incrementAndGet();
                    }
                });
            });
            assertEquals(10 * outerRanges.get(), total.get(), "each outer range ran the whole inner loop");
            assertEquals(0, elsewhere.get(), "inner ranges ran on the outer range's thread");
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
