package dev.tokc.runtime.exec;

import dev.tokc.runtime.artifact.ArtifactException;
import dev.tokc.runtime.artifact.Engine;
import dev.tokc.runtime.artifact.KvCacheInfo;
import dev.tokc.runtime.artifact.TensorEntry;
import dev.tokc.runtime.kernels.ElementType;
import dev.tokc.runtime.kernels.KernelWarmup;
import dev.tokc.runtime.kernels.Kernels;
import dev.tokc.runtime.kernels.PagedKvCache;
import dev.tokc.runtime.kernels.ReferenceKernels;
import dev.tokc.runtime.kernels.VectorKernels;
import dev.tokc.runtime.kernels.WorkerPool;
import dev.tokc.runtime.kernels.quant.KvQuantFormat;
import dev.tokc.runtime.kernels.quant.QuantKvCache;
import dev.tokc.runtime.kernels.quant.QuantType;
import dev.tokc.runtime.kernels.quant.VectorQuantKernels;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What every user of a JVM engine's paged step program shares: the opened engine, its loaded
 * {@link CompiledProgram}, the kernels (and their worker pool), one {@link ExecContext} and the paged KV cache of
 * every layer, sized to {@code numBlocks} blocks. {@link #run} executes one step from the program's raw inputs;
 * which blocks hold which sequence is the caller's business (a {@link dev.tokc.runtime.kv.KvBlockManager} with the
 * same block count and block size): {@link StepExecutor} keeps its own, {@link ProgramStepExecutor} uses the
 * generation loop's.
 *
 * <p>Owns the engine once opened and closes it with itself. Not thread-safe: one step at a time.
 */
public final class StepProgramRunner implements AutoCloseable {
    private final Engine engine;
    private final CompiledProgram program;
    private final WorkerPool pool;
    private final ExecContext ctx;
    private final Arena cacheArena = Arena.ofShared();
    private final KvCacheInfo kv;
    private final int numBlocks;
    private final int vocab;

    private StepProgramRunner(Engine engine, ProgramInfo info, CompiledProgram program, WorkerPool pool,
                              Kernels kernels, int numBlocks) {
        this.engine = engine;
        this.program = program;
        this.pool = pool;
        this.numBlocks = numBlocks;
        this.ctx = new ExecContext(kernels, WeightSet.of(engine), 1 << 20);
        this.kv = engine.manifest().kvCache();
        Optional<KvQuantFormat> quantKv = KvQuantFormat.of(kv.dtype());
        if (quantKv.isPresent()) {
            // Quantized KV cache (issue 7): one scale per (token, head) vector, read by the ctx.*Quant kernels.
            ctx.setQuantKvCaches(ExecContext.allocateQuantKvCaches(cacheArena, quantKv.get(), kv.layers(), numBlocks,
                    kv.blockSize(), kv.kvHeads(), kv.headDim()));
        } else {
            ElementType type = ExecContext.elementType(kv.dtype(), "kv cache");
            long bytes = PagedKvCache.segmentBytes(numBlocks, kv.blockSize(), kv.kvHeads(), kv.headDim(), type);
            PagedKvCache[] layers = new PagedKvCache[kv.layers()];
            for (int l = 0; l < layers.length; l++) {
                // Zeroed by the arena: a never-written slot (padding) reads as 0, not garbage.
                layers[l] = new PagedKvCache(cacheArena.allocate(bytes, 64), cacheArena.allocate(bytes, 64), type,
                        numBlocks, kv.blockSize(), kv.kvHeads(), kv.headDim());
            }
            ctx.setKvCaches(layers);
        }
        List<String> outShape = info.outputs().get(0).shape();
        this.vocab = Integer.parseInt(outShape.get(outShape.size() - 1));
    }

    /** Opens the engine at {@code dir} (verifying it) and prepares its step program with a cache of {@code numBlocks}. */
    public static StepProgramRunner open(Path dir, int threads, JvmExecutor.KernelChoice kernels, int numBlocks)
            throws IOException {
        return open(Engine.open(dir), threads, kernels, numBlocks);
    }

    /**
     * Prepares the step program of an already opened engine, taking ownership of it (closed on failure too).
     *
     * @param numBlocks KV blocks per layer, the null block 0 included
     */
    public static StepProgramRunner open(Engine engine, int threads, JvmExecutor.KernelChoice kernels, int numBlocks)
            throws IOException {
        WorkerPool pool = null;
        try {
            if (numBlocks < 2) {
                throw new IllegalArgumentException("the KV cache needs at least 2 blocks (block 0 is the null block), got " + numBlocks);
            }
            ProgramInfo info = ProgramLoader.info(engine);
            if (!info.graph().equals("step")) {
                throw new ArtifactException(engine.directory() + ": program @" + info.graph() + " is not a step program");
            }
            CompiledProgram program = ProgramLoader.load(engine, info);
            pool = kernels == JvmExecutor.KernelChoice.VECTOR ? new WorkerPool(threads) : null;
            Kernels k = pool != null ? new VectorKernels(pool) : new ReferenceKernels();
            if (pool != null) {
                warmUp(engine, k);
            }
            return new StepProgramRunner(engine, info, program, pool, k, numBlocks);
        } catch (IOException | RuntimeException | OutOfMemoryError e) {
            if (pool != null) {
                pool.close();
            }
            engine.close();
            throw e;
        }
    }

