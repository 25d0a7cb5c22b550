package dev.tokc.runtime.sched;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.runtime.kv.KvBlockManager;
import dev.tokc.runtime.sched.SchedulerOutput.NewSequence;
import dev.tokc.runtime.sched.SchedulerOutput.RunningSequence;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The scheduler driven by hand, step by step, with the batch builder and the toy model behind it. */
class SchedulerTest {

    private static int[] prompt(int from, int count) {
        return IntStream.range(from, from + count).map(t -> t % ToyModel.VOCAB).toArray();
    }

    /** Runs one step: schedule, build, execute; appends the argmax token for each sampling sequence. */
    private static SchedulerOutput step(Scheduler s, StepBatchBuilder b, ToyModel m) {
        SchedulerOutput out = s.schedule();
        StepBatch batch = b.build(out);
        if (!out.isEmpty()) {
            float[][] logits = m.step(batch);
            for (int k = 0; k < batch.numOutputs(); k++) {
                s.appendToken(batch.outputSeqIds()[k], argmax(logits[k]));
            }
        }
        return out;
    }

    private static int argmax(float[] l) {
        int best = 0;
        for (int i = 1; i < l.length; i++) {
            best = l[i] > l[best] ? i : best;
        }
        return best;
    }

    @Test
    void chunkedPrefillFallsOutOfTheBudget() {
        KvBlockManager kv = new KvBlockManager(32, 4, false);
        Scheduler s = new Scheduler(SchedulerConfig.of(8, 4), kv);
        StepBatchBuilder b = new StepBatchBuilder(4, 0);
        ToyModel m = new ToyModel(32, 4);
        s.add(1, prompt(0, 30), 0);
        int[] chunks = {8, 8, 8, 6, 1, 1};
        for (int i = 0; i < chunks.length; i++) {
            SchedulerOutput out = step(s, b, m);
            assertEquals(chunks[i], out.totalScheduled(), "step " + i);
            boolean samples = i >= 3;
            if (i == 0) {
                NewSequence a = out.added().getFirst();
                assertEquals(30, a.tokens().length, "a new sequence travels in full");
                assertEquals(0, a.computedTokens());
                assertEquals(samples, a.samples());
            } else {
                RunningSequence r = out.running().getFirst();
                assertEquals(i <= 3 ? 8 * i : 26 + i, r.computedTokens());
                assertEquals(samples, r.samples());
                assertEquals(i >= 4 ? 1 : 0, r.newTokens().length, "only sampled tokens travel again");
            }
        }
        assertEquals(32, kv.numSlots(1));
        assertEquals(33, s.tokens(1).length, "30 prompt tokens and 3 sampled");
        assertEquals(new Scheduler.Counters(6, 0, 30, 2, 0), s.counters());
    }

    @Test
    void newSequencesJoinAtTheNextStepAndFinishedOnesLeaveAtOnce() {
        KvBlockManager kv = new KvBlockManager(32, 4, false);
        Scheduler s = new Scheduler(SchedulerConfig.of(64, 8), kv);
        StepBatchBuilder b = new StepBatchBuilder(4, 0);
        ToyModel m = new ToyModel(32, 4);
        s.add(1, prompt(0, 5), 0);
        step(s, b, m);
        s.add(2, prompt(10, 3), 0);
        SchedulerOutput out = step(s, b, m);
        assertEquals(List.of(1L), out.running().stream().map(RunningSequence::seqId).toList());
        assertEquals(List.of(2L), out.added().stream().map(NewSequence::seqId).toList());
        assertEquals(1 + 3, out.totalScheduled(), "a decode and a whole prefill share the step");
        int used = kv.stats().usedBlocks();
        assertTrue(s.remove(1));
        assertEquals(used - 2, kv.stats().usedBlocks(), "sequence 1's blocks are free before the next step");
        out = step(s, b, m);
        assertEquals(List.of(1L), out.finished());
        assertEquals(List.of(2L), out.running().stream().map(RunningSequence::seqId).toList());
        assertFalse(s.remove(1));
        assertEquals(1, b.size());
    }

