package dev.tokc.cli;

import dev.tokc.runtime.artifact.ArtifactReader;
import dev.tokc.runtime.artifact.KvCacheInfo;
import dev.tokc.runtime.artifact.Manifest;
import dev.tokc.runtime.artifact.TensorEntry;
import dev.tokc.runtime.exec.JvmExecutor;
import dev.tokc.runtime.exec.ProgramInfo;
import dev.tokc.runtime.exec.StepExecutor;
import dev.tokc.runtime.kernels.MemoryBandwidth;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code tokc bench ENGINE} and {@code tokc bench --measure-bandwidth}: the engine in-process, through the same
 * {@link StepExecutor} ragged-batch path that {@code tokc run} and the server use.
 *
 * <p>Per batch size B, one run is: a prefill step carrying all B prompts (random token ids, different per sequence
 * and per run so the prefix cache never skips work), the greedy first token of each, then {@code gen-len - 1}
 * decode steps of B sequences, one token each. Figures, best of {@code --runs}:
 * <ul>
 *   <li>prefill tok/s = B * prompt-len / prefill-step time; TTFT = time from the step's start to B sampled first
 *       tokens (the prefill step plus sampling);</li>
 *   <li>decode tok/s = B * (gen-len - 1) / time of the decode steps (aggregate over the batch);</li>
 *   <li>bytes per decode step = the weights the step reads (every tensor except an untied embedding table, of which
 *       a step reads B rows) + the K and V cache the attention reads (B sequences x their mean context); MBU = those
 *       bytes / step time / the read bandwidth measured here with the same thread count
 *       ({@link MemoryBandwidth}, or {@code --bandwidth} to skip the probe).</li>
 * </ul>
 * A warm-up run (batch 1 and the largest batch, few tokens) comes first so the JIT has compiled the kernels.
 */
final class EngineBench {
    private EngineBench() {}

    /** Declares the engine benchmark's flags (names must not clash with {@link ServerBench}'s). */
    static void addOptions(Options o) {
        o.addOption(Option.builder().longOpt("batch").hasArg().argName("B,B,...")
                .desc("engine mode: sequences decoded together per step, one run per value (default 1,4,16)").build());
        o.addOption(Option.builder().longOpt("threads").hasArg().argName("N")
                .desc("engine mode: kernel threads (default: available processors)").build());
        o.addOption(Option.builder().longOpt("runs").hasArg().argName("N")
                .desc("engine mode: runs per batch size, the best is reported (default 1)").build());
        o.addOption(Option.builder().longOpt("bandwidth").hasArg().argName("GB/S")
                .desc("engine mode: read bandwidth for MBU instead of measuring it").build());
        o.addOption(Option.builder().longOpt("rounds").hasArg().argName("N")
                .desc("engine mode with several engines: rounds, each running every engine once in its own JVM "
                        + "(default 5)").build());
    }

