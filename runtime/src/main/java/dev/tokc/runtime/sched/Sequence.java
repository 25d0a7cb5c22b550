package dev.tokc.runtime.sched;

import java.util.Arrays;

/**
 * The scheduler's mutable view of one sequence. Target tokens are the known tokens (prompt plus sampled output);
 * the scheduler's only job is to let {@code computedTokens} catch up with them.
 */
final class Sequence {

    enum State { WAITING, RUNNING }

    final long id;
    final int promptLength;
    final long arrivalNanos;
    private int[] tokens;
    private int numTokens;
    /** Tokens whose KV is in the cache (or scheduled to be, once a step is handed out). */
    int computedTokens;
    /** The most tokens ever computed: positions below it computed again are recomputation. */
    int highWater;
    /** Tokens the worker side knows (see {@link SchedulerOutput.RunningSequence#newTokens()}). */
    int sentTokens;
    /** Blocks the worker side knows. */
    int sentBlocks;
    int preemptions;
    boolean everRan;
    State state = State.WAITING;

    Sequence(long id, int[] prompt, long arrivalNanos) {
        this.id = id;
        this.promptLength = prompt.length;
        this.arrivalNanos = arrivalNanos;
        this.tokens = Arrays.copyOf(prompt, Math.max(16, prompt.length * 2));
        this.numTokens = prompt.length;
    }

    int numTokens() {
        return numTokens;
    }

    int[] tokens() {
        return Arrays.copyOf(tokens, numTokens);
    }

    int[] tokens(int from, int to) {
        return Arrays.copyOfRange(tokens, from, to);
    }

    int remaining() {
        return numTokens - computedTokens;
    }

    void append(int token) {
        if (numTokens == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[numTokens++] = token;
    }
}
