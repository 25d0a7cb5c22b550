package dev.tokc.runtime.sched;

import dev.tokc.runtime.kv.KvBlockManager;
import dev.tokc.runtime.kv.KvBlockManager.Allocation;
import dev.tokc.runtime.kv.KvCacheStats;
import dev.tokc.runtime.sched.AdmissionFilter.Candidate;
import dev.tokc.runtime.sched.AdmissionFilter.StepState;
import dev.tokc.runtime.sched.SchedulerOutput.NewSequence;
import dev.tokc.runtime.sched.SchedulerOutput.RunningSequence;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Iteration-level scheduler: each call to {@link #schedule()} decides which sequences compute how many tokens
 * in the next model step. There is no prefill or decode phase; chunked prefill, prefix caching, preemption and
 * joining mid-flight all fall out of one rule (see {@link #schedule()}).
 *
 * <pre>
 *   add() --> waiting (FIFO; preempted sequences go back to its front)
 *                |  admission filters, token budget, max-num-seqs, KV blocks
 *                v
 *             running (oldest first) --finish()/cancel()--> gone, blocks freed at once
 *                |  no KV room: the newest running sequence is preempted (blocks freed, recomputed later)
 *                +--> waiting
 * </pre>
 *
 * Contract:
 * <ul>
 *   <li>{@link #schedule()} advances each scheduled sequence's computed tokens at once: the caller must run the
 *       step it describes before the next {@code schedule()}, then report sampled tokens through
 *       {@link #appendToken} for the sequences marked {@code samples}.</li>
 *   <li>A sequence holds KV blocks exactly while it is running. The oldest running sequence is never preempted
 *       unless it is the only one, so some sequence always progresses; a sequence whose whole length fits the
 *       pool always completes.</li>
 *   <li>Waiting sequences are not tracked by the {@link KvBlockManager}; running ones are.</li>
 * </ul>
 * Not thread-safe: one thread (the loop's, or whoever holds its lock) owns it and the block manager.
 */
public final class Scheduler {

    private final SchedulerConfig config;
    private final KvBlockManager kv;
    private final Map<Long, Sequence> seqs = new HashMap<>();
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private final List<Long> leftSinceLastStep = new ArrayList<>();
    private long stepId;
    private long preemptions;
    private long prefillTokens;
    private long decodeTokens;
    private long recomputedTokens;

    public Scheduler(SchedulerConfig config, KvBlockManager kv) {
        this.config = config;
        this.kv = kv;
    }

    public SchedulerConfig config() {
        return config;
    }

    public KvBlockManager kv() {
        return kv;
    }

    /** Queues a new sequence; it joins the running batch at the next {@link #schedule()} that admits it. */
    public void add(long seqId, int[] promptTokens, long arrivalNanos) {
        if (promptTokens.length == 0) {
            throw new IllegalArgumentException("sequence " + seqId + " has an empty prompt");
        }
        if (seqs.containsKey(seqId)) {
            throw new IllegalStateException("sequence " + seqId + " already exists");
        }
        Sequence s = new Sequence(seqId, promptTokens, arrivalNanos);
        seqs.put(seqId, s);
        waiting.addLast(s);
    }

    /**
     * Plans one step: which sequences compute how many tokens, which join, which are preempted. Running
     * sequences are served first (oldest first), then waiting ones join while budget, {@code maxNumSeqs}, KV
     * blocks and the admission filters allow.
     */
    public SchedulerOutput schedule() {
        // Invariant: there is no prefill phase and no decode phase. Every sequence has computedTokens <=
        // targetTokens (its known tokens: prompt plus sampled output), and a step hands each sequence some of
        // that difference under the token budget; it samples when computed reaches target. A fresh prompt is a
        // large difference (cut into chunks by the budget), a decode a difference of one, a prefix-cache hit
        // starts computed above zero, and a preempted sequence starts over from whatever the cache still holds.
        int budget = config.maxNumBatchedTokens();
        List<RunningSequence> diffs = new ArrayList<>();
        List<NewSequence> added = new ArrayList<>();
        List<Long> preempted = new ArrayList<>();
        // 1. Running sequences, oldest first. A victim comes from the tail: newest, not yet scheduled this step.
        for (int i = 0; i < running.size() && budget > 0; i++) {
            Sequence s = running.get(i);
            int n = Math.min(s.remaining(), budget);
            if (n == 0) {
                continue;
            }
            Optional<Allocation> a = allocateOrPreempt(s, n, preempted);
            if (a.isEmpty()) {
                break;   // s preempted itself: it was the last one
            }
            budget -= n;
            diffs.add(new RunningSequence(s.id, s.tokens(s.sentTokens, s.numTokens()), newBlocks(s),
                    s.computedTokens, n, s.computedTokens + n == s.numTokens()));
            s.sentTokens = s.numTokens();
            advance(s, n);
        }
        // 2. Waiting sequences, FIFO through the admission filters; none join in a step that had to preempt.
        int runningBefore = running.size();
        while (preempted.isEmpty() && budget > 0 && !waiting.isEmpty() && running.size() < config.maxNumSeqs()) {
            Sequence s = waiting.peekFirst();
            kv.addSequence(s.id, s.tokens());
            int cached = kv.cachedPrefixTokens(s.id);
            KvCacheStats blocks = kv.stats();
            int n = admit(new Candidate(s.id, s.numTokens(), cached, s.arrivalNanos, s.preemptions),
                    new StepState(runningBefore, added.size(), waiting.size(), budget, blocks.freeBlocks(),
                            blocks.totalBlocks(), kv.blockSize()),
                    Math.min(s.numTokens() - cached, budget));
            Optional<Allocation> a = n > 0 ? kv.allocate(s.id, n) : Optional.empty();
            if (a.isEmpty()) {
                kv.free(s.id);   // holds no blocks; waiting sequences stay untracked
                break;
            }
            waiting.pollFirst();
            running.add(s);
            s.state = Sequence.State.RUNNING;
            s.everRan = true;
            s.computedTokens = a.get().cachedTokens();
            budget -= n;
            s.sentBlocks = 0;
            added.add(new NewSequence(s.id, s.tokens(), newBlocks(s), s.computedTokens, n,
                    s.computedTokens + n == s.numTokens()));
            s.sentTokens = s.numTokens();
            advance(s, n);
        }
        List<Long> left = List.copyOf(leftSinceLastStep);
        leftSinceLastStep.clear();
        return new SchedulerOutput(stepId++, diffs, added, preempted, left);
    }

    /** Records a token sampled for a running sequence; it becomes the sequence's next target token. */
    public void appendToken(long seqId, int token) {
        Sequence s = require(seqId);
        if (s.state != Sequence.State.RUNNING || s.computedTokens != s.numTokens()) {
            throw new IllegalStateException("sequence " + seqId + " did not sample in the last step");
        }
        s.append(token);
        kv.appendTokens(seqId, token);
    }

    /**
     * Removes a finished or cancelled sequence, waiting or running, and frees its blocks now. Returns false when
     * the sequence is unknown (already gone). The next output lists it in {@code finished} if the worker knew it.
     */
    public boolean remove(long seqId) {
        Sequence s = seqs.remove(seqId);
        if (s == null) {
            return false;
        }
        if (s.state == Sequence.State.RUNNING) {
            running.remove(s);
            kv.free(seqId);
            leftSinceLastStep.add(seqId);
        } else {
            waiting.remove(s);
        }
        return true;
    }

    public boolean contains(long seqId) {
        return seqs.containsKey(seqId);
    }

    /** Whether the sequence is running (holds KV blocks). */
    public boolean isRunning(long seqId) {
        Sequence s = seqs.get(seqId);
        return s != null && s.state == Sequence.State.RUNNING;
    }

    /** The sequence's known tokens: prompt, then sampled output. */
    public int[] tokens(long seqId) {
        return require(seqId).tokens();
    }

    public int numWaiting() {
        return waiting.size();
    }

    /** Waiting sequences that never ran (the request queue, as opposed to preempted sequences). */
    public int numQueued() {
        int n = 0;
        for (Sequence s : waiting) {
            n += s.everRan ? 0 : 1;
        }
        return n;
    }

    public int numRunning() {
        return running.size();
    }

    public boolean hasWork() {
        return !seqs.isEmpty();
    }

    /** Counters since construction. */
    public Counters counters() {
        return new Counters(stepId, preemptions, prefillTokens, decodeTokens, recomputedTokens);
    }

    /**
     * @param steps        calls to {@link #schedule()}
     * @param preemptions  sequences preempted
     * @param prefillTokens prompt tokens computed the first time
     * @param decodeTokens  output tokens computed the first time
     * @param recomputedTokens tokens computed again after a preemption (prefix-cache hits excluded)
     */
    public record Counters(long steps, long preemptions, long prefillTokens, long decodeTokens,
                           long recomputedTokens) {}

    /** Allocates n slots for s, preempting from the tail of running until it fits or s itself was preempted. */
    private Optional<Allocation> allocateOrPreempt(Sequence s, int n, List<Long> preempted) {
        while (true) {
            Optional<Allocation> a = kv.allocate(s.id, n);
            if (a.isPresent()) {
                return a;
            }
            Sequence victim = running.removeLast();
            preempt(victim);
            preempted.add(victim.id);
            if (victim == s) {
                return Optional.empty();
            }
        }
    }

    private void preempt(Sequence s) {
        kv.free(s.id);
        s.state = Sequence.State.WAITING;
        s.computedTokens = 0;
        s.preemptions++;
        preemptions++;
        waiting.addFirst(s);
    }

    private int admit(Candidate c, StepState step, int proposed) {
        int n = proposed;
        for (AdmissionFilter f : config.filters()) {
            if (n == 0) {
                break;
            }
            int next = f.admit(c, step, n);
            if (next < 0 || next > n) {
                throw new IllegalStateException("admission filter " + f + " answered " + next + " for " + n + " tokens");
            }
            n = next;
        }
        return n;
    }

    /** Blocks appended to s's table since the worker last saw it. */
    private int[] newBlocks(Sequence s) {
        int[] table = kv.blockTable(s.id);
        int[] out = Arrays.copyOfRange(table, s.sentBlocks, table.length);
        s.sentBlocks = table.length;
        return out;
    }

    private void advance(Sequence s, int n) {
        int from = s.computedTokens;
        int to = from + n;
        int fresh = Math.max(from, s.highWater);
        recomputedTokens += Math.max(0, Math.min(to, s.highWater) - from);
        prefillTokens += Math.max(0, Math.min(to, s.promptLength) - fresh);
        decodeTokens += Math.max(0, to - Math.max(fresh, s.promptLength));
        s.highWater = Math.max(s.highWater, to);
        s.computedTokens = to;
    }

    private Sequence require(long seqId) {
        Sequence s = seqs.get(seqId);
        if (s == null) {
            throw new IllegalStateException("sequence " + seqId + " is not scheduled");
        }
        return s;
    }
}