    static int run(Path engine, CommandLine cmd, Io io) throws IOException {
        if (!Files.isRegularFile(engine.resolve("manifest.json"))) {
            throw new UserError(engine + " is not an engine directory (no manifest.json); compile one with tokc compile MODEL -o ENGINE");
        }
        int promptLen = length(cmd, "prompt-len");
        int genLen = length(cmd, "gen-len");
        int threads = Args.intValue(cmd, "threads", Runtime.getRuntime().availableProcessors(), 1, 1024);
        int runs = Args.intValue(cmd, "runs", 1, 1, 1000);
        int[] batches = batches(cmd);
        if (!StepExecutor.isStepEngine(engine)) {
            throw new UserError(engine + " holds a full-forward program without a KV cache; tokc bench needs a step "
                    + "engine (recompile it with this tokc)");
        }
        Manifest m = ArtifactReader.readManifest(engine);
        Bytes bytes = Bytes.of(m, ProgramInfo.parse(Files.readAllBytes(engine.resolve(ProgramInfo.FILE))));
        int maxBatch = 0;
        for (int b : batches) {
            maxBatch = Math.max(maxBatch, b);
        }
        KvCacheInfo kv = m.kvCache();
        int perSeqBlocks = (promptLen + genLen + kv.blockSize() - 1) / kv.blockSize() + 1;
        int numBlocks = maxBatch * perSeqBlocks + 2;

        double bandwidth;
        String bandwidthNote;
        if (cmd.hasOption("bandwidth")) {
            bandwidth = positiveDouble(cmd, "bandwidth");
            bandwidthNote = "given with --bandwidth";
        } else {
            MemoryBandwidth.Result r = MemoryBandwidth.measure(threads);
            bandwidth = r.bestGbPerSecond();
            bandwidthNote = "measured: " + r;
        }
        io.out().printf(Locale.ROOT, "engine %s: %s weights, %s KV cache; %d threads%n", engine, m.dtype(), kv.dtype(), threads);
        io.out().printf(Locale.ROOT, WEIGHT_BYTES_FORMAT,
                bytes.stepWeights / 1e9, bytes.note, bytes.kvPerToken / 1e3);
        io.out().printf(Locale.ROOT, "read bandwidth %.1f GB/s (%s)%n", bandwidth, bandwidthNote);
        io.out().printf(Locale.ROOT, "prompt %d tokens, %d generated per sequence, best of %d run%s%n", promptLen, genLen,
                runs, runs == 1 ? "" : "s");
        io.out().flush();

        long t0 = System.nanoTime();
        try (StepExecutor ex = StepExecutor.open(engine, threads, JvmExecutor.KernelChoice.VECTOR, numBlocks)) {
            io.err().printf(Locale.ROOT, "loaded in %.2f s; warming up...%n", (System.nanoTime() - t0) / 1e9);
            SplittableRandom rnd = new SplittableRandom(42);
            // Warm-up: the prefill shape, a few decode steps at batch 1 and at the largest batch.
            once(ex, rnd, 1, promptLen, Math.min(genLen, 8));
            if (maxBatch > 1) {
                once(ex, rnd, maxBatch, Math.min(promptLen, 16), Math.min(genLen, 4));
            }
            io.out().printf(Locale.ROOT, "%5s %12s %10s %12s %10s %11s %9s %6s%n", "batch", "prefill/s", "TTFT ms",
                    "decode tok/s", "step ms", "GB/step", "GB/s", "MBU");
            for (int b : batches) {
                Run best = null;
                for (int r = 0; r < runs; r++) {
                    Run run = once(ex, rnd, b, promptLen, genLen);
                    best = best == null ? run : best.bestWith(run);
                }
                double stepSec = best.decodeNanos / 1e9 / Math.max(1, genLen - 1);
                // Mean context over the decode steps: the step after the prefill reads promptLen + 1 tokens.
                double meanContext = promptLen + 1 + (genLen - 2) / 2.0;
                double stepBytes = bytes.stepWeights + b * meanContext * bytes.kvPerToken;
                double gbs = genLen > 1 ? stepBytes / stepSec / 1e9 : Double.NaN;
                io.out().printf(Locale.ROOT, ROW_FORMAT, b,
                        (double) b * promptLen / (best.prefillNanos / 1e9), best.ttftNanos / 1e6,
                        genLen > 1 ? b * (genLen - 1) / (best.decodeNanos / 1e9) : Double.NaN, stepSec * 1e3,
                        stepBytes / 1e9, gbs, 100 * gbs / bandwidth);
                io.out().flush();
            }
        }
        return 0;
    }

    /** The header line with the bytes a decode step reads, and the pattern that reads its weight bytes back. */
    private static final String WEIGHT_BYTES_FORMAT =
            "bytes per decode step: %.3f GB of weights (%s) + %.1f KB of K/V per cached token%n";
    private static final java.util.regex.Pattern WEIGHT_BYTES =
            java.util.regex.Pattern.compile("bytes per decode step: ([0-9.]+) GB of weights");

