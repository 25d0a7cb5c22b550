/**
 * The JVM executor: runs the program an engine's {@code program.jar} holds.
 *
 * <ul>
 *   <li>{@link dev.tokc.runtime.exec.CompiledProgram}: what codegen-jvm generates, one straight-line method of
 *       kernel calls; {@link dev.tokc.runtime.exec.ExecContext} is the step ABI it calls (one method per kernel
 *       binding), over an {@link dev.tokc.runtime.exec.ActivationArena} and a
 *       {@link dev.tokc.runtime.exec.WeightSet} of the engine's mapped tensors.</li>
 *   <li>{@link dev.tokc.runtime.exec.StepExecutor}: the paged step program over a KV cache whose blocks a
 *       {@code KvBlockManager} hands out; {@link dev.tokc.runtime.exec.JvmExecutor}: the full-forward program
 *       (no cache), the reference beside it.</li>
 *   <li>{@link dev.tokc.runtime.exec.StepProgramRunner}: what both paged executors share (engine, program, kernels,
 *       per-layer KV cache); {@link dev.tokc.runtime.exec.ProgramStepExecutor}: the step program behind the
 *       scheduler's {@code GenerationLoop} (the loop owns the block bookkeeping), which {@code tokc serve} runs.</li>
 *   <li>{@link dev.tokc.runtime.exec.Generator} (one sequence, streaming text) and
 *       {@link dev.tokc.runtime.exec.BatchGenerator} (many sequences per step): the generate loops.</li>
 * </ul>
 * No compiler code: the runtime reads {@code program.json} for the program's signature and the manifest for the
 * cache geometry.
 */
package dev.tokc.runtime.exec;
