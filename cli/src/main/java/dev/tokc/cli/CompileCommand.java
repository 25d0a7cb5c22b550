package dev.tokc.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokc.codegen.jvm.CodegenException;
import dev.tokc.codegen.jvm.EngineWriter;
import dev.tokc.codegen.jvm.JvmBackend;
import dev.tokc.frontend.LoadedModel;
import dev.tokc.frontend.ModelLoader;
import dev.tokc.ir.text.IrPrinter;
import dev.tokc.passes.PassRegistry;
import dev.tokc.passes.Pipeline;
import dev.tokc.passes.memory.MemoryPlanner;
import dev.tokc.passes.transforms.LowerToPagedAttention;
import dev.tokc.runtime.artifact.ArtifactException;
import dev.tokc.runtime.artifact.Manifest;
import dev.tokc.runtime.artifact.PassRecord;
import dev.tokc.runtime.artifact.Progress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import dev.tokc.frontend.safetensors.Checkpoint;
import dev.tokc.frontend.safetensors.TensorView;
import dev.tokc.runtime.kernels.ElementType;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code tokc compile MODEL (-o ENGINE [--dtype f32|bf16|f16] [--block-size 16] [--force] | --emit ir|ir-opt|java)}:
 * imports a model, runs the pass pipeline and either prints a stage ({@code --emit}; pass counters on standard
 * error, and for ir-opt the activation memory plan per batch bucket) or writes a JVM engine through the JVM backend (generated program, weights re-laid-out in the requested
 * dtype, tokenizer files). An existing engine is replaced only with {@code --force}; on a terminal a progress line
 * shows the phase, tensors written and bytes/s.
 */
