package dev.tokc.cli;

import dev.tokc.frontend.LoadedModel;
import dev.tokc.frontend.ModelLoader;
import dev.tokc.ir.text.IrPrinter;
import dev.tokc.passes.Pipeline;
import dev.tokc.passes.memory.MemoryPlanner;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code tokc compile MODEL --emit ir|ir-opt [--passes ..] [--dump-after PASS] [--verify-each]}: imports a model
 * and stops at a stage, printing its IR (pass counters and, for ir-opt, the activation memory plan per batch bucket
 * on standard error). Writing an engine ({@code -o ENGINE})
 * needs the JVM backend, which is not built yet; the command says so instead of writing something that does not run.
 */
final class CompileCommand implements Command {
    @Override
    public String name() {
        return "compile";
    }

    @Override
    public String summary() {
        return "import a model and optimise it; --emit ir|ir-opt prints the IR at that stage";
    }

    @Override
    public String usage() {
        return "MODEL --emit ir|ir-opt [--passes a,b] [--dump-after PASS] [--verify-each]";
    }

    @Override
    public Options options() {
        Options o = new IrOptCommand().options();
        o.addOption(Option.builder().longOpt("emit").hasArg().argName("STAGE")
                .desc("stop after this stage and print it: ir (imported) or ir-opt (after the pass pipeline)").build());
        o.addOption(Option.builder("o").longOpt("output").hasArg().argName("ENGINE").desc("engine directory to write").build());
        return o;
    }

    @Override
    public int run(CommandLine cmd, Io io) throws Exception {
        Path model = Args.single(cmd, "MODEL");
        String emit = cmd.getOptionValue("emit");
        if (emit == null) {
            throw new UsageError("writing an engine (-o ENGINE) needs the JVM backend, which tokc does not have yet;"
                    + " use --emit ir or --emit ir-opt");
        }
        emit = emit.toLowerCase(Locale.ROOT);
        if (!emit.equals("ir") && !emit.equals("ir-opt")) {
            throw new UsageError("--emit must be ir or ir-opt, got '" + emit + "'");
        }
        try (LoadedModel m = ModelLoader.load(model)) {
            if (emit.equals("ir")) {
                io.out().print(IrPrinter.print(m.graph()));
                return 0;
            }
            Pipeline.Result r = IrOptCommand.pipeline(cmd, io).run(m.graph());
            for (String line : r.counterLines()) {
                io.err().println(line);
            }
            io.err().print(memoryReport(r.graph()));
            io.out().print(IrPrinter.print(r.graph()));
        }
        return 0;
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
