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
 * Attention with Llama-3-8B head geometry (32 query heads, 8 KV heads, head dim 128): paged decode over a bf16
 * cache (one query per sequence, {@code context} cached tokens each) and causal flash prefill over
 * {@code context} tokens.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class AttentionBench {
    static final AttentionHeads HEADS = new AttentionHeads(32, 8, 128);
    static final int BLOCK = 16;

    @Param({"1", "16"})
    public int seqs;
    @Param({"1024"})
    public int context;
    @Param({"2"})
    public int threads;

    private Arena arena;
    private WorkerPool pool;
    private VectorKernels kernels;
    private PagedKvCache cache;
    private int[][] tables;
    private int[] contextLens;
    private MemorySegment q;
    private MemorySegment out;
    private MemorySegment prefillQ;
    private MemorySegment prefillK;
    private MemorySegment prefillV;
    private MemorySegment prefillOut;

    private static MemorySegment random(Arena arena, Random r, long count, ElementType type) {
        MemorySegment s = arena.allocate(count * type.byteSize(), 64);
        for (long i = 0; i < count; i++) {
            Elements.write(s, type, i, (float) r.nextGaussian());
        }
        return s;
    }

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        pool = new WorkerPool(threads);
        kernels = new VectorKernels(pool);
        Random r = new Random(3);
        int blocksPerSeq = (context + BLOCK - 1) / BLOCK;
        int numBlocks = seqs * blocksPerSeq + 1;
        long cacheCount = (long) numBlocks * BLOCK * HEADS.kvHeads() * HEADS.headDim();
        cache = new PagedKvCache(random(arena, r, cacheCount, ElementType.BF16), random(arena, r, cacheCount, ElementType.BF16),
                ElementType.BF16, numBlocks, BLOCK, HEADS.kvHeads(), HEADS.headDim());
        tables = new int[seqs][blocksPerSeq];
        contextLens = new int[seqs];
        for (int s = 0; s < seqs; s++) {
            contextLens[s] = context;
            for (int b = 0; b < blocksPerSeq; b++) {
                tables[s][b] = 1 + s * blocksPerSeq + b;
            }
        }
        q = random(arena, r, (long) seqs * HEADS.qHeads() * HEADS.headDim(), ElementType.F32);
        out = arena.allocate(q.byteSize(), 64);
        prefillQ = random(arena, r, (long) context * HEADS.qHeads() * HEADS.headDim(), ElementType.F32);
        prefillK = random(arena, r, (long) context * HEADS.kvHeads() * HEADS.headDim(), ElementType.F32);
        prefillV = random(arena, r, (long) context * HEADS.kvHeads() * HEADS.headDim(), ElementType.F32);
        prefillOut = arena.allocate(prefillQ.byteSize(), 64);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public MemorySegment pagedDecode() {
        kernels.pagedAttention(q, seqs, cache, tables, contextLens, HEADS, 0.088f, out);
        return out;
    }

    @Benchmark
    public MemorySegment flashPrefill() {
        kernels.flashAttention(prefillQ, context, prefillK, prefillV, context, HEADS, 0.088f, prefillOut);
        return prefillOut;
    }
}
