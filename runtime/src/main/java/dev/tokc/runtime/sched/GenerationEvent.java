package dev.tokc.runtime.sched;

import dev.tokc.runtime.sampling.FinishReason;
import dev.tokc.runtime.sampling.Logprobs;
import java.util.Optional;

/** What a request's stream carries: tokens, then exactly one {@link Finished}. */
public sealed interface GenerationEvent {

    /**
     * One generated token.
     *
     * @param index    0 for the first generated token
     * @param token    its id (a stop or EOS token is reported too, with empty text)
     * @param text     the text that may be shown now (stop-string look-ahead may hold some back)
     * @param logprobs when the request asked for them
     */
    record Token(int index, int token, String text, Optional<Logprobs> logprobs) implements GenerationEvent {}

    /**
     * The end of the stream.
     *
     * @param reason           why it stopped; empty when cancelled or failed
     * @param cancelled        whether {@link GenerationHandle#cancel()} (or shutdown) ended it
     * @param error            what failed, when the executor or sampler threw
     * @param promptTokens     prompt length
     * @param completionTokens tokens generated
     */
    record Finished(Optional<FinishReason> reason, boolean cancelled, Optional<String> error, int promptTokens,
                    int completionTokens) implements GenerationEvent {}
}
