package dev.tokc.passes;

import dev.tokc.ir.Graph;

/**
 * One IR-to-IR transformation. A pass is a pure function of the graph (and its options, fixed at construction):
 * it returns the new graph, or the same instance when nothing changed, and reports what it did through counters
 * on the {@link PassContext} ({@code folded=12}). Passes never mutate shared state, so one instance can run in
 * several pipelines.
 */
public interface Pass {
    /** The name used by {@code --passes}, {@code --dump-after} and the counters report: lower-case, '-' separated. */
    String name();

    /** One line: what the pass does. Listed by {@code tokc ir-opt --list-passes}. */
    String summary();

    Graph run(Graph graph, PassContext ctx);

    /**
     * Whether the result computes bit-for-bit the values of the input graph under the reference interpreter (true
     * for rewrites that are exact in IEEE arithmetic). Fusions that keep an intermediate unrounded, as the fused
     * kernel does, return false; tests then compare within float tolerance instead of exactly.
     */
    default boolean exact() {
        return true;
    }
}
