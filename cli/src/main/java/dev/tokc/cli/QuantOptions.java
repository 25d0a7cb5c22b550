package dev.tokc.cli;

import dev.tokc.ir.DType;
import dev.tokc.ir.QuantFormat;
import dev.tokc.ir.QuantType;
import dev.tokc.passes.Pipeline;
import dev.tokc.passes.transforms.QuantizeWeights;
import dev.tokc.passes.transforms.StepProgramOptions;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * The quantization flags of {@code tokc compile} (issue 7) and the pipeline phase they add:
 * {@code --quant int8|int4|nf4|fp8}, {@code --group-size} (group-wise formats; default 32) and
 * {@code --quant-lm-head} (also quantize the output projection, kept in float by default).
 *
 * @param type           the packed weight type, or null without {@code --quant}
 * @param quantizeLmHead whether the LM head is quantized too
 * @param kvDtype        the KV cache dtype of {@code --kv-dtype} (fp8e4m3, i8, i4: quantized with one scale per
 *                       (token, head) vector), or null for the activation dtype
 */
record QuantOptions(QuantType type, boolean quantizeLmHead, DType kvDtype) {

    static void addTo(Options o) {
        o.addOption(Option.builder().longOpt("quant").hasArg().argName("FORMAT")
                .desc("weight-only quantization of the projections: int8 (per channel), int4 (group-wise, asymmetric), "
                        + "nf4 (group-wise) or fp8 (e4m3, per channel); embeddings stay in --dtype").build());
        o.addOption(Option.builder().longOpt("group-size").hasArg().argName("N")
                .desc("weights per scale group for int4/nf4: 32 (default), 64 or 128").build());
        o.addOption(Option.builder().longOpt("kv-dtype").hasArg().argName("DTYPE")
                .desc("quantize the KV cache on write: fp8 (e4m3), int8 or int4, one scale per token and KV head; "
                        + "dequantized inside paged attention").build());
        o.addOption(Option.builder().longOpt("quant-lm-head")
                .desc("quantize the LM head too (by default it stays in --dtype)").build());
    }

    static QuantOptions parse(CommandLine cmd) {
        DType kv = null;
        if (cmd.hasOption("kv-dtype")) {
            String k = cmd.getOptionValue("kv-dtype").toLowerCase(Locale.ROOT);
            kv = switch (k) {
                case "fp8", "fp8e4m3" -> DType.FP8E4M3;
                case "int8", "i8" -> DType.I8;
                case "int4", "i4" -> DType.I4;
                default -> throw new UsageError("--kv-dtype must be fp8, int8 or int4, got '" + k + "'");
            };
        }
        String q = cmd.getOptionValue("quant");
        if (q == null) {
            if (cmd.hasOption("group-size") || cmd.hasOption("quant-lm-head")) {
                throw new UsageError("--group-size and --quant-lm-head need --quant");
            }
            return new QuantOptions(null, false, kv);
        }
        QuantFormat format = switch (q.toLowerCase(Locale.ROOT)) {
            case "int8" -> QuantFormat.INT8;
            case "int4" -> QuantFormat.INT4;
            case "nf4" -> QuantFormat.NF4;
            case "fp8" -> QuantFormat.FP8;
            default -> throw new UsageError("--quant must be int8, int4, nf4 or fp8, got '" + q + "'");
        };
        int group = 0;
        if (format.groupWise()) {
            group = Args.intValue(cmd, "group-size", 32, 2, 1 << 16);
            if (!List.of(32, 64, 128).contains(group)) {
                throw new UsageError("--group-size must be 32, 64 or 128, got " + group);
            }
        } else if (cmd.hasOption("group-size")) {
            throw new UsageError("--group-size applies to int4 and nf4; " + q + " has one scale per output channel");
        }
        return new QuantOptions(new QuantType(format, group), cmd.hasOption("quant-lm-head"), kv);
    }

    /** With {@code --quant}, the phase that quantizes the projections; it runs last, after fusion. */
    Optional<Pipeline.Phase> phase() {
        if (type == null) {
            return Optional.empty();
        }
        // After fusion: the packed weights are then the fused QKV and gate/up matrices, and the epilogues are set.
        return Optional.of(Pipeline.Phase.of("quantize", "weight-only quantization of the projections (" + type + ")",
                new QuantizeWeights(new QuantizeWeights.Options(type, quantizeLmHead))));
    }

    /** The step program's options with {@code --kv-dtype} applied. */
    StepProgramOptions kvOptions(StepProgramOptions base) {
        return kvDtype == null ? base : base.withKvDtype(kvDtype);
    }

    /** The weights' description in the compile summary line. */
    String describe(String dtype) {
        return type == null ? dtype : type + " (+ " + dtype + ")";
    }
}
