package dev.tokc.runtime.exec;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A bump allocator for the activations of one program run: {@link #allocate} hands out 64-byte aligned slices of
 * one big shared segment, {@link #reset} makes all of it free again for the next run.
 *
 * <p>Why not one allocation per buffer: a decode step allocates a few hundred small buffers, and a fresh native
 * allocation each (zeroed by the JVM) costs more than the kernels on a small model. When a run needs more than the
 * current block, the arena falls back to a fresh block for the rest of that run and grows the main block to the
 * run's high-water mark at the next reset, so steady state allocates nothing. Memory planning (liveness-based
 * reuse) is a compiler pass; this arena simply never reuses within a run. Segments are shared so the kernels'
 * worker threads may touch them.
 */
public final class ActivationArena implements AutoCloseable {
    private static final long ALIGN = 64;
    private Arena arena = Arena.ofShared();
    private MemorySegment block;
    private long used;
    /** Bytes allocated in this run, including overflow blocks: the size the main block grows to at reset. */
    private long runBytes;
    private Arena overflow;

    public ActivationArena(long initialBytes) {
        block = arena.allocate(Math.max(ALIGN, initialBytes), ALIGN);
    }

    /** A zero-length-safe, 64-byte aligned buffer of {@code bytes}, valid until the next {@link #reset}. Not zeroed. */
    public MemorySegment allocate(long bytes) {
        long size = Math.max(bytes, 1);
        long aligned = (size + ALIGN - 1) & -ALIGN;
        runBytes += aligned;
        if (used + aligned <= block.byteSize()) {
            MemorySegment s = block.asSlice(used, bytes);
            used += aligned;
            return s;
        }
        if (overflow == null) {
            overflow = Arena.ofShared();
        }
        return overflow.allocate(size, ALIGN).asSlice(0, bytes);
    }

    /** Frees everything handed out since the last reset (the caller must hold no buffer past this point). */
    public void reset() {
        if (overflow != null) {
            overflow.close();
            overflow = null;
            arena.close();
            arena = Arena.ofShared();
            block = arena.allocate(runBytes + runBytes / 4, ALIGN);
        }
        used = 0;
        runBytes = 0;
    }

    /** Bytes of the main block (the high-water mark of earlier runs). */
    public long capacity() {
        return block.byteSize();
    }

    @Override
    public void close() {
        if (overflow != null) {
            overflow.close();
            overflow = null;
        }
        arena.close();
    }
}
