package dev.tokc.runtime.sched;

import dev.tokc.runtime.kv.KvBlockManager;
import dev.tokc.runtime.kv.KvCacheStats;
import dev.tokc.runtime.sampling.FinishReason;
import dev.tokc.runtime.sampling.SampledToken;
import dev.tokc.runtime.sampling.Sampler;
import dev.tokc.runtime.sampling.StopChecker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntFunction;
import java.util.function.LongSupplier;

/**
 * The engine loop: turns submitted requests into token streams over a {@link StepExecutor}.
 *
 * <pre>
 *   step():  lock { schedule -> build batch }  executor.step (unlocked)  lock { sample -> append -> finish/free }
 *            then deliver events (unlocked)
 * </pre>
 *
 * Threads: {@link #submit}, {@link #cancel} and {@link #metrics} may be called from any thread, while one loop
 * thread calls {@link #step()} (through {@link #start()}, or a test calling it directly). One lock guards the
 * scheduler and block manager; the executor runs outside it, so a cancellation during a step frees the
 * sequence's blocks at once (nothing can reallocate them before the step returns, since only {@code schedule()}
 * allocates) and the step's logits for it are dropped.
 *
 * <p>Per sampled sequence: its {@link Sampler} picks the token, the token becomes the sequence's next target
 * token, its {@link StopChecker} decides (EOS, stop ids, stop strings, max tokens) whether it ends; an ended
 * sequence leaves the scheduler and frees its blocks in the same step.
 */
public final class GenerationLoop implements AutoCloseable {

    private final StepExecutor executor;
    private final LoopOptions options;
    private final LongSupplier clock;
    private final Scheduler scheduler;
    private final StepBatchBuilder builder;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition workArrived = lock.newCondition();
    private final Map<Long, Active> active = new HashMap<>();
    private final AtomicLong nextId = new AtomicLong(1);
    private final LatencyHistogram ttft = new LatencyHistogram();
    private final LatencyHistogram itl = new LatencyHistogram();
    private final LatencyHistogram e2e = new LatencyHistogram();
    private long finished;
    private long cancelled;
    private long generated;
    private boolean accepting = true;
    private volatile boolean stopping;
    private Thread thread;

    public GenerationLoop(StepExecutor executor, KvBlockManager kv, LoopOptions options) {
        this(executor, kv, options, System::nanoTime);
    }

    /** @param clock nanosecond clock for latencies and static-batching waits */
    public GenerationLoop(StepExecutor executor, KvBlockManager kv, LoopOptions options, LongSupplier clock) {
        this.executor = executor;
        this.options = options;
        this.clock = clock;
        SchedulerConfig config = options.scheduler();
        if (options.staticBatching().isPresent()) {
            LoopOptions.StaticBatching sb = options.staticBatching().get();
            config = config.withFilter(new AdmissionFilters.StaticBatching(sb.batchSize(), sb.maxWait(), clock));
        }
        this.scheduler = new Scheduler(config, kv);
        this.builder = new StepBatchBuilder(kv.blockSize(), options.minBlockTableWidth());
    }

    /** Submits a request; it joins the running batch at the next step that admits it. */
    public GenerationHandle submit(GenerationRequest request) {
        return submit(request, null);
    }

    /**
     * Submits a request whose events also go to {@code listener}.
     *
     * @throws IllegalArgumentException when the request can never run here: empty prompt, token ids outside the
     *         vocabulary, prompt plus max tokens past {@code maxModelLen} or past the whole KV pool, stop strings
     *         without a detokenizer, a prompt longer than the step budget with chunked prefill off
     * @throws IllegalStateException    after shutdown began
     */
    public GenerationHandle submit(GenerationRequest request, GenerationListener listener) {
        int[] prompt = request.promptTokens();
        validate(request, prompt);
        long id = nextId.getAndIncrement();
        GenerationHandle handle = new GenerationHandle(id, this, listener);
        Sampler sampler = new Sampler(request.params(), executor.vocabSize(), prompt);
        StopChecker stop = new StopChecker(request.params(), options.eosTokenIds());
        IntFunction<String> text = request.tokenText() != null ? request.tokenText() : t -> "";
        lock.lock();
        try {
            if (!accepting) {
                throw new IllegalStateException("the generation loop is shutting down");
            }
            long now = clock.getAsLong();
            scheduler.add(id, prompt, now);
            active.put(id, new Active(handle, sampler, stop, text, prompt.length, now));
            workArrived.signalAll();
        } finally {
            lock.unlock();
        }
        return handle;
    }

