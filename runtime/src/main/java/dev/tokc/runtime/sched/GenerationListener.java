package dev.tokc.runtime.sched;

/**
 * Receives one request's stream. Called on the loop thread (or, for a cancellation, on the cancelling thread),
 * never concurrently for one request, and never after {@link #onFinish}; implementations must return quickly.
 */
public interface GenerationListener {

    void onToken(GenerationEvent.Token token);

    void onFinish(GenerationEvent.Finished finished);
}
