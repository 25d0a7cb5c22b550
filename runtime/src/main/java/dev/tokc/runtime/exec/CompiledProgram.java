package dev.tokc.runtime.exec;

/**
 * A program the JVM backend generated: one straight-line method that calls the runtime's kernels node by node.
 *
 * <p>Contract: {@link #run} reads its inputs from {@code ctx} ({@link ExecContext#input}), resolves the symbolic
 * dimensions of the graph ({@code batch}, {@code seq}, ...) from the input shapes at run time, allocates every
 * intermediate buffer from the context's activation arena and hands its results back with
 * {@link ExecContext#output}. It keeps no state between calls, so one instance may serve any number of runs, one
 * at a time per context. The generated class has a public no-argument constructor; {@link ProgramLoader} finds it
 * by the name the engine's manifest records.
 */
public interface CompiledProgram {
    /** Runs the program once over the inputs in {@code ctx}. */
    void run(ExecContext ctx);
}
