/**
 * Iteration-level scheduling over the paged KV cache, vLLM v1 style.
 *
 * <pre>
 *   submit() --> Scheduler.waiting --admission filters--> running --schedule()--> SchedulerOutput
 *                      ^                                     |                       |
 *                      +------- preempted (recompute) -------+          StepBatchBuilder (worker-side mirror)
 *                                                                                    v
 *   handles <-- StopChecker <-- Sampler <-- float[outputs][vocab] <-- StepExecutor.step(StepBatch)
 * </pre>
 *
 * {@link dev.tokc.runtime.sched.Scheduler} decides how many tokens each sequence computes per step;
 * {@link dev.tokc.runtime.sched.StepBatchBuilder} turns its {@link dev.tokc.runtime.sched.SchedulerOutput} into
 * the step program's ragged inputs ({@link dev.tokc.runtime.sched.StepBatch});
 * {@link dev.tokc.runtime.sched.GenerationLoop} samples, streams and retires sequences, and is the only class
 * here that other threads may call. Counters for {@code /metrics} live in
 * {@link dev.tokc.runtime.sched.EngineMetrics}.
 */
package dev.tokc.runtime.sched;
