package dev.tokc.runtime.kernels.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import dev.tokc.runtime.kernels.Elements;
import dev.tokc.runtime.kernels.WorkerPool;
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
 * {@code y[m, n] = x[m, k] . dequant(W)[n, k]^T} with {@link VectorQuantKernels}; {@link QuantBenchMain} turns the
 * time per op into GB/s of packed weight bytes (what a decode GEMV must stream). As in {@code GemmBench}, each call
 * uses the next of several weight copies (together >= 256 MiB, far beyond the 32 MiB L3), so the weights come from
 * DRAM.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class QuantGemvBench {
    @Param({"int8", "fp8", "int4g32", "int4g128", "nf4g32", "nf4g128"})
    public String type;
    /** "k x n": reduction dim x output dim. */
    @Param({"2048x2048", "5632x2048"})
    public String shape;
    @Param({"1"})
    public int m;
    @Param({"2"})
    public int threads;

    private Arena arena;
    private WorkerPool pool;
    private VectorQuantKernels kernels;
    private QuantizedMatrix[] weights;
    private MemorySegment x;
    private MemorySegment y;
    private int next;

    @Setup(Level.Trial)
    public void setup() {
        String[] kn = shape.split("x");
        int k = Integer.parseInt(kn[0]);
        int n = Integer.parseInt(kn[1]);
        QuantType t = QuantType.parse(type);
        arena = Arena.ofShared();
        pool = new WorkerPool(threads);
        kernels = new VectorQuantKernels(pool);
        weights = QuantBenchMain.weightCopies(arena, t, n, k, new Random(1));
        x = arena.allocate(4L * m * k, 64);
        Random random = new Random(2);
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
        QuantizedMatrix w = weights[next];
        next = next + 1 == weights.length ? 0 : next + 1;
        kernels.gemm(x, m, w, null, y);
        return y;
    }
}