final class CompileCommand implements Command {
    /** Files copied from the model directory into the engine when present. */
    private static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json", "tokenizer.model",
            "vocab.json", "merges.txt", "special_tokens_map.json", "generation_config.json", "chat_template.jinja");

    @Override
    public String name() {
        return "compile";
    }

    @Override
    public String summary() {
        return "compile a model into a JVM engine (-o ENGINE), or print a stage with --emit ir|ir-opt|java";
    }

    @Override
    public String usage() {
        return "MODEL (-o ENGINE [--dtype f32|bf16|f16] [--block-size 16] [--force] | --emit ir|ir-opt|java) "
                + "[--quant int8|int4|nf4|fp8|w8a8|w4a8 [--group-size 32|64|128] [--calibration FILE [--calibration-tokens N]] "
                + "[--smooth-alpha 0.5] [--lm-head int8|fp8|int4|nf4|w4a8|same|float]] [--kv-dtype fp8|int8|int4] "
                + "[--passes a,b] [--dump-after PASS] [--verify-each]";
    }

    @Override
    public Options options() {
        Options o = new IrOptCommand().options();
        o.addOption(Option.builder().longOpt("emit").hasArg().argName("STAGE")
                .desc("stop after this stage and print it: ir (imported), ir-opt (after the pass pipeline) or java "
                        + "(the generated program's source)").build());
        o.addOption(Option.builder("o").longOpt("output").hasArg().argName("ENGINE").desc("engine directory to write").build());
        o.addOption(Option.builder().longOpt("dtype").hasArg().argName("DTYPE")
                .desc("weight storage of the engine's matrices: f32 (default), bf16 or f16").build());
        o.addOption(Option.builder().longOpt("block-size").hasArg().argName("N").desc("KV cache block size (default 16)").build());
        o.addOption(Option.builder().longOpt("force").desc("replace an existing engine at ENGINE").build());
        QuantOptions.addTo(o);
        return o;
    }

    @Override
    public int run(CommandLine cmd, Io io) throws Exception {
        Path model = Args.single(cmd, "MODEL");
        String emit = cmd.getOptionValue("emit");
        String out = cmd.getOptionValue("output");
        if ((emit == null) == (out == null)) {
            throw new UsageError("give either -o ENGINE (write an engine) or --emit ir|ir-opt|java (print a stage)");
        }
        if (emit != null) {
            emit = emit.toLowerCase(Locale.ROOT);
            if (!List.of("ir", "ir-opt", "java").contains(emit)) {
                throw new UsageError("--emit must be ir, ir-opt or java, got '" + emit + "'");
            }
        }
        String dtype = cmd.getOptionValue("dtype", "f32").toLowerCase(Locale.ROOT);
        if (!List.of("f32", "bf16", "f16").contains(dtype)) {
            throw new UsageError("--dtype must be f32, bf16 or f16, got '" + dtype + "'");
        }
        int blockSize = Args.intValue(cmd, "block-size", 16, 1, 1 << 16);
        QuantOptions quant = QuantOptions.parse(cmd);
        if (out != null && Files.exists(Path.of(out)) && !cmd.hasOption("force")) {
            // Checked before importing and optimising, so a refused compile fails in a second; ArtifactWriter checks
            // again (and whether the target looks like an engine) before it replaces anything.
            throw new UserError(out + " already exists; use --force to replace it");
        }
        long start = System.nanoTime();
        try (LoadedModel m = ModelLoader.load(model)) {
            if ("ir".equals(emit)) {
                io.out().print(IrPrinter.print(m.graph()));
                return 0;
            }
            Pipeline.Result r = pipeline(cmd, io, blockSize, quant, m).run(m.graph());
            for (String line : r.counterLines()) {
                io.err().println(line);
            }
            if ("ir-opt".equals(emit)) {
                io.err().print(memoryReport(r.graph()));
                io.out().print(IrPrinter.print(r.graph()));
                return 0;
            }
            JvmBackend.Output program;
            try {
                program = JvmBackend.compile(r.graph(), (key, type) -> m.weights().load(key), false);
            } catch (CodegenException e) {
                throw new UserError(model + ": " + e.getMessage());
            }
            if (!r.graph().name().equals(LowerToPagedAttention.GRAPH_NAME)) {
                io.err().println("note: the graph did not become a paged step program (see the pass counters); the engine "
                        + "runs the full forward without a KV cache");
            }
            if ("java".equals(emit)) {
                io.out().print(program.source());
                return 0;
            }
            List<PassRecord> passes = new ArrayList<>();
            for (Pipeline.PassRun run : r.runs()) {
                passes.add(new PassRecord(run.phase() + "/" + run.pass(), run.counters()));
            }
            EngineWriter.Options options = new EngineWriter.Options(dtype, blockSize, cmd.hasOption("force"), progress(io),
                    modelConfig(m), passes, IrPrinter.print(r.graph()), tokenizerFiles(m.source()));
            Manifest manifest;
            try {
                manifest = EngineWriter.write(Path.of(out), program, (key, type) -> m.weights().load(key), raw(m), options);
            } catch (ArtifactException e) {
                throw new UserError(e.getMessage() + (cmd.hasOption("force") ? "" : " (use --force to replace it)"));
            }
            if (System.console() != null) {
                io.err().print("\r\033[K");
            }
            long bytes = manifest.tensors().stream().mapToLong(t -> t.byteLength()).sum();
            io.err().printf(Locale.ROOT, "wrote %s: %d tensors, %.1f MB %s weights, program %s, in %.1f s%n", out,
                    manifest.tensors().size(), bytes / 1e6, quant.describe(dtype), program.className(),
                    (System.nanoTime() - start) / 1e9);
        }
        return 0;
    }

    /**
     * The pipeline of {@code --passes} (default: the standard one) with the step program's KV block size set to
     * {@code blockSize}, then {@code --verify-each} and {@code --dump-after}.
     */
    private static Pipeline pipeline(CommandLine cmd, Io io, int blockSize, QuantOptions quant, LoadedModel m)
            throws java.io.IOException {
        Pipeline base;
        try {
            base = cmd.hasOption("passes") ? Pipeline.parse(cmd.getOptionValue("passes"), PassRegistry.standard()) : Pipeline.standard();
        } catch (IllegalArgumentException e) {
            throw new UsageError(e.getMessage());
        }
        List<Pipeline.Phase> phases = new ArrayList<>();
        for (Pipeline.Phase ph : base.phases()) {
            phases.add(new Pipeline.Phase(ph.name(), ph.comment(), ph.passes().stream()
                    .map(p -> p instanceof LowerToPagedAttention l ? new LowerToPagedAttention(quant.kvOptions(l.options().withBlockSize(blockSize))) : p)
                    .toList()));
        }
        quant.phase(m, io.err()).ifPresent(phases::add);
        Pipeline p = Pipeline.of(phases.toArray(Pipeline.Phase[]::new)).verifyEach(cmd.hasOption("verify-each"));
        if (cmd.hasOption("dump-after")) {
            try {
                p = p.dumpAfter(cmd.getOptionValue("dump-after"), text -> io.err().print(text));
            } catch (IllegalArgumentException e) {
                throw new UsageError(e.getMessage());
            }
        }
        return p;
    }

    /** A carriage-return status line on a terminal; nothing when standard error is redirected. */
    private static Progress.Listener progress(Io io) {
        if (System.console() == null) {
            return Progress.Listener.NONE;
        }
        long[] last = {0};
        return p -> {
            long now = System.nanoTime();
            if (now - last[0] > 100_000_000L || p.phase().equals("done")) {
                last[0] = now;
                io.err().print("\r\033[K" + p.line());
                io.err().flush();
            }
        };
    }

    /** Zero-copy checkpoint tensors of a safetensors import (f32/bf16/f16), so weights stream into the engine. */
    private static EngineWriter.RawWeights raw(LoadedModel m) {
        if (!(m.resources() instanceof Checkpoint ckpt)) {
            return EngineWriter.RawWeights.NONE;
        }
        return key -> {
            if (!ckpt.contains(key)) {
                return Optional.empty();
            }
            TensorView v = ckpt.tensor(key);
            ElementType type = switch (v.dtype()) {
                case F32 -> ElementType.F32;
                case BF16 -> ElementType.BF16;
                case F16 -> ElementType.F16;
                default -> null;
            };
            return type == null ? Optional.empty() : Optional.of(new EngineWriter.RawTensor(v.data(), type));
        };
    }

    /** The checkpoint's config.json as read (an empty object for ONNX files without one). */
    private static ObjectNode modelConfig(LoadedModel m) throws java.io.IOException {
        Path dir = Files.isDirectory(m.source()) ? m.source() : m.source().toAbsolutePath().getParent();
        Path config = dir.resolve("config.json");
        ObjectMapper json = new ObjectMapper();
        if (Files.exists(config) && json.readTree(config.toFile()) instanceof ObjectNode o) {
            return o;
        }
        return json.createObjectNode();
    }

    private static List<Path> tokenizerFiles(Path source) {
        Path dir = Files.isDirectory(source) ? source : source.toAbsolutePath().getParent();
        List<Path> files = new ArrayList<>();
        for (String name : TOKENIZER_FILES) {
            if (Files.isRegularFile(dir.resolve(name))) {
                files.add(dir.resolve(name));
            }
        }
        return files;
    }

    /** The activation memory plan of the optimised program at the default token buckets, as comment lines. */
    static String memoryReport(dev.tokc.ir.Graph g) {
        try {
            return MemoryPlanner.plan(g).render();
        } catch (IllegalArgumentException e) {
            return "// memory plan @" + g.name() + ": not available: " + e.getMessage() + "\n";
        }
    }
}
