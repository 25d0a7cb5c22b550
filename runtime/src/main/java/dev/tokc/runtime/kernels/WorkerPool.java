package dev.tokc.runtime.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed pool of platform threads for data-parallel kernels: {@code threads - 1} workers created once, plus the
 * calling thread, which always takes part. {@link #parallelFor} splits {@code [0, count)} into a few contiguous
 * ranges per thread, which the threads claim as they finish the previous one, and returns when all are done.
 *
 * <p>Why not an {@code ExecutorService} or the common ForkJoinPool: a decode-step GEMV takes ~100 us, and a
 * queue hand-off plus a wake-up from {@code park} costs tens of microseconds per thread. Here a call is one volatile
 * write (the generation counter) that idle workers are already spinning on, and one counter they decrement. Workers
 * spin for {@code spinNanos} after their last job (covering the gap between consecutive kernels of a step) and then
 * park, so an idle server costs no CPU.
 *
 * <p>Wake-up protocol (no lost wake-ups): a worker publishes {@code parked = true}, re-reads the generation, and
 * only then parks; the caller writes the generation and then reads every worker's {@code parked} flag, unparking
 * those that set it. Both are volatile, so at least one side sees the other's write. Completion mirrors it with
 * {@code callerParked}.
 *
 * <p>Calls from several threads are serialised; a call made from inside a running task (nested parallelism) runs
 * inline on the calling thread.
 */
public final class WorkerPool implements AutoCloseable {

    /** The body of a parallel loop: processes indices {@code [start, end)}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int start, int end);
    }

    /** Spin for 50 us before parking: longer than the gap between two kernels of a decode step, short for idling. */
    public static final long DEFAULT_SPIN_NANOS = 50_000;

    private final int threads;
    private final long spinNanos;
    private final Worker[] workers;
    private final AtomicInteger pending = new AtomicInteger();
    /** The next unclaimed slice of the current loop (see {@link #runRange}). */
    private final AtomicInteger nextSlice = new AtomicInteger();
    /** Slices per thread a loop is cut into, claimed dynamically (see {@link #runRange}). */
    static final int SLICES_PER_THREAD = 4;
    private final Object callLock = new Object();

    // The current job, published by the volatile write of generation.
    private RangeTask task;
    private int count;
    private int grain;
    private boolean front;
    private volatile long generation;
    private volatile boolean closed;
    private volatile Thread caller;
    private volatile boolean callerParked;
    private volatile Throwable failure;

    /** A pool of {@code threads} threads in total (the caller counts as one) with the default spin time. */
    public WorkerPool(int threads) {
        this(threads, DEFAULT_SPIN_NANOS);
    }

    public WorkerPool(int threads, long spinNanos) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.spinNanos = spinNanos;
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(i + 1);
            workers[i].thread.start();
        }
    }

    /** Threads taking part in a {@link #parallelFor}, the caller included. */
    public int threads() {
        return threads;
    }

    /**
     * Runs {@code task} over {@code [0, count)} split into contiguous ranges (at most {@value #SLICES_PER_THREAD} per
     * thread) whose boundaries are multiples of {@code grain} (except the end). Returns after every range finished; the first
     * exception thrown by any range is rethrown here.
     */
    public void parallelFor(int count, int grain, RangeTask task) {
        parallelFor(count, grain, task, false);
    }

    /**
     * {@link #parallelFor} with slices front-loaded: the first slice of each thread takes 3/7 of its share, the next
     * 2/7, the last two 1/7 each (instead of four equal ones), so a loop's tail, where one thread waits for the
     * other, is shorter while most of the work still runs in long ranges. For kernels whose ranges are long
     * sequential streams that cost little to restart: W4A8's batch-1 product measured +7 % end to end with it; the
     * bf16, int8 and int4 kernels measured the same or up to 4 % slower, so they keep equal slices.
     */
    public void parallelForFrontLoaded(int count, int grain, RangeTask task) {
        parallelFor(count, grain, task, true);
    }

    private void parallelFor(int count, int grain, RangeTask task, boolean front) {
        if (count <= 0) {
            return;
        }
        int chunks = (count + grain - 1) / grain;
        Thread self = Thread.currentThread();
        if (workers.length == 0 || chunks == 1 || caller == self || self instanceof WorkerThread) {
            task.run(0, count);
            return;
        }
        synchronized (callLock) {
            if (closed) {
                throw new IllegalStateException("worker pool is closed");
            }
            this.task = task;
            this.count = count;
            this.grain = grain;
            this.front = front;
            this.failure = null;
            this.caller = self;
            pending.set(workers.length);
            nextSlice.set(threads); // slices 0 .. threads-1 are taken by their own threads first
            generation = generation + 1;
            for (Worker w : workers) {
                if (w.parked) {
                    LockSupport.unpark(w.thread);
                }
            }
            try {
                runRange(task, count, grain, front, 0);
            } catch (Throwable t) {
                failure = t;
            }
            awaitWorkers();
            this.caller = null;
            this.task = null;
            Throwable t = failure;
            if (t != null) {
                if (t instanceof RuntimeException re) {
                    throw re;
                }
                if (t instanceof Error e) {
                    throw e;
                }
                throw new RuntimeException(t);
            }
        }
    }

    /**
     * Runs this thread's share of the current loop: its own slice first (slice {@code index}), then whatever slices
     * are left, taken from {@link #nextSlice} until none remain. The loop is cut into {@value #SLICES_PER_THREAD}
     * slices per thread rather than one, so a thread that falls behind (descheduled, a slower core, more cache
     * misses) is covered by the others instead of holding up the whole call: on the 2-core machine the caller and
     * the worker waited for each other ~10% of a decode step with one fixed range each.
     */
    private void runRange(RangeTask task, int count, int grain, boolean front, int index) {
        int chunks = (count + grain - 1) / grain;
        int slices = Math.min(chunks, threads * SLICES_PER_THREAD);
        boolean weighted = front && slices == threads * SLICES_PER_THREAD;
        for (int s = index; s < slices; s = nextSlice.getAndIncrement()) {
            long from = weighted ? frontLoadedStart(s, chunks) : (long) chunks * s / slices;
            long to = weighted ? frontLoadedStart(s + 1, chunks) : (long) chunks * (s + 1) / slices;
            int start = (int) Math.min(count, from * grain);
            int end = (int) Math.min(count, to * grain);
            if (start < end) {
                task.run(start, end);
            }
        }
    }

    /**
     * The chunk where slice s starts when slices are front-loaded ({@link #parallelForFrontLoaded}): with T threads,
     * slices 0..T-1 weigh 3, T..2T-1 weigh 2 and 2T..4T-1 weigh 1, out of 7T.
     */
    private long frontLoadedStart(int s, int chunks) {
        int t = threads;
        long weight = Math.min(s, t) * 3L + Math.clamp(s - t, 0, t) * 2L + Math.max(0, s - 2 * t);
        return chunks * weight / (7L * t);
    }

    private void awaitWorkers() {
        long spinUntil = System.nanoTime() + spinNanos;
        while (pending.get() != 0) {
            if (System.nanoTime() < spinUntil) {
                Thread.onSpinWait();
            } else {
                callerParked = true;
                if (pending.get() != 0) {
                    LockSupport.park(this);
                }
                callerParked = false;
            }
        }
    }

    private void finished() {
        if (pending.decrementAndGet() == 0 && callerParked) {
            Thread c = caller;
            if (c != null) {
                LockSupport.unpark(c);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Worker w : workers) {
            LockSupport.unpark(w.thread);
        }
        for (Worker w : workers) {
            try {
                w.thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Marks pool threads so nested {@code parallelFor} calls run inline. */
    private static final class WorkerThread extends Thread {
        WorkerThread(Runnable body, String name) {
            super(body, name);
            setDaemon(true);
        }
    }

    private final class Worker implements Runnable {
        final int index;
        final Thread thread;
        volatile boolean parked;

        Worker(int index) {
            this.index = index;
            this.thread = new WorkerThread(this, "tokc-kernel-" + index);
        }

        @Override
        public void run() {
            long seen = 0;
            while (true) {
                long g;
                long spinUntil = System.nanoTime() + spinNanos;
                while ((g = generation) == seen) {
                    if (closed) {
                        return;
                    }
                    if (System.nanoTime() < spinUntil) {
                        Thread.onSpinWait();
                    } else {
                        parked = true;
                        if (generation == seen && !closed) {
                            LockSupport.park(this);
                        }
                        parked = false;
                    }
                }
                seen = g;
                try {
                    runRange(task, count, grain, front, index);
                } catch (Throwable t) {
                    failure = t;
                } finally {
                    finished();
                }
            }
        }
    }
}
