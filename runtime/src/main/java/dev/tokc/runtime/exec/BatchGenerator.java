package dev.tokc.runtime.exec;

import dev.tokc.runtime.sampling.FinishReason;
import dev.tokc.runtime.sampling.Sampler;
import dev.tokc.runtime.sampling.SamplingParams;
import dev.tokc.runtime.sampling.StopChecker;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The batch generate loop over a {@link StepExecutor}: all requests advance together, one ragged step per
 * iteration. The first step carries every prompt (a prefill per sequence, logits of its last token), each later step
 * one sampled token per unfinished sequence; a finished sequence leaves the batch and frees its blocks at once.
 * There is no admission control: the cache must hold every sequence to the end (a scheduler with budgets and
 * preemption sits above this loop, not in it). Token ids only; text streaming is {@link Generator}'s.
 */
public final class BatchGenerator {
    /** One sequence to generate: its prompt and sampling parameters. */
    public record Request(long[] prompt, SamplingParams params) {}

    private final StepExecutor executor;

    public BatchGenerator(StepExecutor executor) {
        this.executor = executor;
    }

    /** Generates every request to its stop condition; results in request order (timings are the batch's). */
    public List<Generator.Result> generate(List<Request> requests, Set<Integer> eos) {
        int n = requests.size();
        long[] ids = new long[n];
        Sampler[] samplers = new Sampler[n];
        StopChecker[] stops = new StopChecker[n];
        long[][] seqs = new long[n][];
        int[] lens = new int[n];
        FinishReason[] finish = new FinishReason[n];
        long[] firstNanos = new long[n];
        for (int i = 0; i < n; i++) {
            Request r = requests.get(i);
            ids[i] = (1L << 50) + i;
            samplers[i] = new Sampler(r.params(), executor.vocabSize(),
                    Arrays.stream(r.prompt()).mapToInt(Math::toIntExact).toArray());
            stops[i] = new StopChecker(r.params(), eos);
            seqs[i] = Arrays.copyOf(r.prompt(), r.prompt().length + r.params().maxTokens());
            lens[i] = r.prompt().length;
        }
        long start = System.nanoTime();
        try {
            boolean first = true;
            while (true) {
                List<Integer> active = new ArrayList<>();
                List<StepExecutor.Chunk> chunks = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    if (finish[i] == null) {
                        active.add(i);
                        long[] tokens = first ? requests.get(i).prompt() : new long[] {seqs[i][lens[i] - 1]};
                        chunks.add(new StepExecutor.Chunk(ids[i], tokens, StepExecutor.Rows.LAST));
                    }
                }
                if (active.isEmpty()) {
                    break;
                }
                List<float[]> logits = executor.step(chunks);
                for (int a = 0; a < active.size(); a++) {
                    int i = active.get(a);
                    int token = samplers[i].sample(logits.get(a)).token();
                    if (first) {
                        firstNanos[i] = System.nanoTime() - start;
                    }
                    seqs[i][lens[i]++] = token;
                    StopChecker.Step s = stops[i].onToken(token, "");
                    if (s.finish().isPresent()) {
                        finish[i] = s.finish().get();
                        executor.free(ids[i]);
                    }
                }
                first = false;
            }
        } finally {
            for (int i = 0; i < n; i++) {
                if (finish[i] == null) {
                    executor.free(ids[i]);
                }
            }
        }
        long total = System.nanoTime() - start;
        List<Generator.Result> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new Generator.Result(Arrays.copyOf(seqs[i], lens[i]), requests.get(i).prompt().length, finish[i],
                    firstNanos[i], total));
        }
        return out;
    }
}
