package dev.tokc.runtime.sched;

import dev.tokc.runtime.sampling.FinishReason;
import dev.tokc.runtime.sampling.Sampler;
import dev.tokc.runtime.sampling.SamplingParams;
import dev.tokc.runtime.sampling.StopChecker;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A deterministic stand-in for a model executor, with a real (toy) paged KV cache.
 *
 * <p>Each step first writes every batch token's (token, position) into its slot, then "attends": for each
 * logits index it reads the sequence's whole context back through its block table, checks that every slot holds
 * the position it should, folds the tokens read into a hash, and derives the logits from that hash. So the next
 * token is a closed-form function of the whole context <em>as stored in the cache</em>: a wrong block table, a
 * stale prefix-cache hit, or a recompute that skipped a token all change the output, which tests compare with
 * {@link #reference}, the same function computed without any cache.
 *
 * <p>Every batch is also checked for well-formedness: query starts, positions against context lengths, slots
 * against block tables, null-block padding, no slot written twice, logits indices at sequence ends.
 */
final class ToyModel implements StepExecutor {

    static final int VOCAB = 64;

    final int blockSize;
    private final int[] kvToken;
    private final int[] kvPos;
    final List<StepBatch> batches = new ArrayList<>();
    boolean recordBatches;
    int maxTokensPerStep;
    int maxSeqsPerStep;

    ToyModel(int numBlocks, int blockSize) {
        this.blockSize = blockSize;
        this.kvToken = new int[numBlocks * blockSize];
        this.kvPos = new int[numBlocks * blockSize];
        Arrays.fill(kvPos, -1);
    }

    @Override
    public int vocabSize() {
        return VOCAB;
    }

    @Override
    public float[][] step(StepBatch b) {
        validate(b);
        if (recordBatches) {
            batches.add(b);
        }
        maxTokensPerStep = Math.max(maxTokensPerStep, b.numTokens());
        maxSeqsPerStep = Math.max(maxSeqsPerStep, b.numSeqs());
        for (int t = 0; t < b.numTokens(); t++) {
            int slot = (int) b.slots()[t];
            kvToken[slot] = (int) b.tokens()[t];
            kvPos[slot] = (int) b.positions()[t];
        }
        float[][] out = new float[b.numOutputs()][];
        for (int k = 0; k < b.numOutputs(); k++) {
            int seq = seqOfToken(b, (int) b.logitsIndices()[k]);
            long h = 0;
            for (int p = 0; p < b.contextLens()[seq]; p++) {
                int slot = b.blockTables()[seq * b.maxBlocks() + p / blockSize] * blockSize + p % blockSize;
                check(kvPos[slot] == p, "sequence " + b.seqIds()[seq] + " position " + p + " reads slot " + slot
                        + " holding position " + kvPos[slot]);
                h = mix(h, kvToken[slot]);
            }
            out[k] = logits(h);
        }
        return out;
    }

    static long mix(long h, int token) {
        return (h ^ (token + 1)) * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L;
    }

    /** Logits in [0, 10): one clear winner per context for greedy, a spread for seeded sampling. */
    static float[] logits(long h) {
        float[] l = new float[VOCAB];
        for (int v = 0; v < VOCAB; v++) {
            long x = mix(h, 1000 + v);
            l[v] = (float) ((x >>> 40) % 1000) / 100f;
        }
        return l;
    }

    /** The tokens a request must produce: the same function and sampler, without any scheduling or cache. */
    static int[] reference(int[] prompt, SamplingParams params, Set<Integer> eos) {
        Sampler sampler = new Sampler(params, VOCAB, prompt);
        StopChecker stop = new StopChecker(params, eos);
        List<Integer> all = new ArrayList<>();
        for (int t : prompt) {
            all.add(t);
        }
        List<Integer> out = new ArrayList<>();
        Optional<FinishReason> done = Optional.empty();
        while (done.isEmpty()) {
            long h = 0;
            for (int t : all) {
                h = mix(h, t);
            }
            int t = sampler.sample(logits(h)).token();
            all.add(t);
            out.add(t);
            done = stop.onToken(t, "").finish();
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int seqOfToken(StepBatch b, int tokenIndex) {
        for (int i = 0; i < b.numSeqs(); i++) {
            if (b.queryStarts()[i + 1] - 1 == tokenIndex) {
                return i;
            }
        }
        throw new AssertionError("logits index " + tokenIndex + " is not the last token of a sequence");
    }

    private void validate(StepBatch b) {
        int n = b.numTokens();
        int seqs = b.numSeqs();
        check(b.positions().length == n && b.slots().length == n, "token arrays differ in length");
        check(b.queryStarts().length == seqs + 1 && b.contextLens().length == seqs, "per-sequence arrays");
        check(b.blockTables().length == seqs * b.maxBlocks(), "block table shape");
        check(b.queryStarts()[0] == 0 && b.queryStarts()[seqs] == n, "query starts must span the tokens");
        check(b.outputSeqIds().length == b.numOutputs(), "one sequence id per output");
        Set<Long> slots = new HashSet<>();
        Set<Long> ids = new HashSet<>();
        for (int i = 0; i < seqs; i++) {
            check(ids.add(b.seqIds()[i]), "sequence " + b.seqIds()[i] + " twice in a batch");
            int from = b.queryStarts()[i];
            int to = b.queryStarts()[i + 1];
            int ctx = b.contextLens()[i];
            check(to > from, "sequence " + b.seqIds()[i] + " scheduled no tokens");
            int[] row = b.blockTableRow(i);
            int used = (ctx + blockSize - 1) / blockSize;
            check(used <= row.length, "context " + ctx + " beyond the table row");
            for (int j = 0; j < row.length; j++) {
                check(j < used ? row[j] != 0 : row[j] == 0, "row " + i + " entry " + j + " = " + row[j]
                        + " (blocks used " + used + "): tables must be real blocks then null-padded");
            }
            for (int t = from; t < to; t++) {
                int pos = (int) b.positions()[t];
                check(pos == ctx - (to - from) + (t - from), "positions must end at context length");
                check(b.tokens()[t] >= 0 && b.tokens()[t] < VOCAB, "token out of vocabulary");
                check(b.slots()[t] == (long) row[pos / blockSize] * blockSize + pos % blockSize, "slot of position " + pos);
                check(slots.add(b.slots()[t]), "slot " + b.slots()[t] + " written twice in one step");
            }
        }
        for (int k = 0; k < b.numOutputs(); k++) {
            check(k == 0 || b.logitsIndices()[k] > b.logitsIndices()[k - 1], "logits indices must ascend");
            int seq = seqOfToken(b, (int) b.logitsIndices()[k]);
            check(b.outputSeqIds()[k] == b.seqIds()[seq], "output sequence id");
        }
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new AssertionError("malformed step batch: " + message);
        }
    }
}
