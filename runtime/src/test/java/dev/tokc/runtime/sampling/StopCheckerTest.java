package dev.tokc.runtime.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.runtime.sampling.StopChecker.Step;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class StopCheckerTest {

    private static final int EOS = 2;

    private static StopChecker checker(String... stops) {
        return new StopChecker(SamplingParams.DEFAULT.withMaxTokens(100).withStop(List.of(stops)), Set.of(EOS));
    }

    @Test
    void stopStringAcrossTokensIsNeverEmitted() {
        StopChecker c = checker("###");
        assertEquals(new Step("foo ", Optional.empty()), c.onToken(10, "foo #"));
        assertEquals("#", c.heldText());
        assertEquals(new Step("", Optional.empty()), c.onToken(11, "#"));
        assertEquals(new Step("", Optional.of(FinishReason.STOP_STRING)), c.onToken(12, "#bar"));
        assertEquals(Optional.of("###"), c.matchedStop());
        assertEquals(Optional.of(FinishReason.STOP_STRING), c.finishReason());
    }

    @Test
    void heldTextIsReleasedWhenItStopsLookingLikeAStop() {
        StopChecker c = checker("###");
        c.onToken(10, "a#");
        assertEquals(new Step("##x", Optional.empty()), c.onToken(11, "#x"));
        assertEquals("", c.heldText());
    }

    @Test
    void stopInsideATokenKeepsTheTextBeforeIt() {
        StopChecker c = checker("\n\n");
        assertEquals(new Step("Hello", Optional.of(FinishReason.STOP_STRING)), c.onToken(10, "Hello\n\nWorld"));
    }

    @Test
    void earliestOfSeveralStopsWins() {
        StopChecker c = checker("world", "lo w");
        assertEquals(new Step("hel", Optional.of(FinishReason.STOP_STRING)), c.onToken(10, "hello world"));
        assertEquals(Optional.of("lo w"), c.matchedStop());
    }

    @Test
    void eosEndsTheSequenceAndFlushesHeldText() {
        StopChecker c = checker("###");
        c.onToken(10, "x#");
        assertEquals(new Step("#", Optional.of(FinishReason.EOS)), c.onToken(EOS, "</s>"));
        assertThrows(IllegalStateException.class, () -> c.onToken(10, "more"));
    }

    @Test
    void ignoreEosTreatsItAsText() {
        StopChecker c = new StopChecker(SamplingParams.DEFAULT.withIgnoreEos(true), Set.of(EOS));
        assertEquals(new Step("</s>", Optional.empty()), c.onToken(EOS, "</s>"));
    }

    @Test
    void stopTokenIdsEndTheSequence() {
        StopChecker c = new StopChecker(SamplingParams.DEFAULT.withStopTokenIds(Set.of(7)).withIgnoreEos(true), Set.of(EOS));
        assertEquals(new Step("", Optional.of(FinishReason.STOP_TOKEN)), c.onToken(7, "<|eot|>"));
        assertEquals("stop", FinishReason.STOP_TOKEN.openAiName());
    }

    @Test
    void maxTokensEndsWithLengthAndFlushes() {
        StopChecker c = new StopChecker(SamplingParams.DEFAULT.withMaxTokens(2).withStop(List.of("ab")), Set.of());
        assertEquals(new Step("x", Optional.empty()), c.onToken(1, "xa"));
        assertEquals(new Step("ac", Optional.of(FinishReason.LENGTH)), c.onToken(1, "c"));
        assertEquals("length", FinishReason.LENGTH.openAiName());
        assertEquals(2, c.count());
    }

    @Test
    void aStopStringOnTheLastTokenBeatsLength() {
        StopChecker c = new StopChecker(SamplingParams.DEFAULT.withMaxTokens(1).withStop(List.of("b")), Set.of());
        assertEquals(new Step("a", Optional.of(FinishReason.STOP_STRING)), c.onToken(1, "abc"));
    }

    /** Whatever the token boundaries: emitted text = text before the first stop, and no stop is ever visible. */
    @Test
    void randomSplitsEmitExactlyThePrefixBeforeTheFirstStop() {
        SplittableRandom r = new SplittableRandom(9);
        List<String> stops = List.of("aba", "bb", "cab");
        for (int trial = 0; trial < 2000; trial++) {
            StringBuilder text = new StringBuilder();
            int len = 1 + r.nextInt(20);
            for (int i = 0; i < len; i++) {
                text.append("abc".charAt(r.nextInt(3)));
            }
            String full = text.toString();
            int first = stops.stream().mapToInt(full::indexOf).filter(i -> i >= 0).min().orElse(-1);
            String expected = first < 0 ? full : full.substring(0, first);

            StopChecker c = new StopChecker(SamplingParams.DEFAULT.withMaxTokens(1000).withStop(stops), Set.of(EOS));
            StringBuilder emitted = new StringBuilder();
            int pos = 0;
            while (pos < full.length() && c.finishReason().isEmpty()) {
                int n = 1 + r.nextInt(4);
                String piece = full.substring(pos, Math.min(full.length(), pos + n));
                pos += piece.length();
                emitted.append(c.onToken(10, piece).text());
                for (String s : stops) {
                    assertFalse(emitted.toString().contains(s), full);
                }
            }
            if (c.finishReason().isEmpty()) {
                emitted.append(c.onToken(EOS, "").text());
            }
            assertEquals(expected, emitted.toString(), full);
            assertTrue(c.finishReason().isPresent());
        }
    }
}
