package dev.tokc.runtime.exec;

import dev.tokc.runtime.artifact.Engine;
import dev.tokc.runtime.kernels.Elements;
import dev.tokc.runtime.kv.KvBlockManager;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a JVM engine's paged step program ({@code graph @step}): a ragged batch of token chunks of several sequences
 * in, logits for the rows asked for out, K/V of every computed token kept in a paged cache whose blocks a
 * {@link KvBlockManager} hands out (with prefix caching: a new sequence whose leading full blocks are cached skips
 * computing them).
 *
 * <p>Per step it builds the program's inputs from the chunks: {@code tokens}, {@code positions} (each sequence
 * continues where its cache ends), {@code slots} (block * blockSize + offset), {@code block_tables} (padded with the
 * null block), {@code context_lens} (cached + new), {@code query_starts} and {@code logits_indices}. A cache without
 * room for a step is an error here; admission and preemption belong to a scheduler above this class. Not
 * thread-safe.
 */
public final class StepExecutor implements TokenModel, AutoCloseable {
    /**
     * Tokens of one sequence to compute in a step.
     *
     * @param seqId  the sequence (new ones are registered on first use)
     * @param tokens its next tokens, in order
     * @param logits whether to return logits for every row ({@code ALL}), the last row ({@code LAST}) or none
     */
    public record Chunk(long seqId, long[] tokens, Rows logits) {}

    /** Which logits rows a chunk wants. */
    public enum Rows { NONE, LAST, ALL }

    private final StepProgramRunner runner;
    private final KvBlockManager blocks;
    private final int blockSize;
    private final int vocab;
    /** Tokens whose K/V is in the cache, per sequence. */
    private final Map<Long, Integer> computed = new HashMap<>();
    private long nextSeqId = 1L << 40;
    /** Tokens per program run at most; larger steps run in pieces ({@link #runInPieces}). */
    private int maxRunTokens = DEFAULT_MAX_RUN_TOKENS;

    /** Default of {@link #setMaxRunTokens}: ~0.6 GB of activations for a 1B model. */
    public static final int DEFAULT_MAX_RUN_TOKENS = 256;

    private StepExecutor(StepProgramRunner runner) {
        this.runner = runner;
        this.blockSize = runner.kvCache().blockSize();
        this.blocks = new KvBlockManager(runner.numBlocks(), blockSize, true);
        this.vocab = runner.vocabSize();
    }

    /**
     * Opens the engine at {@code dir}, with a KV cache of {@code numBlocks} blocks per layer (block 0 is the null
     * block) and the chosen kernels.
     */
    public static StepExecutor open(Path dir, int threads, JvmExecutor.KernelChoice kernels, int numBlocks) throws IOException {
        return new StepExecutor(StepProgramRunner.open(dir, threads, kernels, numBlocks));
    }

    /** Whether the engine at {@code dir} holds a step program (else a full-forward one). */
    public static boolean isStepEngine(Path dir) throws IOException {
        // Only the manifest and program.json are needed: skip hashing the weights (open() verifies them).
        try (Engine engine = Engine.open(dir, dev.tokc.runtime.artifact.ArtifactReader.Options.skipWeightsHash())) {
            return ProgramLoader.info(engine).graph().equals("step");
        }
    }

    /** Blocks for one sequence of up to {@code tokens} tokens in the engine at {@code dir}, plus the null block. */
    public static int blocksFor(Path dir, int tokens) throws IOException {
        try (Engine engine = Engine.open(dir, dev.tokc.runtime.artifact.ArtifactReader.Options.skipWeightsHash())) {
            int bs = engine.manifest().kvCache().blockSize();
            return (tokens + bs - 1) / bs + 2;
        }
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    /**
     * Caps the tokens of one program run (and so the activation memory): a larger {@link #step} runs as a chunked
     * prefill of pieces of at most {@code tokens}. Results are the same up to float rounding.
     */
    public void setMaxRunTokens(int tokens) {
        if (tokens < 1) {
            throw new IllegalArgumentException("max run tokens must be >= 1, got " + tokens);
        }
        maxRunTokens = tokens;
    }

    public KvBlockManager blocks() {
        return blocks;
    }

    /**
     * Computes one ragged step. Returns, per chunk, its logits rows ({@code [rows, vocab]} row-major; empty for
     * {@link Rows#NONE}). Tokens a new sequence finds in the prefix cache are not recomputed; their rows cannot be
     * returned, so {@link Rows#ALL} disables that skip.
     */
    public List<float[]> step(List<Chunk> chunks) {
        int total = 0;
        for (Chunk ch : chunks) {
            if (ch.tokens().length == 0) {
                throw new IllegalArgumentException("chunk of sequence " + ch.seqId() + " has no tokens");
            }
            for (long t : ch.tokens()) {
                if (t < 0 || t >= vocab) {
                    throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, " + vocab + ")");
                }
            }
            total += ch.tokens().length;
        }
        return total <= maxRunTokens ? run(chunks) : runInPieces(chunks);
    }

