package dev.tokc.cli;

import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code tokc bench}: three benchmarks behind one command.
 * <ul>
 *   <li>{@code tokc bench ENGINE --prompt-len 128 --gen-len 128 --batch 1,4,16}: the engine in-process
 *       ({@link EngineBench}): prefill and decode tokens/s, TTFT, MBU against the measured read bandwidth;</li>
 *   <li>{@code tokc bench ENGINE ENGINE... --rounds 5}: several engines compared round by round, each run in its own
 *       JVM, with per-round ratios to the first engine ({@link EngineComparison});</li>
 *   <li>{@code tokc bench --measure-bandwidth}: this machine's read bandwidth, 1 thread and all
 *       ({@link EngineBench});</li>
 *   <li>{@code tokc bench --server URL --concurrency 1,4,16,64 ...}: a running {@code tokc serve} (or any
 *       OpenAI-compatible server) under load ({@link ServerBench}).</li>
 * </ul>
 */
final class BenchCommand implements Command {
    @Override
    public String name() {
        return "bench";
    }

    @Override
    public String summary() {
        return "measure an engine (prefill/decode tok/s, TTFT, MBU), the read bandwidth, or a server under load";
    }

    @Override
    public String usage() {
        return "ENGINE [ENGINE... --rounds N] [--prompt-len N] [--gen-len N] [--batch 1,4,16] | --measure-bandwidth | --server URL [--concurrency 1,4,16,64] ...";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("server").hasArg().argName("URL")
                .desc("benchmark a running OpenAI-compatible server instead of an engine").build());
        o.addOption(Option.builder().longOpt("measure-bandwidth")
                .desc("measure and print this machine's memory read bandwidth (1 thread and all threads)").build());
        // Shared by both benchmarks: N, or MIN:MAX for lengths drawn uniformly per request (server mode).
        o.addOption(Option.builder().longOpt("prompt-len").hasArg().argName("N|MIN:MAX")
                .desc("prompt tokens per sequence/request (default 128)").build());
        o.addOption(Option.builder().longOpt("gen-len").hasArg().argName("N|MIN:MAX")
                .desc("generated tokens per sequence/request (default 128)").build());
        EngineBench.addOptions(o);
        ServerBench.addOptions(o);
        return o;
    }

    @Override
    public int run(CommandLine cmd, Io io) throws Exception {
        if (cmd.hasOption("server")) {
            return ServerBench.run(cmd.getOptionValue("server"), cmd, io);
        }
        if (cmd.hasOption("measure-bandwidth")) {
            return EngineBench.measureBandwidth(cmd, io);
        }
        if (cmd.getArgList().size() > 1) {
            return EngineComparison.run(cmd.getArgList().stream().map(Path::of).toList(), cmd, io);
        }
        if (cmd.hasOption("rounds")) {
            throw new UsageError("--rounds compares engines round by round: give two or more ENGINE directories");
        }
        return EngineBench.run(Args.single(cmd, "ENGINE"), cmd, io);
    }
}
