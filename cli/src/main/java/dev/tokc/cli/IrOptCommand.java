package dev.tokc.cli;

import dev.tokc.ir.Graph;
import dev.tokc.ir.text.IrParser;
import dev.tokc.ir.text.IrPrinter;
import dev.tokc.passes.PassRegistry;
import dev.tokc.passes.Pipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code tokc ir-opt FILE.ir [--passes a,b] [--verify-each] [--dump-after PASS]}: parses IR text, runs passes on
 * every graph in the file and prints the result; pass counters go to standard error. Without {@code --passes} the
 * standard pipeline runs. The IR-level counterpart of {@code tokc compile --emit ir-opt}.
 */
final class IrOptCommand implements Command {
    @Override
    public String name() {
        return "ir-opt";
    }

    @Override
    public String summary() {
        return "run optimiser passes on an IR text file and print the result";
    }

    @Override
    public String usage() {
        return "FILE.ir [--passes a,b,c] [--verify-each] [--dump-after PASS]";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("passes").hasArg().argName("LIST")
                .desc("comma-separated passes to run (default: the standard pipeline); known: "
                        + String.join(", ", PassRegistry.standard().names())).build());
        o.addOption(Option.builder().longOpt("verify-each").desc("run the verifier after every pass").build());
        o.addOption(Option.builder().longOpt("dump-after").hasArg().argName("PASS")
                .desc("print the IR after this pass or phase to standard error").build());
        return o;
    }

    @Override
    public int run(CommandLine cmd, Io io) throws Exception {
        Path file = Args.single(cmd, "FILE.ir");
        if (!Files.isRegularFile(file)) {
            throw new UserError(file + ": no such file (expected IR text)");
        }
        List<Graph> graphs = IrParser.parse(Files.readString(file), file.toString());
        List<Graph> out = new ArrayList<>();
        for (Graph g : graphs) {
            Pipeline.Result r = pipeline(cmd, io).run(g);
            for (String line : r.counterLines()) {
                io.err().println("@" + g.name() + ": " + line);
            }
            out.add(r.graph());
        }
        io.out().print(IrPrinter.print(out));
        return 0;
    }

    /** The pipeline a command line asks for: --passes or the standard one, with --verify-each and --dump-after. */
    static Pipeline pipeline(CommandLine cmd, Io io) {
        Pipeline p;
        try {
            p = cmd.hasOption("passes") ? Pipeline.parse(cmd.getOptionValue("passes"), PassRegistry.standard()) : Pipeline.standard();
        } catch (IllegalArgumentException e) {
            throw new UsageError(e.getMessage());
        }
        p = p.verifyEach(cmd.hasOption("verify-each"));
        if (cmd.hasOption("dump-after")) {
            try {
                p = p.dumpAfter(cmd.getOptionValue("dump-after"), text -> io.err().print(text));
            } catch (IllegalArgumentException e) {
                throw new UsageError(e.getMessage());
            }
        }
        return p;
    }
}
