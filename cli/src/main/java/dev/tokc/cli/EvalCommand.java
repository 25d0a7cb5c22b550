package dev.tokc.cli;

import dev.tokc.runtime.artifact.Engine;
import dev.tokc.runtime.artifact.ArtifactReader;
import dev.tokc.runtime.exec.JvmExecutor;
import dev.tokc.runtime.exec.StepExecutor;
import dev.tokc.runtime.tokenizer.Tokenizer;
import dev.tokc.runtime.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code tokc eval ENGINE --perplexity FILE [--split last:0.1] [--kl-reference ENGINE_F32] [--window N] [--batch N]}:
 * the quality harness of issue 7. Tokenizes FILE with the engine's tokenizer (no special tokens), keeps the split,
 * and runs it in non-overlapping windows of the model's context length ({@code max_position_embeddings}, or
 * {@code --window}), {@code --batch} windows per step of the engine's step program as one ragged batch, each window a
 * fresh sequence. Prints the mean negative log-likelihood and perplexity; with {@code --kl-reference}, runs the same
 * windows through the reference engine and prints the mean KL(reference || engine) of the next-token distributions
 * and how often both pick the same top-1 token. Arithmetic in {@link Evaluation}.
 */
final class EvalCommand implements Command {
    @Override
    public String name() {
        return "eval";
    }

    @Override
    public String summary() {
        return "perplexity of an engine on a text split, and KL / top-1 agreement against a reference engine";
    }

