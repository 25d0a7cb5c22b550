package dev.tokc.cli;

import dev.tokc.frontend.safetensors.DType;
import dev.tokc.frontend.synth.Preset;
import dev.tokc.frontend.synth.Synth;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code tokc synth --preset NAME -o DIR}: a random-weight checkpoint of a real model's shape, for benchmarks. */
final class SynthCommand implements Command {
    @Override
    public String name() {
        return "synth";
    }

    @Override
    public String summary() {
        return "write a random-weight checkpoint with a real model's shape (tinyllama-1.1b, llama-3.2-1b, qwen2.5-0.5b)";
    }

    @Override
    public String usage() {
        return "--preset NAME -o DIR [--dtype f32|bf16|f16] [--seed N]";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("preset").hasArg().argName("NAME").required()
                .desc("model shape: " + Preset.all().stream().map(Preset::name).toList()).build());
        o.addOption(Option.builder("o").longOpt("output").hasArg().argName("DIR").required()
                .desc("directory to write config.json and model.safetensors into").build());
        o.addOption(Option.builder().longOpt("dtype").hasArg().argName("DTYPE").desc("f32, bf16 (default) or f16").build());
        o.addOption(Option.builder().longOpt("seed").hasArg().argName("N").desc("random seed (default 0)").build());
        return o;
    }

    @Override
    public int run(CommandLine cmd, Io io) throws Exception {
        if (!cmd.getArgList().isEmpty()) {
            throw new UsageError("unexpected arguments " + cmd.getArgList());
        }
        Preset preset;
        try {
            preset = Preset.named(cmd.getOptionValue("preset"));
        } catch (IllegalArgumentException e) {
            throw new UsageError(e.getMessage());
        }
        DType dtype = switch (cmd.getOptionValue("dtype", "bf16").toLowerCase(Locale.ROOT)) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            case "f16" -> DType.F16;
            default -> throw new UsageError("--dtype must be f32, bf16 or f16, got '" + cmd.getOptionValue("dtype") + "'");
        };
        long seed = Args.longList("seed", cmd.getOptionValue("seed", "0"))[0];
        Path dir = Path.of(cmd.getOptionValue("output"));
        Synth.Result r = Synth.write(preset, dir, seed, dtype);
        io.err().printf("wrote %s (%s, %,d parameters, %s in %d files) to %s in %.1f s%n", preset.name(),
                dtype.name().toLowerCase(Locale.ROOT), preset.parameterCount(), Format.bytes(r.tensorBytes()),
                r.files().size(), dir, r.elapsed().toMillis() / 1000.0);
        return 0;
    }
}
