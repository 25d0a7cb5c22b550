package dev.tokc.runtime.exec;

import dev.tokc.runtime.artifact.Engine;
import dev.tokc.runtime.artifact.TensorEntry;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;

/**
 * The named tensors a compiled program reads (weights and the graph's constants), as the compiler laid them out.
 * An engine's mapped {@code weights.bin} is the usual source ({@link #of(Engine)}); tests use in-memory maps.
 */
public interface WeightSet {
    /** One tensor: its bytes, its dtype as the manifest spells it ({@code f32}, {@code bf16}, {@code f16}, {@code i64}) and shape. */
    record Entry(MemorySegment data, String dtype, List<Long> shape) {
        public Entry {
            shape = List.copyOf(shape);
        }
    }

    /** The tensor called {@code name}; throws {@link IllegalArgumentException} naming it when there is none. */
    Entry get(String name);

    /** The engine's tensors as zero-copy views of its mapped weights files. */
    static WeightSet of(Engine engine) {
        return name -> {
            TensorEntry e = engine.find(name).orElseThrow(
                    () -> new IllegalArgumentException("engine " + engine.directory() + " has no tensor '" + name + "'"));
            return new Entry(engine.view(e), e.dtype(), e.shape());
        };
    }

    /** A fixed map of tensors (tests, and programs run straight after compiling). */
    static WeightSet of(Map<String, Entry> entries) {
        return name -> {
            Entry e = entries.get(name);
            if (e == null) {
                throw new IllegalArgumentException("no tensor '" + name + "'");
            }
            return e;
        };
    }
}
