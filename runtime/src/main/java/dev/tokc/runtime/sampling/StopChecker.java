package dev.tokc.runtime.sampling;

import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Decides, token by token, when a sequence ends and which of its text may be streamed to the client now.
 *
 * <p>Stop strings may span tokens, and the client must never see any part of one, so text that could still
 * become a stop string is held back:
 * <pre>
 *   stop = "###"          token texts: "foo #"   "#"      "x"
 *   emitted:                           "foo "    ""       "##x"     (held: "#", "##", then released)
 * </pre>
 * Rules, in this order, for each token:
 * <ol>
 *   <li>a token in {@link SamplingParams#stopTokenIds()}, or an EOS id (unless {@code ignoreEos}), ends the
 *       sequence; its text is not emitted, held text is;</li>
 *   <li>otherwise its text joins the held text; if a stop string now occurs, the text before the earliest
 *       occurrence is emitted and the sequence ends (the stop string and anything after it are dropped);</li>
 *   <li>otherwise, at {@code maxTokens} generated tokens, everything held is emitted and the sequence ends;</li>
 *   <li>otherwise the longest tail that is a proper prefix of some stop string stays held; the rest is emitted.</li>
 * </ol>
 * Token texts are whatever the detokenizer produced for each token (incremental detokenization, including
 * holding back incomplete UTF-8, is its job). Not thread-safe.
 */
public final class StopChecker {

    /** What one token contributed: text safe to emit now, and whether the sequence ended. */
    public record Step(String text, Optional<FinishReason> finish) {}

    private final List<String> stops;
    private final Set<Integer> stopTokens;
    private final Set<Integer> eosTokens;
    private final boolean ignoreEos;
    private final int maxTokens;
    private final StringBuilder held = new StringBuilder();
    private int count;
    private FinishReason finished;
    private String matchedStop;

    public StopChecker(SamplingParams params, Set<Integer> eosTokenIds) {
        this.stops = params.stop();
        this.stopTokens = params.stopTokenIds();
        this.eosTokens = Set.copyOf(eosTokenIds);
        this.ignoreEos = params.ignoreEos();
        this.maxTokens = params.maxTokens();
    }

    /** Feeds one generated token and its text. */
    public Step onToken(int token, String text) {
        if (finished != null) {
            throw new IllegalStateException("sequence already finished (" + finished + ")");
        }
        count++;
        if (stopTokens.contains(token)) {
            return finish(FinishReason.STOP_TOKEN, flush());
        }
        if (!ignoreEos && eosTokens.contains(token)) {
            return finish(FinishReason.EOS, flush());
        }
        held.append(text);
        int at = -1;
        for (String s : stops) {
            int i = held.indexOf(s);
            if (i >= 0 && (at < 0 || i < at)) {
                at = i;
                matchedStop = s;
            }
        }
        if (at >= 0) {
            String out = held.substring(0, at);
            held.setLength(0);
            return finish(FinishReason.STOP_STRING, out);
        }
        if (count >= maxTokens) {
            return finish(FinishReason.LENGTH, flush());
        }
        int keep = longestStopPrefixSuffix();
        String out = held.substring(0, held.length() - keep);
        held.delete(0, held.length() - keep);
        return new Step(out, Optional.empty());
    }

    public Optional<FinishReason> finishReason() {
        return Optional.ofNullable(finished);
    }

    /** The stop string that ended the sequence, when one did. */
    public Optional<String> matchedStop() {
        return Optional.ofNullable(matchedStop);
    }

    /** Tokens seen so far. */
    public int count() {
        return count;
    }

    /** Text currently held back (for tests and debugging). */
    String heldText() {
        return held.toString();
    }

    /** Length of the longest suffix of {@code held} that is a proper prefix of a stop string. */
    private int longestStopPrefixSuffix() {
        int best = 0;
        String text = held.toString();
        for (String s : stops) {
            for (int len = Math.min(s.length() - 1, text.length()); len > best; len--) {
                if (text.regionMatches(text.length() - len, s, 0, len)) {
                    best = len;
                    break;
                }
            }
        }
        return best;
    }

    private String flush() {
        String out = held.toString();
        held.setLength(0);
        return out;
    }

    private Step finish(FinishReason reason, String text) {
        finished = reason;
        return new Step(text, Optional.of(reason));
    }
}
