package dev.tokc.runtime.exec;

/**
 * A model the generate loop can drive one sequence at a time: feed tokens, get the next-token logits. Two
 * implementations: {@link StepExecutor} (the paged step program: each token is computed once, its K/V kept in the
 * cache) and {@link JvmExecutor} (the full-forward program, recomputing the whole sequence per token; the reference
 * loop for engines without a step program).
 */
public interface TokenModel {
    /** Entries per logits row. */
    int vocabSize();

    /** Starts a new, empty sequence. */
    Session start();

    /** One sequence's state (its KV blocks for the step program). Close it to release them. */
    interface Session extends AutoCloseable {
        /** Appends {@code tokens} (the prompt, then each sampled token) and returns the logits after the last one. */
        float[] feed(long[] tokens);

        @Override
        void close();
    }
}
