package dev.tokc.runtime.server;

import dev.tokc.runtime.sampling.SamplingParams;
import dev.tokc.runtime.sched.GenerationEvent;
import dev.tokc.runtime.sched.GenerationHandle;
import dev.tokc.runtime.sched.GenerationListener;
import dev.tokc.runtime.sched.GenerationLoop;
import dev.tokc.runtime.sched.GenerationRequest;
import dev.tokc.runtime.tokenizer.StreamingDecoder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The choices of one HTTP request in flight: one {@link GenerationLoop} request per (prompt, n), their events
 * merged into one queue tagged with the choice index (prompt-major, as OpenAI numbers choices).
 * {@link #close()} cancels whatever has not finished, so a handler that leaves for any reason (client gone,
 * error) frees the KV blocks of its request at once.
 */
final class GenerationJob implements AutoCloseable {

    /** An event of choice {@code index}. */
    record Tagged(int index, GenerationEvent event) {}

    private final List<GenerationHandle> handles = new ArrayList<>();
    private final BlockingQueue<Tagged> events = new LinkedBlockingQueue<>();
    private int finished;

    /**
     * Submits every choice of {@code request}.
     *
     * @throws ApiError 400 when the loop refuses a choice, 503 when it is shutting down; choices submitted
     *                  before the refusal are cancelled
     */
    GenerationJob(ServingModel model, ParsedRequest request) {
        GenerationLoop loop = model.loop();
        try {
            int index = 0;
            for (ParsedRequest.Prompt prompt : request.prompts()) {
                for (int i = 0; i < request.n(); i++) {
                    SamplingParams params = request.paramsFor(i);
                    // Called on the loop thread, once per generated token in order: the choice's own decoder.
                    StreamingDecoder decoder = new StreamingDecoder(model.tokenizer(), prompt.ids(), true);
                    GenerationRequest r = new GenerationRequest(prompt.ids(), params, decoder::push);
                    int choice = index++;
                    handles.add(loop.submit(r, new GenerationListener() {
                        @Override
                        public void onToken(GenerationEvent.Token token) {
                            events.add(new Tagged(choice, token));
                        }

                        @Override
                        public void onFinish(GenerationEvent.Finished f) {
                            events.add(new Tagged(choice, f));
                        }
                    }));
                }
            }
        } catch (IllegalArgumentException e) {
            close();
            throw ApiError.badRequest(e.getMessage(), null);
        } catch (IllegalStateException e) {
            close();
            throw new ApiError(503, "server_error", "the server is shutting down", null, "server_shutting_down");
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    int size() {
        return handles.size();
    }

    boolean done() {
        return finished == handles.size();
    }

    /** The next event, or null after {@code timeoutMillis}. Only the handler thread calls this. */
    Tagged poll(long timeoutMillis) throws InterruptedException {
        Tagged t = events.poll(timeoutMillis, TimeUnit.MILLISECONDS);
        if (t != null && t.event() instanceof GenerationEvent.Finished) {
            finished++;
        }
        return t;
    }

    /** Cancels every choice still running (their blocks are free when this returns). */
    @Override
    public void close() {
        handles.forEach(GenerationHandle::cancel);
    }
}
