package dev.tokc.runtime.exec;

import dev.tokc.runtime.artifact.ArtifactException;
import dev.tokc.runtime.artifact.Engine;
import dev.tokc.runtime.kernels.Elements;
import dev.tokc.runtime.kernels.Kernels;
import dev.tokc.runtime.kernels.ReferenceKernels;
import dev.tokc.runtime.kernels.VectorKernels;
import dev.tokc.runtime.kernels.WorkerPool;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

/**
 * Runs a JVM engine's generated program: the engine (mapped weights), its {@link CompiledProgram}, the kernels and
 * one {@link ExecContext}. This is the full-forward executor: {@link #forward} takes token ids {@code [batch, seq]}
 * and returns the logits of every position (the program of {@code graph @forward}). Not thread-safe.
 */
public final class JvmExecutor implements TokenModel, AutoCloseable {
    /** Which kernels to run: the vector kernels on a worker pool, or the scalar reference (tests, debugging). */
    public enum KernelChoice { VECTOR, REFERENCE }

    private final Engine engine;
    private final ProgramInfo info;
    private final CompiledProgram program;
    private final WorkerPool pool;
    private final ExecContext ctx;
    private final int vocab;

    private JvmExecutor(Engine engine, ProgramInfo info, CompiledProgram program, WorkerPool pool, Kernels kernels) {
        this.engine = engine;
        this.info = info;
        this.program = program;
        this.pool = pool;
        this.ctx = new ExecContext(kernels, WeightSet.of(engine), 1 << 20);
        List<String> outShape = info.outputs().get(0).shape();
        this.vocab = Integer.parseInt(outShape.get(outShape.size() - 1));
    }

    /** Opens the engine at {@code dir} with the vector kernels on {@code threads} threads. */
    public static JvmExecutor open(Path dir, int threads, KernelChoice kernels) throws IOException {
        Engine engine = Engine.open(dir);
        try {
            ProgramInfo info = ProgramLoader.info(engine);
            if (!info.graph().equals("forward") || info.inputs().size() != 1 || info.outputs().size() != 1) {
                throw new ArtifactException(dir + ": program @" + info.graph() + " is not a full-forward program "
                        + "(one input of token ids, one output of logits)");
            }
            CompiledProgram program = ProgramLoader.load(engine, info);
            WorkerPool pool = kernels == KernelChoice.VECTOR ? new WorkerPool(threads) : null;
            Kernels k = pool != null ? new VectorKernels(pool) : new ReferenceKernels();
            return new JvmExecutor(engine, info, program, pool, k);
        } catch (IOException | RuntimeException e) {
            engine.close();
            throw e;
        }
    }

    public Engine engine() {
        return engine;
    }

    public ProgramInfo info() {
        return info;
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    /** A sequence that re-runs the whole forward on every feed (no cache in a forward program). */
    @Override
    public Session start() {
        return new Session() {
            private long[] tokens = new long[0];

            @Override
            public float[] feed(long[] more) {
                long[] all = java.util.Arrays.copyOf(tokens, tokens.length + more.length);
                System.arraycopy(more, 0, all, tokens.length, more.length);
                tokens = all;
                return forwardLast(all);
            }

            @Override
            public void close() {
            }
        };
    }

    /**
     * Logits {@code [ids.length, vocab]} (row-major) of one sequence, every position.
     */
    public float[] forward(long[] ids) {
        MemorySegment out = run(ids);
        return out.toArray(Elements.F32);
    }

    /** Logits of the last position only (the generate loop's need). */
    public float[] forwardLast(long[] ids) {
        MemorySegment out = run(ids);
        long row = (long) vocab * 4;
        return out.asSlice((ids.length - 1) * row, row).toArray(Elements.F32);
    }

    private MemorySegment run(long[] ids) {
        for (long id : ids) {
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        ctx.begin();
        ctx.setInputs(List.of(ctx.longs(ids, 1, ids.length)));
        program.run(ctx);
        return ctx.outputs().get(0).data();
    }

    @Override
    public void close() {
        ctx.close();
        if (pool != null) {
            pool.close();
        }
        engine.close();
    }
}
