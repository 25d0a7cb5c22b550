package dev.tokc.runtime.sched;

import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A submitted request, seen from the submitting thread: a blocking queue of its {@link GenerationEvent}s, a
 * future of the whole result, and {@link #cancel()}. Thread-safe. After the {@link GenerationEvent.Finished}
 * event nothing more arrives.
 */
public final class GenerationHandle {

    /**
     * The whole output of a finished request.
     *
     * @param tokens generated token ids, stop/EOS token included when one ended it
     * @param text   the streamed text, concatenated
     */
    public record Completion(int[] tokens, String text, GenerationEvent.Finished finished) {
        public Completion {
            tokens = tokens.clone();
        }

        @Override
        public int[] tokens() {
            return tokens.clone();
        }
    }

    private final long id;
    private final GenerationLoop loop;
    private final GenerationListener listener;
    private final BlockingQueue<GenerationEvent> events = new LinkedBlockingQueue<>();
    private final CompletableFuture<Completion> completion = new CompletableFuture<>();
    private final StringBuilder text = new StringBuilder();
    private int[] tokens = new int[16];
    private int numTokens;
    private boolean done;

    GenerationHandle(long id, GenerationLoop loop, GenerationListener listener) {
        this.id = id;
        this.loop = loop;
        this.listener = listener;
    }

    /** The request id, unique within its loop. */
    public long id() {
        return id;
    }

    /** The next event, waiting for it. */
    public GenerationEvent take() throws InterruptedException {
        return events.take();
    }

    /** The next event, or null after {@code timeout}. */
    public GenerationEvent poll(long timeout, TimeUnit unit) throws InterruptedException {
        return events.poll(timeout, unit);
    }

    /** Completes when the request finishes, is cancelled or fails. */
    public CompletableFuture<Completion> completion() {
        return completion;
    }

    /** Cancels the request: its KV blocks are free when this returns. No effect once it finished. */
    public void cancel() {
        loop.cancel(id);
    }

    synchronized void deliver(GenerationEvent.Token t) {
        if (done) {
            return;
        }
        if (numTokens == tokens.length) {
            tokens = Arrays.copyOf(tokens, numTokens * 2);
        }
        tokens[numTokens++] = t.token();
        text.append(t.text());
        events.add(t);
        if (listener != null) {
            listener.onToken(t);
        }
    }

    /** Returns false when the request had already finished. */
    synchronized boolean deliver(GenerationEvent.Finished f) {
        if (done) {
            return false;
        }
        done = true;
        events.add(f);
        if (listener != null) {
            listener.onFinish(f);
        }
        completion.complete(new Completion(Arrays.copyOf(tokens, numTokens), text.toString(), f));
        return true;
    }
}