    /**
     * A step of more than {@link #maxRunTokens} tokens, as consecutive program runs of at most that many: each
     * sequence's tokens are taken in order, so a long prompt becomes a chunked prefill whose later pieces attend to
     * the earlier ones through the cache, exactly as if it came in several steps. Why: the activation arena holds
     * every intermediate of a run (~2 MB per token for a 1B model), so one 2048-token step needed 4.5 GB, allocated
     * and zeroed on first use; pieces bound it and cost nothing in GEMM efficiency (the kernels block activation rows
     * by 64 or fewer anyway).
     */
    private List<float[]> runInPieces(List<Chunk> chunks) {
        int n = chunks.size();
        int[] done = new int[n];
        List<List<float[]>> parts = new ArrayList<>();
        for (int c = 0; c < n; c++) {
            parts.add(new ArrayList<>());
        }
        int c0 = 0;
        while (c0 < n) {
            List<Chunk> piece = new ArrayList<>();
            List<Integer> owners = new ArrayList<>();
            int budget = maxRunTokens;
            for (int c = c0; c < n && budget > 0; c++) {
                Chunk ch = chunks.get(c);
                int len = ch.tokens().length;
                int take = Math.min(len - done[c], budget);
                boolean last = done[c] + take == len;
                Rows rows = ch.logits() == Rows.ALL ? Rows.ALL : last ? ch.logits() : Rows.NONE;
                piece.add(new Chunk(ch.seqId(), Arrays.copyOfRange(ch.tokens(), done[c], done[c] + take), rows));
                owners.add(c);
                done[c] += take;
                budget -= take;
            }
            List<float[]> out = run(piece);
            for (int i = 0; i < out.size(); i++) {
                parts.get(owners.get(i)).add(out.get(i));
            }
            while (c0 < n && done[c0] == chunks.get(c0).tokens().length) {
                c0++;
            }
        }
        List<float[]> result = new ArrayList<>(n);
        for (List<float[]> p : parts) {
            int size = 0;
            for (float[] f : p) {
                size += f.length;
            }
            float[] all = new float[size];
            int at = 0;
            for (float[] f : p) {
                System.arraycopy(f, 0, all, at, f.length);
                at += f.length;
            }
            result.add(all);
        }
        return result;
    }

    /** One program run over {@code chunks} (validated by {@link #step}). */
    private List<float[]> run(List<Chunk> chunks) {
        int total = 0;
        int[] skip = new int[chunks.size()];
        for (int c = 0; c < chunks.size(); c++) {
            Chunk ch = chunks.get(c);
            int[] ints = Arrays.stream(ch.tokens()).mapToInt(Math::toIntExact).toArray();
            if (!computed.containsKey(ch.seqId())) {
                blocks.addSequence(ch.seqId(), ints);
                computed.put(ch.seqId(), 0);
                skip[c] = ch.logits() == Rows.ALL ? 0 : blocks.cachedPrefixTokens(ch.seqId());
            } else {
                blocks.appendTokens(ch.seqId(), ints);
            }
            int n = ch.tokens().length - skip[c];
            if (blocks.allocate(ch.seqId(), n).isEmpty()) {
                throw new IllegalStateException("KV cache is full (" + blocks.stats() + "); open the executor with more blocks");
            }
            total += n;
        }
        int seqs = chunks.size();
        int maxBlocks = 1;
        for (Chunk ch : chunks) {
            maxBlocks = Math.max(maxBlocks, blocks.blockTable(ch.seqId()).length);
        }
        long[] tokens = new long[total];
        long[] positions = new long[total];
        long[] slots = new long[total];
        int[] tables = new int[seqs * maxBlocks];
        int[] contextLens = new int[seqs];
        int[] queryStarts = new int[seqs + 1];
        List<Long> logitRows = new ArrayList<>();
        int row = 0;
        for (int c = 0; c < seqs; c++) {
            Chunk ch = chunks.get(c);
            int[] table = blocks.blockTable(ch.seqId());
            blocks.copyBlockTable(ch.seqId(), tables, c * maxBlocks, maxBlocks);
            int start = computed.get(ch.seqId()) + skip[c];
            queryStarts[c] = row;
            for (int j = skip[c]; j < ch.tokens().length; j++) {
                int pos = start + (j - skip[c]);
                tokens[row] = ch.tokens()[j];
                positions[row] = pos;
                slots[row] = (long) table[pos / blockSize] * blockSize + pos % blockSize;
                if (ch.logits() == Rows.ALL || (ch.logits() == Rows.LAST && j == ch.tokens().length - 1)) {
                    logitRows.add((long) row);
                }
                row++;
            }
            contextLens[c] = start + ch.tokens().length - skip[c];
            computed.put(ch.seqId(), contextLens[c]);
        }
        queryStarts[seqs] = row;
        long[] indices = logitRows.stream().mapToLong(Long::longValue).toArray();

        MemorySegment out = runner.run(tokens, positions, slots, tables, maxBlocks, contextLens, queryStarts, indices);

        List<float[]> result = new ArrayList<>();
        int at = 0;
        for (Chunk ch : chunks) {
            int rows = ch.logits() == Rows.ALL ? ch.tokens().length : ch.logits() == Rows.LAST ? 1 : 0;
            long bytes = (long) rows * vocab * 4;
            result.add(out.asSlice((long) at * vocab * 4, bytes).toArray(Elements.F32));
            at += rows;
        }
        return result;
    }

    /** Releases a sequence's blocks (cached full blocks stay reusable by later prompts with the same prefix). */
    public void free(long seqId) {
        if (computed.remove(seqId) != null) {
            blocks.free(seqId);
        }
    }

    /** Logits of every position of {@code ids} as a fresh sequence, computed in one step and then released. */
    public float[] forward(long[] ids) {
        long id = nextSeqId++;
        try {
            return step(List.of(new Chunk(id, ids, Rows.ALL))).get(0);
        } finally {
            free(id);
        }
    }

    @Override
    public Session start() {
        long id = nextSeqId++;
        return new Session() {
            @Override
            public float[] feed(long[] tokens) {
                return step(List.of(new Chunk(id, tokens, Rows.LAST))).get(0);
            }

            @Override
            public void close() {
                free(id);
            }
        };
    }

    @Override
    public void close() {
        runner.close();
    }
}
