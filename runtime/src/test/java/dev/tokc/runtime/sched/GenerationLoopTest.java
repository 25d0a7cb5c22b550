package dev.tokc.runtime.sched;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.runtime.kv.KvBlockManager;
import dev.tokc.runtime.kv.KvCacheStats;
import dev.tokc.runtime.sampling.FinishReason;
import dev.tokc.runtime.sampling.SamplingParams;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The loop end to end over the toy model: outputs must equal the cache-free reference, blocks must not leak. */
class GenerationLoopTest {

    private static final Set<Integer> EOS = Set.of(0);

    private static int[] randomPrompt(SplittableRandom r, int length) {
        return IntStream.range(0, length).map(i -> 1 + r.nextInt(ToyModel.VOCAB - 1)).toArray();
    }

    private static SamplingParams params(SplittableRandom r, int maxTokens) {
        SamplingParams p = SamplingParams.greedy().withMaxTokens(maxTokens);
        return r.nextBoolean() ? p : p.withTemperature(0.8).withTopK(20).withSeed(r.nextLong());
    }

    private record Job(int[] prompt, SamplingParams params) {
        int[] expected() {
            return ToyModel.reference(prompt, params, EOS);
        }
    }

    private static List<Job> jobs(long seed, int count, int maxPrompt, int maxTokens) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            jobs.add(new Job(randomPrompt(r, 1 + r.nextInt(maxPrompt)), params(r, 1 + r.nextInt(maxTokens))));
        }
        return jobs;
    }

    /** Checks, from outside the block manager, that the used blocks are exactly those of running sequences. */
    private static void checkBlocks(GenerationLoop loop, KvBlockManager kv, List<GenerationHandle> handles) {
        loop.inspect(s -> {
            Set<Integer> held = new HashSet<>();
            for (GenerationHandle h : handles) {
                if (s.isRunning(h.id())) {
                    for (int b : kv.blockTable(h.id())) {
                        held.add(b);
                    }
                } else {
                    assertFalse(kv.contains(h.id()), "only running sequences are tracked");
                }
            }
            assertFalse(held.contains(0), "the null block is never handed out");
            KvCacheStats st = kv.stats();
            assertEquals(held.size(), st.usedBlocks(), "used blocks are exactly the running sequences' blocks");
            assertEquals(st.totalBlocks(), st.usedBlocks() + st.freeBlocks());
            return null;
        });
    }

    private static void assertAllFree(KvBlockManager kv) {
        KvCacheStats st = kv.stats();
        assertEquals(0, st.usedBlocks(), "leaked blocks");
        assertEquals(st.totalBlocks(), st.freeBlocks());
    }

    private static List<GenerationHandle> runAll(GenerationLoop loop, KvBlockManager kv, List<Job> jobs) {
        List<GenerationHandle> handles = jobs.stream()
                .map(j -> loop.submit(GenerationRequest.of(j.prompt, j.params))).toList();
        while (loop.hasWork()) {
            loop.step();
            checkBlocks(loop, kv, handles);
        }
        return handles;
    }

    private static void assertOutputs(List<Job> jobs, List<GenerationHandle> handles) {
        for (int i = 0; i < jobs.size(); i++) {
            GenerationHandle.Completion c = handles.get(i).completion().getNow(null);
            assertAllTrue(c != null, "request " + i + " did not finish");
            assertArrayEquals(jobs.get(i).expected(), c.tokens(), "request " + i);
            assertTrue(c.finished().reason().isPresent());
        }
    }

    private static void assertAllTrue(boolean ok, String message) {
        assertTrue(ok, message);
    }

    @Test
    void manyConcurrentSequencesMatchTheReference() {
        KvBlockManager kv = new KvBlockManager(257, 4, true);
        ToyModel model = new ToyModel(257, 4);
        GenerationLoop loop = new GenerationLoop(model, kv, LoopOptions.continuous(SchedulerConfig.of(48, 16), EOS, 256));
        List<Job> jobs = jobs(7, 64, 40, 24);
        List<GenerationHandle> handles = runAll(loop, kv, jobs);
        assertOutputs(jobs, handles);
        assertAllFree(kv);
        assertTrue(model.maxTokensPerStep <= 48);
        assertEquals(16, model.maxSeqsPerStep, "max-num-seqs bounds the batch and is reached");
        EngineMetrics m = loop.metrics();
        int prompts = jobs.stream().mapToInt(j -> j.prompt.length).sum();
        long generated = handles.stream().mapToLong(h -> h.completion().join().tokens().length).sum();
        assertEquals(generated, m.generatedTokens());
        assertEquals(64, m.requestsFinished());
        assertEquals(prompts, m.prefillTokens() + m.kv().hitTokens(), "each prompt token computed once or cached");
        assertEquals(generated - 64, m.decodeTokens(), "every sampled token but the last is computed");
        assertEquals(64, m.ttft().count());
        assertEquals(generated - 64, m.interTokenLatency().count());
        assertEquals(0, m.queueDepth() + m.waitingSequences() + m.runningSequences());
    }

    @Test
    void aPoolTooSmallPreemptsAndEverySequenceStillCompletesCorrectly() {
        // 12 usable blocks of 4 tokens = 48 slots for 12 sequences that each grow to 20-40 slots.
        KvBlockManager kv = new KvBlockManager(13, 4, false);
        ToyModel model = new ToyModel(13, 4);
        GenerationLoop loop = new GenerationLoop(model, kv, LoopOptions.continuous(SchedulerConfig.of(32, 8), EOS, 64));
        SplittableRandom r = new SplittableRandom(3);
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            jobs.add(new Job(randomPrompt(r, 10 + r.nextInt(10)), SamplingParams.greedy().withMaxTokens(20).withIgnoreEos(true)));
        }
        List<GenerationHandle> handles = runAll(loop, kv, jobs);
        assertOutputs(jobs, handles);
        assertAllFree(kv);
        EngineMetrics m = loop.metrics();
        assertTrue(m.preemptions() > 0, "the pool forces preemption");
        assertTrue(m.recomputedTokens() > 0);
    }

    @Test
    void preemptionWithPrefixCachingRecomputesFromWhatTheCacheKept() {
        KvBlockManager kv = new KvBlockManager(13, 4, true);
        ToyModel model = new ToyModel(13, 4);
        GenerationLoop loop = new GenerationLoop(model, kv, LoopOptions.continuous(SchedulerConfig.of(16, 8), EOS, 64));
        List<Job> jobs = jobs(11, 16, 20, 24);
        List<GenerationHandle> handles = runAll(loop, kv, jobs);
        assertOutputs(jobs, handles);
        assertAllFree(kv);
    }

    @Test
    void cancellationFreesBlocksAtOnce() throws Exception {
        KvBlockManager kv = new KvBlockManager(65, 4, false);
        ToyModel model = new ToyModel(65, 4);
        GenerationLoop loop = new GenerationLoop(model, kv, LoopOptions.continuous(SchedulerConfig.of(64, 8), EOS, 128));
        SamplingParams long_ = SamplingParams.greedy().withMaxTokens(90).withIgnoreEos(true);
        GenerationHandle a = loop.submit(GenerationRequest.of(randomPrompt(new SplittableRandom(1), 30), long_));
        GenerationHandle b = loop.submit(GenerationRequest.of(randomPrompt(new SplittableRandom(2), 10), long_));
        for (int i = 0; i < 5; i++) {
            loop.step();
        }
        int usedBefore = kv.stats().usedBlocks();
        int aBlocks = kv.blockTable(a.id()).length;
        Thread other = Thread.ofPlatform().start(a::cancel);
        other.join();
        assertEquals(usedBefore - aBlocks, kv.stats().usedBlocks(), "freed before cancel() returned");
        GenerationHandle.Completion c = a.completion().getNow(null);
        assertTrue(c.finished().cancelled());
        assertEquals(5, c.tokens().length);
        assertFalse(loop.cancel(a.id()), "a second cancel finds nothing");
        loop.step();
        assertEquals(5, a.completion().join().tokens().length, "nothing arrives after the end");
        b.cancel();
        assertAllFree(kv);
        assertFalse(loop.hasWork());
        assertEquals(2, loop.metrics().requestsCancelled());
    }

    @Test
    void cancellationDuringAStepDropsItsLogitsAndFreesAtOnce() throws Exception {
        KvBlockManager kv = new KvBlockManager(65, 4, false);
        ToyModel model = new ToyModel(65, 4);
        CountDownLatch inStep = new CountDownLatch(1);
        CountDownLatch cancelled = new CountDownLatch(1);
        StepExecutor gated = new StepExecutor() {
            @Override
            public int vocabSize() {
                return model.vocabSize();
            }

            @Override
            public float[][] step(StepBatch batch) {
                inStep.countDown();
                try {
                    assertTrue(cancelled.await(10, TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                return model.step(batch);
            }
        };
        GenerationLoop loop = new GenerationLoop(gated, kv, LoopOptions.continuous(SchedulerConfig.of(64, 8), EOS, 128));
        GenerationHandle h = loop.submit(GenerationRequest.of(new int[] {5, 6, 7, 8, 9}, SamplingParams.greedy().withMaxTokens(10)));
        loop.start();
        assertTrue(inStep.await(10, TimeUnit.SECONDS));
        h.cancel();
        assertAllFree(kv);
        cancelled.countDown();
        GenerationHandle.Completion c = h.completion().get(10, TimeUnit.SECONDS);
        assertTrue(c.finished().cancelled());
        assertEquals(0, c.tokens().length, "the in-flight step's token was dropped");
        loop.close();
        assertInstanceOf(GenerationEvent.Finished.class, h.take());
    }

    @Test
    void prefixCacheHitsSkipPrefill() {
        KvBlockManager kv = new KvBlockManager(129, 4, true);
        ToyModel model = new ToyModel(129, 4);
        GenerationLoop loop = new GenerationLoop(model, kv, LoopOptions.continuous(SchedulerConfig.of(64, 8), EOS, 256));
        int[] system = randomPrompt(new SplittableRandom(5), 32);
        SamplingParams p = SamplingParams.greedy().withMaxTokens(4).withIgnoreEos(true);
        List<Job> jobs = new ArrayList<>();
        jobs.add(new Job(system, p));
        List<GenerationHandle> first = runAll(loop, kv, jobs);
        long prefillAlone = loop.metrics().prefillTokens();
        assertEquals(32, prefillAlone);
        List<Job> more = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            more.add(new Job(IntStream.concat(IntStream.of(system), IntStream.of(randomPrompt(new SplittableRandom(i), 6))).toArray(), p));
        }
        List<GenerationHandle> rest = runAll(loop, kv, more);
        assertOutputs(jobs, first);
        assertOutputs(more, rest);
        EngineMetrics m = loop.metrics();
        assertEquals(32 + 4 * 6, m.prefillTokens(), "the shared 32 tokens were computed once");
        assertEquals(4 * 32, m.kv().hitTokens());
        assertEquals(4 * 32 / (double) (32 + 4 * 38), m.prefixCacheHitRate(), 1e-12);
        assertAllFree(kv);
    }

    @Test
    void staticAndContinuousBatchingProduceIdenticalOutputs() {
        List<Job> jobs = jobs(21, 24, 30, 30);
        SchedulerConfig config = SchedulerConfig.of(512, 8);
        KvBlockManager kvC = new KvBlockManager(129, 4, true);
        ToyModel mc = new ToyModel(129, 4);
        GenerationLoop continuous = new GenerationLoop(mc, kvC, LoopOptions.continuous(config, EOS, 128));
        List<GenerationHandle> hc = runAll(continuous, kvC, jobs);

        KvBlockManager kvS = new KvBlockManager(129, 4, true);
        ToyModel ms = new ToyModel(129, 4);
        ms.recordBatches = true;
        GenerationLoop stat = new GenerationLoop(ms, kvS,
                LoopOptions.continuous(config, EOS, 128).withStaticBatching(8, Duration.ofSeconds(1000)));
        List<GenerationHandle> hs = runAll(stat, kvS, jobs);

        assertOutputs(jobs, hc);
        assertOutputs(jobs, hs);
        for (int i = 0; i < jobs.size(); i++) {
            assertArrayEquals(hc.get(i).completion().join().tokens(), hs.get(i).completion().join().tokens());
        }
        // Static: a sequence joins only in a step where the batch is formed; membership never grows mid-batch.
        Set<Long> batch = new HashSet<>();
        for (StepBatch b : ms.batches) {
            Set<Long> ids = new HashSet<>();
            for (long id : b.seqIds()) {
                ids.add(id);
            }
            if (!batch.containsAll(ids)) {
                assertTrue(batch.stream().noneMatch(ids::contains), "a new batch starts only when the old one is done");
                batch = ids;
            }
        }
        assertTrue(stat.metrics().steps() > continuous.metrics().steps(), "static batching wastes steps");
        assertAllFree(kvC);
        assertAllFree(kvS);
    }

    @Test
    void randomWorkloadsLeakNoBlocks() {
        for (long seed = 0; seed < 40; seed++) {
            SplittableRandom r = new SplittableRandom(seed);
            int blockSize = 1 + r.nextInt(8);
            int maxLen = 48;
            int numBlocks = 1 + (maxLen + blockSize - 1) / blockSize + r.nextInt(40);
            boolean caching = r.nextBoolean();
            KvBlockManager kv = new KvBlockManager(numBlocks, blockSize, caching);
            ToyModel model = new ToyModel(numBlocks, blockSize);
            SchedulerConfig config = SchedulerConfig.of(1 + r.nextInt(64), 1 + r.nextInt(12));
            if (r.nextInt(4) == 0) {
                config = config.withFilter(new AdmissionFilters.MaxFirstChunk(1 + r.nextInt(8)));
            }
            GenerationLoop loop = new GenerationLoop(model, kv, LoopOptions.continuous(config, EOS, maxLen));
            List<Job> jobs = new ArrayList<>();
            List<GenerationHandle> handles = new ArrayList<>();
            Set<Integer> cancelled = new HashSet<>();
            int[] sharedPrefix = randomPrompt(r, 12);
            for (int step = 0; step < 400 && (step < 60 || loop.hasWork()); step++) {
                if (step < 60 && r.nextInt(3) == 0) {
                    int len = 1 + r.nextInt(24);
                    int[] prompt = r.nextBoolean() ? randomPrompt(r, len)
                            : IntStream.concat(IntStream.of(sharedPrefix), IntStream.of(randomPrompt(r, len))).toArray();
                    Job j = new Job(prompt, params(r, 1 + r.nextInt(maxLen - prompt.length)));
                    jobs.add(j);
                    handles.add(loop.submit(GenerationRequest.of(j.prompt, j.params)));
                }
                if (!handles.isEmpty() && r.nextInt(10) == 0) {
                    int victim = r.nextInt(handles.size());
                    if (loop.cancel(handles.get(victim).id())) {
                        cancelled.add(victim);
                    }
                }
                loop.step();
                checkBlocks(loop, kv, handles);
            }
            assertFalse(loop.hasWork(), "seed " + seed + " did not drain");
            assertAllFree(kv);
            for (int i = 0; i < jobs.size(); i++) {
                GenerationHandle.Completion c = handles.get(i).completion().join();
                if (cancelled.contains(i)) {
                    assertTrue(c.finished().cancelled());
                    int[] expected = jobs.get(i).expected();
                    assertArrayEquals(java.util.Arrays.copyOf(expected, c.tokens().length), c.tokens(),
                            "a cancelled request's tokens are a prefix of the reference (seed " + seed + ")");
                } else {
                    assertArrayEquals(jobs.get(i).expected(), c.tokens(), "seed " + seed + " request " + i);
                }
            }
        }
    }

    @Test
    void submitsAndCancelsFromManyThreadsWhileTheLoopRuns() throws Exception {
        KvBlockManager kv = new KvBlockManager(41, 4, true);
        ToyModel model = new ToyModel(41, 4);
        GenerationLoop loop = new GenerationLoop(model, kv, LoopOptions.continuous(SchedulerConfig.of(32, 8), EOS, 64));
        loop.start();
        List<Thread> threads = new ArrayList<>();
        List<List<Object[]>> results = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            List<Object[]> mine = new ArrayList<>();
            results.add(mine);
            long seed = t;
            threads.add(Thread.ofPlatform().start(() -> {
                SplittableRandom r = new SplittableRandom(seed);
                for (int i = 0; i < 16; i++) {
                    Job j = new Job(randomPrompt(r, 1 + r.nextInt(20)), params(r, 1 + r.nextInt(30)));
                    GenerationHandle h = loop.submit(GenerationRequest.of(j.prompt, j.params));
                    boolean cancel = r.nextInt(4) == 0;
                    if (cancel) {
                        h.cancel();
                    }
                    mine.add(new Object[] {j, h, cancel});
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        for (List<Object[]> mine : results) {
            for (Object[] o : mine) {
                Job j = (Job) o[0];
                GenerationHandle.Completion c = ((GenerationHandle) o[1]).completion().get(30, TimeUnit.SECONDS);
                int[] expected = j.expected();
                if ((boolean) o[2] && c.finished().cancelled()) {
                    assertArrayEquals(java.util.Arrays.copyOf(expected, c.tokens().length), c.tokens());
                } else {
                    // Not cancelled, or the request had already finished when cancel() came: the full output.
                    assertArrayEquals(expected, c.tokens());
                }
            }
        }
        loop.shutdown(Duration.ofSeconds(5));
        assertAllFree(kv);
        assertThrows(IllegalStateException.class,
                () -> loop.submit(GenerationRequest.of(new int[] {1}, SamplingParams.greedy())));
    }

    @Test
    void streamsTextAndStopsAtStopStringsAndEos() throws Exception {
        KvBlockManager kv = new KvBlockManager(65, 4, false);
        ToyModel model = new ToyModel(65, 4);
        int[] prompt = {3, 1, 4, 1, 5};
        int[] free = ToyModel.reference(prompt, SamplingParams.greedy().withMaxTokens(12).withIgnoreEos(true), Set.of());
        // Make the fourth generated token an EOS id for this run: it ends the stream there.
        Set<Integer> eos = Set.of(free[3]);
        GenerationLoop loop = new GenerationLoop(model, kv, LoopOptions.continuous(SchedulerConfig.of(64, 8), eos, 64));
        int firstEos = 0;
        while (!eos.contains(free[firstEos])) {
            firstEos++;
        }
        GenerationHandle h = loop.submit(new GenerationRequest(prompt, SamplingParams.greedy().withMaxTokens(12),
                t -> "<" + t + ">"));
        // The same prompt with a stop string on the second token's text.
        String stop = "<" + free[1] + ">";
        GenerationHandle s = loop.submit(new GenerationRequest(prompt,
                SamplingParams.greedy().withMaxTokens(12).withStop(List.of(stop)), t -> "<" + t + ">"));
        loop.runUntilIdle();
        GenerationHandle.Completion c = h.completion().join();
        assertEquals(Optional.of(FinishReason.EOS), c.finished().reason());
        assertEquals(firstEos + 1, c.tokens().length);
        StringBuilder expectedText = new StringBuilder();
        for (int i = 0; i < firstEos; i++) {
            expectedText.append('<').append(free[i]).append('>');
        }
        assertEquals(expectedText.toString(), c.text(), "the EOS token's text is not emitted");
        GenerationHandle.Completion cs = s.completion().join();
        assertEquals(Optional.of(FinishReason.STOP_STRING), cs.finished().reason());
        assertEquals(free[1] == free[0] ? "" : "<" + free[0] + ">", cs.text());
        GenerationEvent first = h.take();
        assertInstanceOf(GenerationEvent.Token.class, first);
        assertEquals(0, ((GenerationEvent.Token) first).index());
        assertAllFree(kv);
    }

    @Test
    void rejectsRequestsThatCanNeverRun() {
        KvBlockManager kv = new KvBlockManager(5, 4, false);   // 16 slots
        ToyModel model = new ToyModel(5, 4);
        GenerationLoop loop = new GenerationLoop(model, kv, LoopOptions.continuous(
                SchedulerConfig.of(8, 8).withFilter(new AdmissionFilters.NoChunkedPrefill()), EOS, 32));
        SamplingParams p = SamplingParams.greedy().withMaxTokens(4);
        assertThrows(IllegalArgumentException.class, () -> loop.submit(GenerationRequest.of(new int[0], p)));
        assertThrows(IllegalArgumentException.class, () -> loop.submit(GenerationRequest.of(new int[] {ToyModel.VOCAB}, p)));
        assertThrows(IllegalArgumentException.class, () -> loop.submit(GenerationRequest.of(new int[30], p)), "context");
        assertThrows(IllegalArgumentException.class, () -> loop.submit(GenerationRequest.of(new int[6], p)), "budget, unchunked");
        assertThrows(IllegalArgumentException.class,
                () -> loop.submit(GenerationRequest.of(new int[] {1}, p.withStop(List.of("x")))), "stop needs text");
        KvBlockManager small = new KvBlockManager(3, 4, false);   // 8 slots
        GenerationLoop tiny = new GenerationLoop(new ToyModel(3, 4), small, LoopOptions.continuous(SchedulerConfig.of(64, 8), EOS, 64));
        assertThrows(IllegalArgumentException.class, () -> tiny.submit(GenerationRequest.of(new int[6], p)), "pool");
        tiny.submit(GenerationRequest.of(new int[5], p));   // 5 + 4 - 1 = 8 slots: fits exactly
        tiny.runUntilIdle();
        assertAllFree(small);
    }

    @Test
    void executorFailureEndsTheBatchWithAnErrorAndFreesItsBlocks() {
        KvBlockManager kv = new KvBlockManager(33, 4, false);
        StepExecutor broken = new StepExecutor() {
            @Override
            public int vocabSize() {
                return ToyModel.VOCAB;
            }

            @Override
            public float[][] step(StepBatch batch) {
                throw new IllegalStateException("device lost");
            }
        };
        GenerationLoop loop = new GenerationLoop(broken, kv, LoopOptions.continuous(SchedulerConfig.of(64, 8), EOS, 64));
        GenerationHandle h = loop.submit(GenerationRequest.of(new int[] {1, 2, 3}, SamplingParams.greedy()));
        loop.runUntilIdle();
        GenerationEvent.Finished f = h.completion().join().finished();
        assertTrue(f.error().orElseThrow().contains("device lost"));
        assertFalse(f.cancelled());
        assertAllFree(kv);
    }

    @Test
    void listenersSeeTheSameStreamAsTheHandle() throws Exception {
        KvBlockManager kv = new KvBlockManager(33, 4, false);
        GenerationLoop loop = new GenerationLoop(new ToyModel(33, 4), kv, LoopOptions.continuous(SchedulerConfig.of(64, 8), EOS, 64));
        List<GenerationEvent> seen = new ArrayList<>();
        GenerationHandle h = loop.submit(GenerationRequest.of(new int[] {7, 8, 9}, SamplingParams.greedy().withMaxTokens(6)),
                new GenerationListener() {
                    @Override
                    public void onToken(GenerationEvent.Token token) {
                        seen.add(token);
                    }

                    @Override
                    public void onFinish(GenerationEvent.Finished finished) {
                        seen.add(finished);
                    }
                });
        loop.runUntilIdle();
        List<GenerationEvent> queued = new ArrayList<>();
        for (GenerationEvent e = h.poll(0, TimeUnit.SECONDS); e != null; e = h.poll(0, TimeUnit.SECONDS)) {
            queued.add(e);
        }
        assertEquals(queued, seen);
        assertInstanceOf(GenerationEvent.Finished.class, seen.getLast());
        assertEquals(h.completion().join().tokens().length + 1, seen.size());
    }

    @Test
    void aDyingLoopThreadEndsEveryRequestWithAnError() throws Exception {
        KvBlockManager kv = new KvBlockManager(33, 4, false);
        StepExecutor fatal = new StepExecutor() {
            @Override
            public int vocabSize() {
                return ToyModel.VOCAB;
            }

            @Override
            public float[][] step(StepBatch batch) {
                throw new OutOfMemoryError("simulated");
            }
        };
        GenerationLoop loop = new GenerationLoop(fatal, kv, LoopOptions.continuous(SchedulerConfig.of(64, 8), EOS, 64));
        GenerationHandle h = loop.submit(GenerationRequest.of(new int[] {1, 2}, SamplingParams.greedy()));
        loop.start();
        GenerationEvent.Finished f = h.completion().get(10, TimeUnit.SECONDS).finished();
        assertTrue(f.error().orElseThrow().contains("simulated"));
        assertAllFree(kv);
        assertThrows(IllegalStateException.class, () -> loop.submit(GenerationRequest.of(new int[] {1}, SamplingParams.greedy())));
        loop.close();
    }
}
