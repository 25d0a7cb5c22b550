package dev.tokc.runtime.exec;

import dev.tokc.runtime.sampling.FinishReason;
import dev.tokc.runtime.sampling.Sampler;
import dev.tokc.runtime.sampling.SamplingParams;
import dev.tokc.runtime.sampling.StopChecker;
import dev.tokc.runtime.tokenizer.StreamingDecoder;
import dev.tokc.runtime.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The single-sequence generate loop over a {@link TokenModel}: the prompt is fed once (prefill), then each sampled
 * token (decode). With a {@link StepExecutor} every token is computed once against the paged KV cache; with a
 * full-forward {@link JvmExecutor} each token re-runs the sequence (the uncached reference loop). Sampling, stop strings and max tokens come from {@link Sampler} and {@link StopChecker}; text streams
 * through a {@link StreamingDecoder} so multi-byte characters are never split.
 */
public final class Generator {
    /**
     * The outcome of one generation.
     *
     * @param tokens       prompt plus generated ids
     * @param promptTokens how many of {@code tokens} were the prompt
     * @param finish       why it stopped
     * @param firstTokenNanos time from start to the first generated token
     * @param totalNanos   time of the whole generation
     */
    public record Result(long[] tokens, int promptTokens, FinishReason finish, long firstTokenNanos, long totalNanos) {
        /** Generated tokens per second after the first (decode rate); NaN with fewer than two tokens. */
        public double decodeTokensPerSecond() {
            int n = tokens.length - promptTokens;
            return n < 2 ? Double.NaN : (n - 1) / ((totalNanos - firstTokenNanos) / 1e9);
        }
    }

    private final TokenModel model;

    public Generator(TokenModel model) {
        this.model = model;
    }

    /**
     * Generates from {@code prompt} until a stop condition, handing each piece of text to {@code text} as soon as it
     * is safe to print. {@code tokenizer} may be null (ids only; stop strings then never match).
     */
    public Result generate(long[] prompt, SamplingParams params, Tokenizer tokenizer, Set<Integer> eos, Consumer<String> text) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt needs at least one token");
        }
        int[] promptInts = Arrays.stream(prompt).mapToInt(Math::toIntExact).toArray();
        Sampler sampler = new Sampler(params, model.vocabSize(), promptInts);
        StopChecker stop = new StopChecker(params, eos);
        StreamingDecoder decoder = tokenizer == null ? null : new StreamingDecoder(tokenizer, promptInts, true);
        long[] seq = Arrays.copyOf(prompt, prompt.length + params.maxTokens());
        int len = prompt.length;
        long start = System.nanoTime();
        long first = 0;
        FinishReason finish = null;
        try (TokenModel.Session session = model.start()) {
            float[] logits = session.feed(prompt);
            while (true) {
                int token = sampler.sample(logits).token();
                if (len == prompt.length) {
                    first = System.nanoTime() - start;
                }
                seq[len++] = token;
                String piece = decoder == null ? "" : decoder.push(token);
                StopChecker.Step step = stop.onToken(token, piece);
                if (!step.text().isEmpty()) {
                    text.accept(step.text());
                }
                Optional<FinishReason> f = step.finish();
                if (f.isPresent()) {
                    finish = f.get();
                    break;
                }
                logits = session.feed(new long[] {token});
            }
        }
        return new Result(Arrays.copyOf(seq, len), prompt.length, finish, first, System.nanoTime() - start);
    }
}
