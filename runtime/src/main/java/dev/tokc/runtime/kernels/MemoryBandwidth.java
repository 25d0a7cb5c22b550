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
 * {@link WorkerPool}, and keeps the best of several passes. Integer adds have one-cycle latency, so two
 * accumulators per thread keep the loop load-bound. The sum is returned so the JIT cannot drop the loads.
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
                    for (int c = c0; c < c1; c++) {
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
