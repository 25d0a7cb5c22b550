package dev.tokc.cli;

import dev.tokc.runtime.exec.Generator;
import dev.tokc.runtime.exec.JvmExecutor;
import dev.tokc.runtime.exec.StepExecutor;
import dev.tokc.runtime.exec.TokenModel;
import dev.tokc.runtime.sampling.SamplingParams;
import dev.tokc.runtime.tokenizer.Tokenizer;
import dev.tokc.runtime.tokenizer.Tokenizers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code tokc run ENGINE --prompt "..." [--max-tokens N] [--temperature T] [--seed S]}: generates text from a prompt
 * with the engine's program, streaming it to standard output as it comes, greedy unless a temperature is given; the
 * token counts, time to first token and tokens/s go to standard error.
 */
final class RunCommand implements Command {
    @Override
    public String name() {
        return "run";
    }

    @Override
    public String summary() {
        return "generate text from a prompt with a compiled engine, streaming it; tokens/s on standard error";
    }

    @Override
    public String usage() {
        return "ENGINE (--prompt TEXT | --prompt-ids 1,2,3) [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S] [--threads N]";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("prompt").hasArg().argName("TEXT").desc("the prompt").build());
        o.addOption(Option.builder().longOpt("prompt-ids").hasArg().argName("IDS")
                .desc("the prompt as comma-separated token ids (engines without a tokenizer, e.g. synthesized models; "
                        + "prints generated ids)").build());
        o.addOption(Option.builder().longOpt("max-tokens").hasArg().argName("N").desc("tokens to generate at most (default 64)").build());
        o.addOption(Option.builder().longOpt("temperature").hasArg().argName("T").desc("sampling temperature; 0 (default) is greedy").build());
        o.addOption(Option.builder().longOpt("top-k").hasArg().argName("K").desc("keep the K most likely tokens (0: all)").build());
        o.addOption(Option.builder().longOpt("top-p").hasArg().argName("P").desc("nucleus sampling mass (1: off)").build());
        o.addOption(Option.builder().longOpt("seed").hasArg().argName("S").desc("random seed for sampling").build());
        o.addOption(Option.builder().longOpt("threads").hasArg().argName("N").desc("kernel threads (default: available processors)").build());
        return o;
    }

    @Override
    public int run(CommandLine cmd, Io io) throws Exception {
        Path engine = Args.single(cmd, "ENGINE");
        if (!Files.isRegularFile(engine.resolve("manifest.json"))) {
            throw new UserError(engine + " is not an engine directory (no manifest.json); compile one with tokc compile MODEL -o ENGINE");
        }
        int maxTokens = Args.intValue(cmd, "max-tokens", 64, 1, 1 << 20);
        int threads = Args.intValue(cmd, "threads", Runtime.getRuntime().availableProcessors(), 1, 1024);
        SamplingParams params = SamplingParams.greedy().withMaxTokens(maxTokens);
        try {
            if (cmd.hasOption("temperature")) {
                params = params.withTemperature(Double.parseDouble(cmd.getOptionValue("temperature")));
            }
            if (cmd.hasOption("top-k")) {
                params = params.withTopK(Integer.parseInt(cmd.getOptionValue("top-k")));
            }
            if (cmd.hasOption("top-p")) {
                params = params.withTopP(Double.parseDouble(cmd.getOptionValue("top-p")));
            }
            if (cmd.hasOption("seed")) {
                params = params.withSeed(Long.parseLong(cmd.getOptionValue("seed")));
            }
        } catch (NumberFormatException e) {
            throw new UsageError("not a number: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new UsageError(e.getMessage());
        }
        if (cmd.hasOption("prompt") == cmd.hasOption("prompt-ids")) {
            throw new UsageError("give either --prompt TEXT or --prompt-ids 1,2,3");
        }
        long t0 = System.nanoTime();
        Tokenizer tok = cmd.hasOption("prompt") ? Tokenizers.load(engine) : null;
        int[] ids = tok != null ? tok.encode(cmd.getOptionValue("prompt"), true)
                : java.util.Arrays.stream(Args.longList("prompt-ids", cmd.getOptionValue("prompt-ids"))).mapToInt(Math::toIntExact).toArray();
        boolean step = StepExecutor.isStepEngine(engine);
        try (AutoCloseable ex = step
                ? StepExecutor.open(engine, threads, JvmExecutor.KernelChoice.VECTOR, StepExecutor.blocksFor(engine, ids.length + maxTokens))
                : JvmExecutor.open(engine, threads, JvmExecutor.KernelChoice.VECTOR)) {
            if (ids.length == 0) {
                throw new UserError("the prompt encodes to no tokens");
            }
            Set<Integer> eos = new HashSet<>();
            if (tok != null && tok.eosId() >= 0) {
                eos.add(tok.eosId());
            }
            long[] prompt = java.util.Arrays.stream(ids).asLongStream().toArray();
            long loaded = System.nanoTime();
            io.out().print(tok != null ? cmd.getOptionValue("prompt") : cmd.getOptionValue("prompt-ids"));
            io.out().flush();
            Generator.Result r = new Generator((TokenModel) ex).generate(prompt, params, tok, eos, piece -> {
                io.out().print(piece);
                io.out().flush();
            });
            if (tok == null) {
                // No tokenizer: the generated ids are the output.
                for (int i = r.promptTokens(); i < r.tokens().length; i++) {
                    io.out().print("," + r.tokens()[i]);
                }
            }
            io.out().println();
            int generated = r.tokens().length - r.promptTokens();
            // Start-up as a user sees it: from the process start (JVM boot included) to the first generated token.
            double sinceStart = ProcessHandle.current().info().startInstant()
                    .map(s -> java.time.Duration.between(s, java.time.Instant.now()).toNanos() / 1e9
                            - (System.nanoTime() - loaded - r.firstTokenNanos()) / 1e9)
                    .orElse(Double.NaN);
            io.err().printf(Locale.ROOT, "%d prompt + %d generated tokens (%s, %s); load %.2f s, first token %.3f s "
                    + "(%.2f s after process start), %.1f tokens/s%n", r.promptTokens(), generated,
                    r.finish().toString().toLowerCase(Locale.ROOT), step ? "paged KV cache" : "no cache: full recompute per token",
                    (loaded - t0) / 1e9, r.firstTokenNanos() / 1e9, sinceStart, r.decodeTokensPerSecond());
        }
        return 0;
    }
}