    /**
     * Cancels a request: it leaves the scheduler and its KV blocks are free when this returns; its stream ends
     * with a cancelled {@link GenerationEvent.Finished}. Returns false when it had already finished.
     */
    public boolean cancel(long requestId) {
        Active a;
        lock.lock();
        try {
            a = active.remove(requestId);
            if (a == null) {
                return false;
            }
            scheduler.remove(requestId);
            cancelled++;
            finished++;
        } finally {
            lock.unlock();
        }
        a.handle.deliver(new GenerationEvent.Finished(Optional.empty(), true, Optional.empty(), a.promptLength,
                a.stop.count()));
        return true;
    }

    /**
     * Runs one iteration on the calling (loop) thread: schedule, execute, sample, stream. Returns whether a
     * model step ran (false: nothing was schedulable).
     */
    public boolean step() {
        SchedulerOutput out;
        StepBatch batch;
        lock.lock();
        try {
            out = scheduler.schedule();
            batch = builder.build(out);
        } finally {
            lock.unlock();
        }
        if (out.isEmpty()) {
            return false;
        }
        List<Runnable> deliveries = new ArrayList<>();
        float[][] logits;
        try {
            logits = executor.step(batch);
        } catch (RuntimeException e) {
            lock.lock();
            try {
                for (long id : batch.seqIds()) {
                    fail(id, "executor failed: " + e, deliveries);
                }
            } finally {
                lock.unlock();
            }
            deliveries.forEach(Runnable::run);
            return true;
        }
        lock.lock();
        try {
            long now = clock.getAsLong();
            for (int k = 0; k < batch.numOutputs(); k++) {
                long id = batch.outputSeqIds()[k];
                Active a = active.get(id);
                if (a != null) {   // else cancelled while the step ran
                    try {
                        sample(id, a, logits[k], now, deliveries);
                    } catch (RuntimeException e) {
                        fail(id, "sampling failed: " + e, deliveries);
                    }
                }
            }
        } finally {
            lock.unlock();
        }
        deliveries.forEach(Runnable::run);
        return true;
    }

    /** Steps on the calling thread until no request is left (for tests and offline use). */
    public void runUntilIdle() {
        while (hasWork()) {
            if (!step()) {
                awaitWork(TimeUnit.MILLISECONDS.toNanos(1));
            }
        }
    }

    /** Starts the loop thread. */
    public synchronized void start() {
        if (thread != null) {
            throw new IllegalStateException("already started");
        }
        thread = Thread.ofPlatform().name("tokc-generation-loop").daemon().start(() -> {
            try {
                while (!stopping) {
                    if (!step()) {
                        awaitWork(hasWork() ? TimeUnit.MILLISECONDS.toNanos(1) : TimeUnit.MILLISECONDS.toNanos(50));
                    }
                }
            } catch (Throwable t) {
                failEverything("generation loop died: " + t);
                throw t;
            }
        });
    }

