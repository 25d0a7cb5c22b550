package dev.tokc.runtime.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class SamplingParamsTest {

    private static void rejects(String expectedMessage, Supplier<SamplingParams> make) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, make::get);
        assertEquals(expectedMessage, e.getMessage());
    }

    @Test
    void invalidValuesNameTheParameterAndTheRange() {
        SamplingParams d = SamplingParams.DEFAULT;
        rejects("temperature must be a finite number >= 0, got -0.5", () -> d.withTemperature(-0.5));
        rejects("temperature must be a finite number >= 0, got NaN", () -> d.withTemperature(Double.NaN));
        rejects("topK must be >= 0 (0 disables), got -1", () -> d.withTopK(-1));
        rejects("topP must be (0, 1], got 0.0", () -> d.withTopP(0));
        rejects("topP must be (0, 1], got 1.5", () -> d.withTopP(1.5));
        rejects("minP must be [0, 1], got -0.1", () -> d.withMinP(-0.1));
        rejects("repetitionPenalty must be a finite number > 0 (1 disables), got 0.0", () -> d.withRepetitionPenalty(0));
        rejects("presencePenalty must be [-2, 2], got 2.5", () -> d.withPresencePenalty(2.5));
        rejects("frequencyPenalty must be [-2, 2], got -3.0", () -> d.withFrequencyPenalty(-3));
        rejects("maxTokens must be >= 1, got 0", () -> d.withMaxTokens(0));
        rejects("stop must be non-empty strings, got \"\"", () -> d.withStop(List.of("a", "")));
        rejects("stopTokenIds must be token ids >= 0, got -2", () -> d.withStopTokenIds(Set.of(-2)));
        rejects("topLogprobs must be [0, 20], got 21", () -> d.withLogprobs(21));
        rejects("topLogprobs must be 0 unless logprobs is true, got 3", () -> new SamplingParams(1, 0, 1, 0, 1, 0, 0,
                java.util.OptionalLong.empty(), 1, List.of(), Set.of(), false, false, 3));
    }

    @Test
    void withersReturnThisWhenNothingChanges() {
        SamplingParams p = SamplingParams.DEFAULT.withSeed(7).withLogprobs(2).withStop(List.of("x"));
        assertSame(p, p.withTemperature(1.0));
        assertSame(p, p.withTopK(0));
        assertSame(p, p.withTopP(1.0));
        assertSame(p, p.withMinP(0));
        assertSame(p, p.withRepetitionPenalty(1));
        assertSame(p, p.withPresencePenalty(0));
        assertSame(p, p.withFrequencyPenalty(0));
        assertSame(p, p.withSeed(7));
        assertSame(p, p.withMaxTokens(16));
        assertSame(p, p.withStop(List.of("x")));
        assertSame(p, p.withStopTokenIds(Set.of()));
        assertSame(p, p.withIgnoreEos(false));
        assertSame(p, p.withLogprobs(2));
        assertEquals(0.5, p.withTopP(0.5).topP());
        assertEquals(7L, p.withTopK(3).seed().getAsLong());
    }

    @Test
    void greedyIsTemperatureZero() {
        assertTrue(SamplingParams.greedy().isGreedy());
        assertEquals(0.0, SamplingParams.greedy().temperature());
    }

    @Test
    void collectionsAreCopied() {
        java.util.ArrayList<String> stops = new java.util.ArrayList<>(List.of("a"));
        SamplingParams p = SamplingParams.DEFAULT.withStop(stops);
        stops.add("b");
        assertEquals(List.of("a"), p.stop());
    }
}