    @Test
    void builderMirrorMatchesTheBlockManagerAndPadsWithTheNullBlock() {
        KvBlockManager kv = new KvBlockManager(64, 4, false);
        Scheduler s = new Scheduler(SchedulerConfig.of(16, 8), kv);
        StepBatchBuilder b = new StepBatchBuilder(4, 6);
        ToyModel m = new ToyModel(64, 4);
        s.add(1, prompt(0, 13), 0);
        s.add(2, prompt(20, 2), 0);
        s.add(3, prompt(30, 7), 0);
        for (int i = 0; i < 6; i++) {
            SchedulerOutput out = s.schedule();
            StepBatch batch = b.build(out);
            for (int row = 0; row < batch.numSeqs(); row++) {
                long id = batch.seqIds()[row];
                int[] table = kv.blockTable(id);
                assertArrayEquals(table, b.blockTable(id));
                int[] padded = batch.blockTableRow(row);
                assertEquals(6, padded.length, "at least the minimum width");
                for (int j = 0; j < padded.length; j++) {
                    assertEquals(j < table.length ? table[j] : 0, padded[j]);
                }
            }
            float[][] logits = m.step(batch);
            for (int k = 0; k < batch.numOutputs(); k++) {
                s.appendToken(batch.outputSeqIds()[k], argmax(logits[k]));
            }
        }
    }

    @Test
    void stepBatchLaysOutTheRaggedInputs() {
        KvBlockManager kv = new KvBlockManager(16, 4, false);
        Scheduler s = new Scheduler(SchedulerConfig.of(7, 4), kv);
        StepBatchBuilder b = new StepBatchBuilder(4, 0);
        s.add(1, prompt(0, 5), 0);
        s.add(2, prompt(40, 3), 0);
        StepBatch batch = b.build(s.schedule());
        // seq 1: 5 tokens, blocks 1 and 2; seq 2: 2 of its 3 tokens (budget 7), block 3.
        assertArrayEquals(new long[] {0, 1, 2, 3, 4, 40, 41}, batch.tokens());
        assertArrayEquals(new long[] {0, 1, 2, 3, 4, 0, 1}, batch.positions());
        assertArrayEquals(new long[] {4, 5, 6, 7, 8, 12, 13}, batch.slots());
        assertArrayEquals(new int[] {1, 2, 3, 0}, batch.blockTables());
        assertArrayEquals(new int[] {5, 2}, batch.contextLens());
        assertArrayEquals(new int[] {0, 5, 7}, batch.queryStarts());
        assertArrayEquals(new long[] {4}, batch.logitsIndices(), "seq 2 is mid-prefill: no logits");
        assertArrayEquals(new long[] {1}, batch.outputSeqIds());
    }

    @Test
    void noRoomPreemptsTheNewestRunningSequence() {
        // 6 usable blocks of 2 tokens: three 4-token prompts fill the pool; the first decode needs a block.
        KvBlockManager kv = new KvBlockManager(7, 2, false);
        Scheduler s = new Scheduler(SchedulerConfig.of(64, 8), kv);
        StepBatchBuilder b = new StepBatchBuilder(2, 0);
        ToyModel m = new ToyModel(7, 2);
        s.add(1, prompt(0, 4), 0);
        s.add(2, prompt(10, 4), 0);
        s.add(3, prompt(20, 4), 0);
        step(s, b, m);
        assertEquals(0, kv.stats().freeBlocks());
        SchedulerOutput out = step(s, b, m);
        assertEquals(List.of(3L), out.preempted(), "the newest goes; the oldest two decode");
        assertEquals(List.of(1L, 2L), out.running().stream().map(RunningSequence::seqId).toList());
        assertTrue(out.added().isEmpty(), "nothing joins in a step that preempted");
        assertEquals(1, s.numWaiting());
        assertFalse(s.isRunning(3));
        assertEquals(1, s.counters().preemptions());
        s.remove(1);
        s.remove(2);
        out = step(s, b, m);
        NewSequence back = out.added().getFirst();
        assertEquals(3L, back.seqId());
        assertEquals(5, back.tokens().length, "it comes back in full, with the token it had sampled");
        assertEquals(5, back.scheduled(), "and recomputes all of it");
        assertEquals(4, s.counters().recomputedTokens());
    }