    /** The weight GB per decode step in a run's printed output ({@link #WEIGHT_BYTES_FORMAT}), NaN if absent. */
    static double stepWeightGb(String output) {
        java.util.regex.Matcher m = WEIGHT_BYTES.matcher(output);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    /** A result row: batch, prefill/s, TTFT ms, decode tok/s, step ms, GB/step, GB/s, MBU %. */
    private static final String ROW_FORMAT = "%5d %12.1f %10.1f %12.2f %10.2f %11.3f %9.1f %5.0f%%%n";

    /** The figures of one printed result row that a comparison of engines reads back ({@link EngineComparison}). */
    record Row(int batch, double decodeTokS, double gbPerSecond, double mbuPercent) {
        /** The row {@link #ROW_FORMAT} printed on {@code line}, if it is one. */
        static java.util.Optional<Row> parse(String line) {
            String[] f = line.trim().split("\\s+");
            if (f.length != 8 || !f[0].matches("\\d+") || !f[7].endsWith("%")) {
                return java.util.Optional.empty();
            }
            try {
                return java.util.Optional.of(new Row(Integer.parseInt(f[0]), Double.parseDouble(f[3]),
                        Double.parseDouble(f[6]), Double.parseDouble(f[7].substring(0, f[7].length() - 1))));
            } catch (NumberFormatException e) {
                return java.util.Optional.empty();
            }
        }
    }

    /** One benchmark run's times (nanoseconds). */
    private record Run(long prefillNanos, long ttftNanos, long decodeNanos) {
        Run bestWith(Run o) {
            return new Run(Math.min(prefillNanos, o.prefillNanos), Math.min(ttftNanos, o.ttftNanos),
                    Math.min(decodeNanos, o.decodeNanos));
        }
    }

    private static Run once(StepExecutor ex, SplittableRandom rnd, int batch, int promptLen, int genLen) {
        int vocab = ex.vocabSize();
        long[] ids = new long[batch];
        List<StepExecutor.Chunk> chunks = new ArrayList<>();
        for (int s = 0; s < batch; s++) {
            ids[s] = rnd.nextLong(1L << 40, 1L << 50);
            long[] prompt = new long[promptLen];
            for (int i = 0; i < promptLen; i++) {
                prompt[i] = rnd.nextInt(vocab);
            }
            chunks.add(new StepExecutor.Chunk(ids[s], prompt, StepExecutor.Rows.LAST));
        }
        try {
            long start = System.nanoTime();
            List<float[]> logits = ex.step(chunks);
            long prefill = System.nanoTime() - start;
            long[] next = new long[batch];
            for (int s = 0; s < batch; s++) {
                next[s] = argmax(logits.get(s));
            }
            long ttft = System.nanoTime() - start;
            long decodeStart = System.nanoTime();
            for (int t = 1; t < genLen; t++) {
                chunks.clear();
                for (int s = 0; s < batch; s++) {
                    chunks.add(new StepExecutor.Chunk(ids[s], new long[] {next[s]}, StepExecutor.Rows.LAST));
                }
                logits = ex.step(chunks);
                for (int s = 0; s < batch; s++) {
                    next[s] = argmax(logits.get(s));
                }
            }
            return new Run(prefill, ttft, System.nanoTime() - decodeStart);
        } finally {
            for (long id : ids) {
                ex.free(id);
            }
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * What a decode step reads, from the manifest's tensor table and KV cache description: every tensor but those
     * the program only gathers rows from ({@link ProgramInfo#gatheredWeights}; for engines that predate that record,
     * an untied embedding table found by name).
     */
    record Bytes(long stepWeights, long kvPerToken, String note) {
        static Bytes of(Manifest m, ProgramInfo program) {
            if (program.gatheredWeights() != null) {
                long total = 0;
                List<String> gathered = new ArrayList<>();
                for (TensorEntry t : m.tensors()) {
                    if (program.gatheredWeights().contains(t.name())) {
                        gathered.add(t.name());
                    } else {
                        total += t.byteLength();
                    }
                }
                String note = gathered.isEmpty() ? "all tensors; the embedding table is also the LM head"
                        : "all tensors but the embedding table " + String.join(", ", gathered) + ", of which one row per token";
                return new Bytes(total, kvPerToken(m), note);
            }
            long total = 0;
            TensorEntry embedding = null;
            boolean lmHead = false;
            for (TensorEntry t : m.tensors()) {
                total += t.byteLength();
                String n = t.name();
                if (embedding == null && t.shape().size() == 2
                        && (n.endsWith("embed_tokens.weight") || n.endsWith("wte.weight") || n.endsWith("word_embeddings.weight"))) {
                    embedding = t;
                }
                if (n.equals("lm_head.weight") || n.endsWith(".lm_head.weight")) {
                    lmHead = true;
                }
            }
            var tie = m.modelConfig().get("tie_word_embeddings");
            boolean tied = !lmHead && (tie == null || tie.asBoolean(true));
            String note;
            if (embedding != null && !tied) {
                total -= embedding.byteLength();
                note = "all tensors but the embedding table " + embedding.name();
            } else {
                note = embedding != null ? "all tensors; the embedding table is also the LM head" : "all tensors";
            }
            return new Bytes(total, kvPerToken(m), note);
        }

        /** K and V bytes one cached token adds to every later step: a quantized cache's vectors carry their scales. */
        static long kvPerToken(Manifest m) {
            KvCacheInfo kv = m.kvCache();
            long vectorBytes = dev.tokc.runtime.kernels.quant.KvQuantFormat.of(kv.dtype())
                    .map(f -> f.vectorBytes(kv.headDim()))
                    .orElseGet(() -> (long) kv.headDim() * TensorEntry.elementSize(kv.dtype()).orElse(4));
            return 2L * kv.layers() * kv.kvHeads() * vectorBytes;
        }
    }

    static int measureBandwidth(CommandLine cmd, Io io) {
        int all = Args.intValue(cmd, "threads", Runtime.getRuntime().availableProcessors(), 1, 1024);
        io.out().println(MemoryBandwidth.measure(1));
        io.out().flush();
        if (all > 1) {
            io.out().println(MemoryBandwidth.measure(all));
        }
        return 0;
    }

    /** {@code --prompt-len}/{@code --gen-len}: one positive integer here (ranges are the server benchmark's). */
    private static int length(CommandLine cmd, String flag) {
        String v = cmd.getOptionValue(flag);
        if (v != null && v.contains(":")) {
            throw new UsageError("--" + flag + " takes one length N for an engine benchmark, got '" + v
                    + "' (MIN:MAX ranges are for --server)");
        }
        return Args.intValue(cmd, flag, 128, 1, 1 << 20);
    }

    private static int[] batches(CommandLine cmd) {
        String v = cmd.getOptionValue("batch", "1,4,16");
        long[] raw = Args.longList("batch", v);
        int[] out = new int[raw.length];
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] < 1 || raw[i] > 4096) {
                throw new UsageError("--batch values must be between 1 and 4096, got " + raw[i]);
            }
            out[i] = (int) raw[i];
        }
        return out;
    }

    private static double positiveDouble(CommandLine cmd, String flag) {
        String v = cmd.getOptionValue(flag);
        try {
            double d = Double.parseDouble(v.trim());
            if (!(d > 0) || Double.isInfinite(d)) {
                throw new UsageError("--" + flag + " must be a positive number, got " + v);
            }
            return d;
        } catch (NumberFormatException e) {
            throw new UsageError("--" + flag + " expects a number, got '" + v + "'");
        }
    }
}