    @Override
    public String usage() {
        return "ENGINE --perplexity FILE [--split last:0.1] [--kl-reference ENGINE_F32] [--window N] [--batch N] "
                + "[--max-windows N] [--threads N]";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("perplexity").hasArg().argName("FILE").desc("text file to evaluate on").build());
        o.addOption(Option.builder().longOpt("split").hasArg().argName("SPEC")
                .desc("which tokens of FILE: all, last:F (default last:0.1, the held-out tail) or first:F").build());
        o.addOption(Option.builder().longOpt("kl-reference").hasArg().argName("ENGINE")
                .desc("reference engine (e.g. the f32 one): mean KL divergence and top-1 agreement against it").build());
        o.addOption(Option.builder().longOpt("window").hasArg().argName("N")
                .desc("tokens per window (default: the model's max_position_embeddings, else 512)").build());
        o.addOption(Option.builder().longOpt("batch").hasArg().argName("N").desc("windows per engine step (default 4)").build());
        o.addOption(Option.builder().longOpt("max-windows").hasArg().argName("N")
                .desc("evaluate only the first N windows of the split (quick checks)").build());
        o.addOption(Option.builder().longOpt("threads").hasArg().argName("N").desc("kernel threads (default: available processors)").build());
        return o;
    }

    @Override
    public int run(CommandLine cmd, Io io) throws Exception {
        Path engine = Args.single(cmd, "ENGINE");
        requireEngine(engine);
        if (!cmd.hasOption("perplexity")) {
            throw new UsageError("give --perplexity FILE (the text to evaluate on)");
        }
        Path file = Path.of(cmd.getOptionValue("perplexity"));
        if (!Files.isRegularFile(file)) {
            throw new UserError(file + ": no such file (--perplexity expects a text file)");
        }
        Path reference = cmd.hasOption("kl-reference") ? Path.of(cmd.getOptionValue("kl-reference")) : null;
        if (reference != null) {
            requireEngine(reference);
        }
        int threads = Args.intValue(cmd, "threads", Runtime.getRuntime().availableProcessors(), 1, 1024);
        int batch = Args.intValue(cmd, "batch", 4, 1, 1024);
        int maxWindows = Args.intValue(cmd, "max-windows", Integer.MAX_VALUE, 1, Integer.MAX_VALUE);
        int window = cmd.hasOption("window") ? Args.intValue(cmd, "window", 512, 2, 1 << 20) : contextLength(engine);

        long t0 = System.nanoTime();
        Tokenizer tok = Tokenizers.load(engine);
        String text = Files.readString(file, StandardCharsets.UTF_8);
        int[] all = tok.encode(text, false);
        String splitSpec = cmd.getOptionValue("split", "last:0.1");
        int[] ids = Evaluation.split(all, splitSpec);
        List<Evaluation.Window> windows = Evaluation.windows(ids.length, window);
        if (windows.size() > maxWindows) {
            windows = windows.subList(0, maxWindows);
        }
        if (windows.isEmpty()) {
            throw new UserError(file + ": split " + splitSpec + " holds " + ids.length + " tokens, too few to predict any");
        }
        long tokenized = System.nanoTime();
        Evaluation.Totals totals = new Evaluation.Totals();
        int blocks = batch * (StepExecutor.blocksFor(engine, window) - 1) + 1;
        try (StepExecutor ex = open(engine, threads, blocks);
                StepExecutor ref = reference == null ? null : open(reference, threads, blocks)) {
            if (ref != null && ref.vocabSize() != ex.vocabSize()) {
                throw new UserError(reference + " has a vocabulary of " + ref.vocabSize() + ", " + engine + " of "
                        + ex.vocabSize() + ": not comparable");
            }
            int vocab = ex.vocabSize();
            for (int w = 0; w < windows.size(); w += batch) {
                List<Evaluation.Window> group = windows.subList(w, Math.min(windows.size(), w + batch));
                List<StepExecutor.Chunk> chunks = new ArrayList<>();
                for (int i = 0; i < group.size(); i++) {
                    Evaluation.Window win = group.get(i);
                    long[] toks = new long[win.length()];
                    for (int j = 0; j < toks.length; j++) {
                        toks[j] = ids[win.from() + j];
                    }
                    chunks.add(new StepExecutor.Chunk(w + i, toks, StepExecutor.Rows.ALL));
                }
                List<float[]> logits = ex.step(chunks);
                List<float[]> refLogits = ref == null ? null : ref.step(chunks);
                for (int i = 0; i < group.size(); i++) {
                    Evaluation.Window win = group.get(i);
                    totals.add(java.util.Arrays.copyOfRange(ids, win.from(), win.to()), logits.get(i),
                            refLogits == null ? null : refLogits.get(i), vocab);
                    ex.free(w + i);
                    if (ref != null) {
                        ref.free(w + i);
                    }
                }
            }
        }
        double seconds = (System.nanoTime() - tokenized) / 1e9;
        io.out().printf(Locale.ROOT, "%s: %s of %s: %d tokens (of %d) in %d windows of <= %d, %d predictions%n",
                engine, splitSpec, file.getFileName(), windows.getLast().to() - windows.getFirst().from(), all.length,
                windows.size(), window, totals.predictions);
        io.out().printf(Locale.ROOT, "nll %.5f nats/token, perplexity %.4f%n", totals.meanNll(), totals.perplexity());
        if (reference != null) {
            io.out().printf(Locale.ROOT, "vs %s: mean KL %.6f nats/token, top-1 agreement %.2f %%%n", reference,
                    totals.meanKl(), 100 * totals.top1Agreement());
        }
        io.err().printf(Locale.ROOT, "tokenized in %.1f s, evaluated %d tokens in %.1f s (%.0f tokens/s%s)%n",
                (tokenized - t0) / 1e9, totals.predictions + windows.size(), seconds,
                (totals.predictions + windows.size()) / seconds, reference == null ? "" : ", both engines");
        return 0;
    }

    private static void requireEngine(Path engine) throws IOException {
        if (!Files.isRegularFile(engine.resolve("manifest.json"))) {
            throw new UserError(engine + " is not an engine directory (no manifest.json); compile one with tokc compile MODEL -o ENGINE");
        }
        if (!StepExecutor.isStepEngine(engine)) {
            throw new UserError(engine + " runs the full forward without a KV cache; tokc eval needs a step-program engine");
        }
    }

    private static StepExecutor open(Path engine, int threads, int blocks) throws IOException {
        return StepExecutor.open(engine, threads, JvmExecutor.KernelChoice.VECTOR, blocks);
    }

    /** The model's context length from the manifest's config ({@code max_position_embeddings}), else 512. */
    private static int contextLength(Path engine) throws IOException {
        try (Engine e = Engine.open(engine, ArtifactReader.Options.skipWeightsHash())) {
            var n = e.manifest().modelConfig().get("max_position_embeddings");
            return n != null && n.canConvertToInt() && n.asInt() >= 2 ? n.asInt() : 512;
        }
    }
}