    /**
     * Stops accepting requests, lets in-flight ones finish for up to {@code grace}, cancels the rest and stops
     * the loop thread. Every KV block is free afterwards.
     */
    public void shutdown(Duration grace) throws InterruptedException {
        lock.lock();
        try {
            accepting = false;
        } finally {
            lock.unlock();
        }
        long deadline = System.nanoTime() + grace.toNanos();
        while (hasWork() && thread != null && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        stopping = true;
        lock.lock();
        try {
            workArrived.signalAll();
        } finally {
            lock.unlock();
        }
        if (thread != null) {
            thread.join();
        }
        List<Long> left;
        lock.lock();
        try {
            left = List.copyOf(active.keySet());
        } finally {
            lock.unlock();
        }
        left.forEach(this::cancel);
    }

    /** {@link #shutdown} with no grace: cancels whatever is in flight. */
    @Override
    public void close() {
        try {
            shutdown(Duration.ZERO);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public boolean hasWork() {
        lock.lock();
        try {
            return scheduler.hasWork();
        } finally {
            lock.unlock();
        }
    }

    /** A consistent snapshot of the serving counters. */
    public EngineMetrics metrics() {
        lock.lock();
        try {
            KvCacheStats kv = scheduler.kv().stats();
            Scheduler.Counters c = scheduler.counters();
            return new EngineMetrics(scheduler.numQueued(), scheduler.numWaiting(), scheduler.numRunning(),
                    kv.usedBlocks(), kv.freeBlocks(), c.preemptions(), kv.hitRate(), c.prefillTokens(),
                    c.decodeTokens(), c.recomputedTokens(), c.steps(), finished, cancelled, generated, kv,
                    ttft.snapshot(), itl.snapshot(), e2e.snapshot());
        } finally {
            lock.unlock();
        }
    }

    /** Runs {@code action} on the scheduler under the loop's lock (for tests and diagnostics). */
    <T> T inspect(java.util.function.Function<Scheduler, T> action) {
        lock.lock();
        try {
            return action.apply(scheduler);
        } finally {
            lock.unlock();
        }
    }

    private void sample(long id, Active a, float[] row, long now, List<Runnable> deliveries) {
        SampledToken st = a.sampler.sample(row);
        scheduler.appendToken(id, st.token());
        StopChecker.Step s = a.stop.onToken(st.token(), a.text.apply(st.token()));
        int index = a.stop.count() - 1;
        (index == 0 ? ttft : itl).recordNanos(now - (index == 0 ? a.submitNanos : a.lastTokenNanos));
        a.lastTokenNanos = now;
        generated++;
        GenerationEvent.Token event = new GenerationEvent.Token(index, st.token(), s.text(), st.logprobs());
        deliveries.add(() -> a.handle.deliver(event));
        if (s.finish().isPresent()) {
            end(id, a, s.finish(), Optional.empty(), deliveries);
            e2e.recordNanos(now - a.submitNanos);
        }
    }

    /** Ends every request with {@code error} and stops accepting new ones (the loop cannot go on). */
    private void failEverything(String error) {
        List<Runnable> deliveries = new ArrayList<>();
        lock.lock();
        try {
            accepting = false;
            stopping = true;
            for (long id : List.copyOf(active.keySet())) {
                fail(id, error, deliveries);
            }
        } finally {
            lock.unlock();
        }
        deliveries.forEach(Runnable::run);
    }

    private void fail(long id, String error, List<Runnable> deliveries) {
        Active a = active.get(id);
        if (a != null) {
            end(id, a, Optional.empty(), Optional.of(error), deliveries);
        }
    }

    private void end(long id, Active a, Optional<FinishReason> reason, Optional<String> error,
                     List<Runnable> deliveries) {
        active.remove(id);
        scheduler.remove(id);
        finished++;
        GenerationEvent.Finished event = new GenerationEvent.Finished(reason, false, error, a.promptLength,
                a.stop.count());
        deliveries.add(() -> a.handle.deliver(event));
    }

    private void awaitWork(long nanos) {
        lock.lock();
        try {
            if (!stopping) {
                workArrived.awaitNanos(nanos);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
        } finally {
            lock.unlock();
        }
    }

    private void validate(GenerationRequest request, int[] prompt) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        for (int t : prompt) {
            if (t < 0 || t >= executor.vocabSize()) {
                throw new IllegalArgumentException("prompt token " + t + " outside the vocabulary [0, " + executor.vocabSize() + ")");
            }
        }
        int maxTokens = request.params().maxTokens();
        if ((long) prompt.length + maxTokens > options.maxModelLen()) {
            throw new IllegalArgumentException("prompt (" + prompt.length + " tokens) plus max tokens (" + maxTokens
                    + ") exceeds the model's context of " + options.maxModelLen());
        }
        KvBlockManager kv = scheduler.kv();
        long slots = (long) prompt.length + maxTokens - 1;   // the last sampled token is never computed
        long blocks = (slots + kv.blockSize() - 1) / kv.blockSize();
        int total;
        lock.lock();
        try {
            total = kv.stats().totalBlocks();
        } finally {
            lock.unlock();
        }
        if (blocks > total) {
            throw new IllegalArgumentException("the request needs up to " + blocks + " KV blocks; the pool has " + total);
        }
        if (!request.params().stop().isEmpty() && request.tokenText() == null) {
            throw new IllegalArgumentException("stop strings need the request's detokenizer (tokenText)");
        }
        boolean chunked = scheduler.config().filters().stream().noneMatch(f -> f instanceof AdmissionFilters.NoChunkedPrefill);
        if (!chunked && slots > scheduler.config().maxNumBatchedTokens()) {
            throw new IllegalArgumentException("with chunked prefill off, prompt plus output (" + slots
                    + " tokens to recompute at worst) must fit the step budget of "
                    + scheduler.config().maxNumBatchedTokens());
        }
    }

    /** A request in flight, on the loop side. */
    private static final class Active {
        final GenerationHandle handle;
        final Sampler sampler;
        final StopChecker stop;
        final IntFunction<String> text;
        final int promptLength;
        final long submitNanos;
        long lastTokenNanos;

        Active(GenerationHandle handle, Sampler sampler, StopChecker stop, IntFunction<String> text,
               int promptLength, long submitNanos) {
            this.handle = handle;
            this.sampler = sampler;
            this.stop = stop;
            this.text = text;
            this.promptLength = promptLength;
            this.submitNanos = submitNanos;
        }
    }
}
