package dev.tokc.runtime.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * {@code y[m, n] = x[m, k] . W[n, k]^T} with {@link VectorKernels}. {@link KernelBenchMain} turns the time per op
 * into GB/s (weights + activations + outputs, each read or written once) and GFLOP/s (2mnk).
 * Weights are 64-byte aligned, much larger than L3 for the big shapes (8192 x 2048 bf16 = 32 MiB; the 32 MiB L3
 * of the test machine would still hold one, so {@code copies} rotates through several weight matrices to keep the
 * GEMV reading DRAM rather than cache).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class GemmBench {
    @Param({"BF16", "F16", "F32"})
    public ElementType type;
    /** "k x n": reduction dim x output dim. */
    @Param({"2048x2048", "5632x2048", "8192x2048"})
    public String shape;
    @Param({"1", "4", "16", "128"})
    public int m;
    @Param({"2"})
    public int threads;

    private Arena arena;
    private WorkerPool pool;
    private VectorKernels kernels;
    private WeightMatrix[] weights;
    private MemorySegment x;
    private MemorySegment y;
    private int next;

    @Setup(Level.Trial)
    public void setup() {
        String[] kn = shape.split("x");
        int k = Integer.parseInt(kn[0]);
        int n = Integer.parseInt(kn[1]);
        arena = Arena.ofShared();
        pool = new WorkerPool(threads);
        kernels = new VectorKernels(pool);
        Random random = new Random(1);
        long bytes = (long) n * k * type.byteSize();
        // Enough copies that together they exceed L3 by far (>= 256 MiB), so every GEMV streams from DRAM.
        int copies = (int) Math.max(1, Math.min(64, (256L << 20) / bytes));
        weights = new WeightMatrix[copies];
        MemorySegment first = arena.allocate(bytes, 64);
        for (long i = 0; i < (long) n * k; i++) {
            Elements.write(first, type, i, (float) (random.nextGaussian() * 0.02));
        }
        for (int c = 0; c < copies; c++) {
            MemorySegment w = c == 0 ? first : arena.allocate(bytes, 64).copyFrom(first);
            weights[c] = new WeightMatrix(w, type, n, k);
        }
        x = arena.allocate(4L * m * k, 64);
        for (long i = 0; i < (long) m * k; i++) {
            x.setAtIndex(Elements.F32, i, (float) random.nextGaussian());
        }
        y = arena.allocate(4L * m * n, 64);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public MemorySegment gemm() {
        WeightMatrix w = weights[next];
        next = next + 1 == weights.length ? 0 : next + 1;
        kernels.gemm(x, m, w, null, y);
        return y;
    }
}