    /** Budget of the kernel warm-up at open: the time to first token it saves is ~2-3 s (see KernelWarmup). */
    private static final long WARMUP_NANOS = 600_000_000L;

    /**
     * Runs the GEMV/GEMM warm-up on the first matrix stored in the engine's dtype, if there is one, and the
     * quantized kernels' warm-up on the first quantized matrix, if there is one.
     */
    private static void warmUp(Engine engine, Kernels kernels) {
        try {
            ElementType type = ExecContext.elementType(engine.manifest().dtype(), "engine dtype");
            for (TensorEntry t : engine.manifest().tensors()) {
                if (t.shape().size() == 2 && t.dtype().equalsIgnoreCase(engine.manifest().dtype())
                        && t.byteLength() >= KernelWarmup.sampleBytes(type)) {
                    KernelWarmup.run(kernels, engine.view(t), type, WARMUP_NANOS);
                    break;
                }
            }
        } catch (IllegalStateException e) {
            // an engine dtype without dense kernels: nothing to warm up here
        }
        for (TensorEntry t : engine.manifest().tensors()) {
            QuantType q = quantType(t.dtype());
            if (q != null && t.shape().size() == 2 && VectorQuantKernels.vectorized(q)) {
                int cols = Math.toIntExact(t.shape().get(1));
                if (t.byteLength() >= KernelWarmup.quantSampleBytes(q, cols)) {
                    KernelWarmup.runQuantized(kernels.quantKernels(), engine.view(t), q, cols, QUANT_WARMUP_NANOS);
                }
                return;
            }
        }
    }

    /** Budget of the quantized kernels' warm-up at open (their engines also warm the dense LM head's kernels). */
    private static final long QUANT_WARMUP_NANOS = 500_000_000L;

    /** The quantized type a manifest dtype names, or null for a plain element type. */
    private static QuantType quantType(String dtype) {
        try {
            return QuantType.parse(dtype);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Bytes one KV block takes over all layers, K and V: what {@code --kv-cache-memory} is divided by. */
    public static long kvBytesPerBlock(KvCacheInfo kv) {
        Optional<KvQuantFormat> quantKv = KvQuantFormat.of(kv.dtype());
        if (quantKv.isPresent()) {
            return 2 * kv.layers() * QuantKvCache.segmentBytes(1, kv.blockSize(), kv.kvHeads(), kv.headDim(), quantKv.get());
        }
        ElementType type = ExecContext.elementType(kv.dtype(), "kv cache");
        return 2 * kv.layers() * PagedKvCache.segmentBytes(1, kv.blockSize(), kv.kvHeads(), kv.headDim(), type);
    }

    public Engine engine() {
        return engine;
    }

    public KvCacheInfo kvCache() {
        return kv;
    }

    /** Blocks per layer, the null block included. */
    public int numBlocks() {
        return numBlocks;
    }

    public int vocabSize() {
        return vocab;
    }

    /** Bytes of the activation arena now (its high-water mark over the steps run so far). */
    public long activationBytes() {
        return ctx.arenaCapacity();
    }

    /**
     * Runs one step over the program's inputs (see {@link dev.tokc.runtime.sched.StepBatch} for their layout) and
     * returns the logits {@code [indices.length, vocab]} row-major; the segment is valid until the next call.
     */
    public MemorySegment run(long[] tokens, long[] positions, long[] slots, int[] blockTables, int maxBlocks,
                             int[] contextLens, int[] queryStarts, long[] logitsIndices) {
        int seqs = contextLens.length;
        ctx.begin();
        ctx.setInputs(List.of(ctx.longs(tokens, tokens.length), ctx.longs(positions, positions.length),
                ctx.longs(slots, slots.length), ctx.ints(blockTables, seqs, maxBlocks), ctx.ints(contextLens, seqs),
                ctx.ints(queryStarts, seqs + 1), ctx.longs(logitsIndices, logitsIndices.length)));
        program.run(ctx);
        return ctx.outputs().get(0).data();
    }

    @Override
    public void close() {
        ctx.close();
        cacheArena.close();
        if (pool != null) {
            pool.close();
        }
        engine.close();
    }
}
