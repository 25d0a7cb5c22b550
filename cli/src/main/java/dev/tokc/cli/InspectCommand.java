package dev.tokc.cli;

import dev.tokc.frontend.LoadedModel;
import dev.tokc.frontend.ModelLoader;
import java.nio.file.Path;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** {@code tokc inspect MODEL}: what a model is, how big, and what its imported IR is made of. */
final class InspectCommand implements Command {
    @Override
    public String name() {
        return "inspect";
    }

    @Override
    public String summary() {
        return "print a model's architecture, parameter count, dtypes, bytes and IR op histogram";
    }

    @Override
    public String usage() {
        return "MODEL | ENGINE --verify";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(org.apache.commons.cli.Option.builder().longOpt("verify")
                .desc("ENGINE: hash every file of a compiled engine against its manifest (loading skips weights "
                        + "already verified since their last change)").build());
        return o;
    }

    @Override
    public int run(CommandLine cmd, Io io) throws Exception {
        Path path = Args.single(cmd, "MODEL");
        if (cmd.hasOption("verify")) {
            if (!java.nio.file.Files.isRegularFile(path.resolve("manifest.json"))) {
                throw new UserError(path + " is not an engine directory (no manifest.json); --verify checks compiled engines");
            }
            long t0 = System.nanoTime();
            try (var e = dev.tokc.runtime.artifact.Engine.open(path, dev.tokc.runtime.artifact.ArtifactReader.Options.full())) {
                io.out().printf(java.util.Locale.ROOT, "%s: verified %d files against the manifest's sha256 in %.1f s%n",
                        path, e.manifest().files().size(), (System.nanoTime() - t0) / 1e9);
            } catch (dev.tokc.runtime.artifact.ArtifactException ex) {
                throw new UserError(ex.getMessage());
            }
            return 0;
        }
        try (LoadedModel m = ModelLoader.load(path)) {
            var out = io.out();
            out.println("model:        " + m.source());
            out.println("format:       " + m.format().name().toLowerCase());
            out.println("architecture: " + m.architecture());
            m.config().ifPresent(c -> {
                out.printf("shape:        %d layers, hidden %d, %d heads (%d kv heads, head_dim %d), ffn %d, vocab %d%n",
                        c.numLayers(), c.hiddenSize(), c.numHeads(), c.numKvHeads(), c.headDim(), c.intermediateSize(),
                        c.vocabSize());
            });
            out.println("signature:    " + m.graph().inputs().stream().map(n -> "%" + n.name() + ": " + n.type()).toList()
                    + " -> " + m.graph().outputs().stream().map(n -> n.type().toString()).toList());
            out.printf("parameters:   %,d (%s)%n", m.parameterCount(), Format.bytes(m.weightBytes()));
            out.print("dtypes:      ");
            for (Map.Entry<String, Long> e : m.parametersByDType().entrySet()) {
                out.printf(" %s %,d", e.getKey(), e.getValue());
            }
            out.println();
            out.println("ir ops (" + m.graph().nodes().size() + " nodes):");
            m.graph().opHistogram().entrySet().stream()
                    .sorted((a, b) -> b.getValue() - a.getValue())
                    .forEach(e -> out.printf("  %-20s %5d%n", e.getKey(), e.getValue()));
        }
        return 0;
    }
}
