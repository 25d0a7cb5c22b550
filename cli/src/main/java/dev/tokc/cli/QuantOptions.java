package dev.tokc.cli;

import dev.tokc.frontend.LoadedModel;
import dev.tokc.ir.DType;
import dev.tokc.ir.QuantFormat;
import dev.tokc.ir.QuantType;
import dev.tokc.ir.interp.WeightSource;
import dev.tokc.passes.Pipeline;
import dev.tokc.passes.transforms.QuantizeWeights;
import dev.tokc.passes.transforms.StepProgramOptions;
import dev.tokc.runtime.tokenizer.Tokenizers;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * The quantization flags of {@code tokc compile} (issue 7) and the pipeline phase they add:
 * {@code --quant int8|int4|nf4|fp8|w8a8|w4a8}, {@code --group-size} (group-wise formats; default 32),
 * {@code --lm-head FORMAT} (the output projection's format: int8 by default, {@code float} keeps it in --dtype,
 * {@code same} gives it --quant's; {@code --quant-lm-head} is {@code --lm-head same}), {@code --calibration FILE}
 * with {@code --calibration-tokens N} (AWQ scale search for int4/nf4/w4a8, SmoothQuant statistics for w8a8),
 * {@code --smooth-alpha} (SmoothQuant migration strength, default 0.5) and {@code --kv-dtype fp8|int8|int4}.
 *
 * @param type              the packed weight type, or null without {@code --quant}
 * @param lmHead            the LM head's packed type, or null to keep it in the float dtype
 * @param kvDtype           the KV cache dtype of {@code --kv-dtype} (fp8e4m3, i8, i4: quantized with one scale per
 *                          (token, head) vector), or null for the activation dtype
 * @param w8a8              int8 weights and per-token int8 activations
 * @param calibration       calibration text, or null
 * @param calibrationTokens tokens of it to use
 * @param smoothAlpha       SmoothQuant migration strength (w8a8)
 */
record QuantOptions(QuantType type, QuantType lmHead, DType kvDtype, boolean w8a8, Path calibration,
        int calibrationTokens, double smoothAlpha) {

    static void addTo(Options o) {
        o.addOption(Option.builder().longOpt("quant").hasArg().argName("FORMAT")
                .desc("quantize the projections: int8 (per channel), int4 (group-wise, asymmetric), nf4 (group-wise), "
                        + "fp8 (e4m3, per channel), w8a8 (int8 weights, per-token int8 activations, SmoothQuant with "
                        + "--calibration) or w4a8 (int4's weights, activations quantized to int8 per block of 32: an "
                        + "integer kernel); embeddings stay in --dtype").build());
        o.addOption(Option.builder().longOpt("group-size").hasArg().argName("N")
                .desc("weights per scale group for int4/nf4/w4a8: 32 (default), 64 or 128").build());
        o.addOption(Option.builder().longOpt("calibration").hasArg().argName("FILE")
                .desc("calibration text: AWQ scale search for int4/nf4/w4a8, activation statistics for w8a8's SmoothQuant").build());
        o.addOption(Option.builder().longOpt("calibration-tokens").hasArg().argName("N")
                .desc("calibration tokens to run (default 512; the reference interpreter runs them)").build());
        o.addOption(Option.builder().longOpt("smooth-alpha").hasArg().argName("A")
                .desc("SmoothQuant migration strength for w8a8, in [0, 1] (default 0.5)").build());
        o.addOption(Option.builder().longOpt("kv-dtype").hasArg().argName("DTYPE")
                .desc("quantize the KV cache on write: fp8 (e4m3), int8 or int4, one scale per token and KV head; "
                        + "dequantized inside paged attention").build());
        o.addOption(Option.builder().longOpt("lm-head").hasArg().argName("FORMAT")
                .desc("the LM head's format with --quant: int8 (default: an 8-bit output matrix, as llama.cpp's "
                        + "4-bit files keep it in 6 bits), fp8, int4, nf4, w4a8, same (--quant's format) or float "
                        + "(stays in --dtype)").build());
        o.addOption(Option.builder().longOpt("quant-lm-head")
                .desc("the LM head in --quant's format too: --lm-head same").build());
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
            for (String flag : List.of("group-size", "quant-lm-head", "lm-head", "calibration", "calibration-tokens",
                    "smooth-alpha")) {
                if (cmd.hasOption(flag)) {
                    throw new UsageError("--" + flag + " needs --quant");
                }
            }
            return new QuantOptions(null, null, kv, false, null, 0, 0);
        }
        boolean w8a8 = q.equalsIgnoreCase("w8a8");
        QuantFormat format = switch (q.toLowerCase(Locale.ROOT)) {
            case "int8", "w8a8" -> QuantFormat.INT8;
            case "int4" -> QuantFormat.INT4;
            case "nf4" -> QuantFormat.NF4;
            case "fp8" -> QuantFormat.FP8;
            case "w4a8" -> QuantFormat.W4A8;
            default -> throw new UsageError("--quant must be int8, int4, nf4, fp8, w8a8 or w4a8, got '" + q + "'");
        };
        int group = 0;
        if (format.groupWise()) {
            group = Args.intValue(cmd, "group-size", 32, 2, 1 << 16);
            if (!List.of(32, 64, 128).contains(group)) {
                throw new UsageError("--group-size must be 32, 64 or 128, got " + group);
            }
        } else if (cmd.hasOption("group-size")) {
            throw new UsageError("--group-size applies to int4, nf4 and w4a8; " + q + " has one scale per output channel");
        }
        Path calibration = null;
        if (cmd.hasOption("calibration")) {
            if (!format.groupWise() && !w8a8) {
                throw new UsageError("--calibration applies to int4, nf4, w4a8 (AWQ) and w8a8 (SmoothQuant), not " + q);
            }
            calibration = Path.of(cmd.getOptionValue("calibration"));
            if (!Files.isRegularFile(calibration)) {
                throw new UserError(calibration + ": no such file (--calibration expects a text file)");
            }
        }
        double alpha = 0.5;
        if (cmd.hasOption("smooth-alpha")) {
            try {
                alpha = Double.parseDouble(cmd.getOptionValue("smooth-alpha"));
            } catch (NumberFormatException e) {
                alpha = Double.NaN;
            }
            if (!(alpha >= 0 && alpha <= 1) || !w8a8) {
                throw new UsageError("--smooth-alpha takes a number in [0, 1] and applies to --quant w8a8, got '"
                        + cmd.getOptionValue("smooth-alpha") + "'");
            }
        }
        int tokens = Args.intValue(cmd, "calibration-tokens", 512, 2, 1 << 20);
        QuantType type = new QuantType(format, group);
        return new QuantOptions(type, lmHead(cmd, type, group), kv, w8a8, calibration, tokens, alpha);
    }

    /** The LM head's type from {@code --lm-head} / {@code --quant-lm-head}: int8 unless told otherwise. */
    private static QuantType lmHead(CommandLine cmd, QuantType type, int group) {
        if (cmd.hasOption("quant-lm-head") && cmd.hasOption("lm-head")) {
            throw new UsageError("--quant-lm-head is --lm-head same; give one of them");
        }
        String h = cmd.hasOption("quant-lm-head") ? "same" : cmd.getOptionValue("lm-head", "int8").toLowerCase(Locale.ROOT);
        int g = group == 0 ? 32 : group; // group-wise head formats under a per-channel --quant: the default group
        return switch (h) {
            case "float" -> null;
            case "same" -> type;
            case "int8" -> new QuantType(QuantFormat.INT8, 0);
            case "fp8" -> new QuantType(QuantFormat.FP8, 0);
            case "int4" -> new QuantType(QuantFormat.INT4, g);
            case "nf4" -> new QuantType(QuantFormat.NF4, g);
            case "w4a8" -> new QuantType(QuantFormat.W4A8, g);
            default -> throw new UsageError("--lm-head must be int8, fp8, int4, nf4, w4a8, same or float, got '" + h + "'");
        };
    }

    /**
     * With {@code --quant}, the phase that quantizes the projections; it runs last, after fusion (the packed weights
     * are then the fused QKV and gate/up matrices and the epilogues are set). With {@code --calibration} the pass's
     * input scales are computed from the graph it receives, on {@code model}'s weights.
     */
    Optional<Pipeline.Phase> phase(LoadedModel model, PrintStream log) throws IOException {
        if (type == null) {
            return Optional.empty();
        }
        QuantizeWeights.Options options = new QuantizeWeights.Options(type, lmHead, Map.of(), w8a8 ? 8 : 0);
        if (calibration != null) {
            int[] ids = Tokenizers.load(model.source()).encode(Files.readString(calibration, StandardCharsets.UTF_8), false);
            ids = Arrays.copyOf(ids, Math.min(ids.length, calibrationTokens));
            if (ids.length < 2) {
                throw new UserError(calibration + ": encodes to " + ids.length + " tokens, too few to calibrate on");
            }
            WeightSource weights = (key, t) -> model.weights().load(key);
            options = new QuantizeWeights.Options(type, lmHead,
                    Calibration.scales(type, w8a8 ? smoothAlpha : Double.NaN, ids, weights, log), w8a8 ? 8 : 0);
        }
        String what = (w8a8 ? "w8a8" : type.toString()) + (calibration == null ? "" : w8a8 ? ", SmoothQuant" : ", AWQ");
        return Optional.of(Pipeline.Phase.of("quantize", "quantization of the projections (" + what + ")",
                new QuantizeWeights(options)));
    }

    /** The step program's options with {@code --kv-dtype} applied. */
    StepProgramOptions kvOptions(StepProgramOptions base) {
        return kvDtype == null ? base : base.withKvDtype(kvDtype);
    }

    /** The weights' description in the compile summary line. */
    String describe(String dtype) {
        if (type == null) {
            return dtype;
        }
        String head = lmHead == null ? "" : lmHead.equals(type) ? ", LM head too" : ", LM head " + lmHead;
        return (w8a8 ? "w8a8" : type.toString()) + head + " (+ " + dtype + ")";
    }
}