    @Test
    void theOnlyRunningSequencePreemptsItselfAndComesBack() {
        KvBlockManager kv = new KvBlockManager(3, 2, false);
        Scheduler s = new Scheduler(SchedulerConfig.of(2, 8), kv);
        StepBatchBuilder b = new StepBatchBuilder(2, 0);
        ToyModel m = new ToyModel(3, 2);
        s.add(1, prompt(0, 3), 0);
        s.add(2, prompt(5, 2), 0);
        step(s, b, m);   // 1 gets slots 0..1
        SchedulerOutput out = step(s, b, m);   // 1 needs a second block; 2 waits behind the budget
        assertTrue(out.preempted().isEmpty());
        s.remove(1);
        assertEquals(2, kv.stats().freeBlocks());
    }

    @Test
    void prefixCacheHitSkipsThePrefill() {
        KvBlockManager kv = new KvBlockManager(32, 4, true);
        Scheduler s = new Scheduler(SchedulerConfig.of(64, 8), kv);
        StepBatchBuilder b = new StepBatchBuilder(4, 0);
        ToyModel m = new ToyModel(32, 4);
        int[] shared = prompt(3, 16);
        s.add(1, shared, 0);
        step(s, b, m);
        s.remove(1);
        int[] longer = IntStream.concat(IntStream.of(shared), IntStream.of(50, 51, 52)).toArray();
        s.add(2, longer, 0);
        SchedulerOutput out = step(s, b, m);
        NewSequence a = out.added().getFirst();
        assertEquals(16, a.computedTokens(), "four cached blocks");
        assertEquals(3, a.scheduled());
        assertEquals(16, kv.stats().hitTokens());
        assertEquals(16 + 3, s.counters().prefillTokens());
    }

    @Test
    void admissionFiltersNarrowWhatJoins() {
        KvBlockManager kv = new KvBlockManager(32, 4, false);
        Scheduler whole = new Scheduler(SchedulerConfig.of(8, 8).withFilter(new AdmissionFilters.NoChunkedPrefill()), kv);
        whole.add(1, prompt(0, 6), 0);
        whole.add(2, prompt(0, 6), 0);
        SchedulerOutput out = whole.schedule();
        assertEquals(1, out.added().size(), "the second prompt does not fit the rest of the budget whole");
        assertEquals(6, out.totalScheduled());

        KvBlockManager kv2 = new KvBlockManager(32, 4, false);
        Scheduler capped = new Scheduler(SchedulerConfig.of(64, 8).withFilter(new AdmissionFilters.MaxFirstChunk(5)), kv2);
        capped.add(1, prompt(0, 12), 0);
        capped.add(2, prompt(0, 3), 0);
        assertEquals(5 + 3, capped.schedule().totalScheduled());
        capped.appendToken(2, 9);   // sequence 2 sampled
        assertEquals(7 + 1, capped.schedule().totalScheduled(), "the rest of the prompt is not capped");

        KvBlockManager kv3 = new KvBlockManager(9, 4, false);   // 8 usable blocks
        Scheduler careful = new Scheduler(SchedulerConfig.of(64, 8).withFilter(new AdmissionFilters.KvWatermark(0.5)), kv3);
        careful.add(1, prompt(0, 16), 0);   // 4 blocks: leaves 4 free, exactly half
        careful.add(2, prompt(0, 4), 0);    // 1 more would leave 3
        assertEquals(1, careful.schedule().added().size());
        assertEquals(1, careful.numWaiting());

        long[] now = {0};
        KvBlockManager kv4 = new KvBlockManager(32, 4, false);
        Scheduler batched = new Scheduler(SchedulerConfig.of(64, 8)
                .withFilter(new AdmissionFilters.StaticBatching(2, Duration.ofNanos(100), () -> now[0])), kv4);
        batched.add(1, prompt(0, 3), 0);
        assertTrue(batched.schedule().isEmpty(), "waits for a full batch");
        now[0] = 100;
        assertEquals(1, batched.schedule().added().size(), "or for the oldest to wait long enough");
        batched.add(2, prompt(0, 3), 100);
        batched.add(3, prompt(0, 3), 100);
        assertTrue(batched.schedule().added().isEmpty(), "nothing joins a running batch");
        Scheduler widening = new Scheduler(SchedulerConfig.of(8, 8).withFilter((c, st, p) -> p + 1),
                new KvBlockManager(8, 4, false));
        widening.add(1, prompt(0, 3), 0);
        assertThrows(IllegalStateException.class, widening::schedule, "a filter may only narrow");
    }
}
