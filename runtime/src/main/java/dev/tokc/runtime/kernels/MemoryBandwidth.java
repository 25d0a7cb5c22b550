package dev.tokc.runtime.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A streaming-read bandwidth probe: the ceiling a memory-bound kernel (batch-1 GEMV over 16-bit weights) can
 * approach, and the denominator of model bandwidth utilisation (MBU) in {@code tokc bench --measure-bandwidth}.
 *
 * <p>It allocates a buffer much larger than the last-level cache, touches every page (so page faults are not
 * timed), then sums it as 64-bit integers with vector loads, split across {@code threads} threads of a
 * {@link WorkerPool}, and keeps the best of several passes. Each thread reads two streams, the two halves of its
 * range in lockstep, as the decode kernels do (weight rows in pairs from two halves, W4A8's two code regions): on
 * the 2-core Zen 5 machine one stream per thread read 34.5 / 44.5 GB/s (1 / 2 threads) where two read 38 / 50,
 * and a hand-written two-stream loop in C, one process per core, 51 (docs/benchmarks.md). Integer adds have
 * one-cycle latency, so one accumulator per stream keeps the loop load-bound. The sum is returned so the JIT
 * cannot drop the loads.
 */
public final class MemoryBandwidth {
    private static final VectorSpecies<Long> LS = LongVector.SPECIES_PREFERRED;
    /** Default buffer: 1 GiB, far beyond any L3 this runs on. */
    public static final long DEFAULT_BYTES = 1L << 30;
    public static final int DEFAULT_REPEATS = 5;

    private MemoryBandwidth() {
    }

    /** Outcome of a probe. GB are 10^9 bytes. */
    public record Result(int threads, long bytes, int repeats, double bestGbPerSecond, double meanGbPerSecond,
                         long checksum) {
        @Override
        public String toString() {
            return String.format("read bandwidth %.1f GB/s best, %.1f GB/s mean (%d threads, %d MiB x %d passes)",
                    bestGbPerSecond, meanGbPerSecond, threads, bytes >> 20, repeats);
        }
    }

    /** Probe with the defaults: a 1 GiB buffer, 5 timed passes. */
    public static Result measure(int threads) {
        return measure(threads, DEFAULT_BYTES, DEFAULT_REPEATS);
    }

    public static Result measure(int threads, long bytes, int repeats) {
        if (repeats < 1) {
            throw new IllegalArgumentException("repeats must be >= 1");
        }
        long unit = (long) LS.vectorByteSize() * 2;
        long size = Math.max(unit, bytes / unit * unit);
        int chunkBytes = 1 << 20;
        int chunks = (int) ((size + chunkBytes - 1) / chunkBytes);
        int wholeChunks = (int) (size / chunkBytes);
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(threads)) {
            MemorySegment buffer = arena.allocate(size, 4096);
            pool.parallelFor(chunks, 1, (c0, c1) -> {
                long from = (long) c0 * chunkBytes;
                long to = Math.min(size, (long) c1 * chunkBytes);
                buffer.asSlice(from, to - from).fill((byte) 1);
            });
            long[] partial = new long[chunks];
            double best = 0;
            double total = 0;
            long checksum = 0;
            for (int pass = 0; pass <= repeats; pass++) {
                long start = System.nanoTime();
                pool.parallelFor(chunks, 1, (c0, c1) -> {
                    // Two streams per thread: the range's halves in lockstep (see the class comment); whole
                    // chunks only, a short last chunk goes alone.
                    int half = (Math.min(c1, wholeChunks) - c0) / 2;
                    for (int c = c0; c < c0 + half; c++) {
                        long a = (long) c * chunkBytes;
                        long b = (long) (c + half) * chunkBytes;
                        partial[c] = sum2(buffer, a, b, chunkBytes);
                        partial[c + half] = 0;
                    }
                    for (int c = c0 + 2 * half; c < c1; c++) {
                        long from = (long) c * chunkBytes;
                        partial[c] = sum(buffer, from, Math.min(size, from + chunkBytes));
                    }
                });
                long nanos = System.nanoTime() - start;
                for (long p : partial) {
                    checksum += p;
                }
                if (pass == 0) {
                    continue; // warm-up pass: JIT compilation and TLB
                }
                double gbs = size / (double) nanos;
                best = Math.max(best, gbs);
                total += gbs;
            }
            return new Result(threads, size, repeats, best, total / repeats, checksum);
        }
    }

    /** The sum of {@code len} bytes at {@code a} and at {@code b} (both whole chunks), read in lockstep. */
    private static long sum2(MemorySegment s, long a, long b, long len) {
        LongVector x = LongVector.zero(LS);
        LongVector y = LongVector.zero(LS);
        long step = LS.vectorByteSize();
        long o = 0;
        for (; o + step <= len; o += step) {
            x = x.add(LongVector.fromMemorySegment(LS, s, a + o, ByteOrder.LITTLE_ENDIAN));
            y = y.add(LongVector.fromMemorySegment(LS, s, b + o, ByteOrder.LITTLE_ENDIAN));
        }
        return x.add(y).reduceLanes(VectorOperators.ADD);
    }

    private static long sum(MemorySegment s, long from, long to) {
        LongVector a = LongVector.zero(LS);
        LongVector b = LongVector.zero(LS);
        long step = LS.vectorByteSize();
        long o = from;
        for (; o + 2 * step <= to; o += 2 * step) {
            a = a.add(LongVector.fromMemorySegment(LS, s, o, ByteOrder.LITTLE_ENDIAN));
            b = b.add(LongVector.fromMemorySegment(LS, s, o + step, ByteOrder.LITTLE_ENDIAN));
        }
        long r = a.add(b).reduceLanes(VectorOperators.ADD);
        for (; o < to; o++) {
            r += s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, o);
        }
        return r;
    }
}
