package dev.tokc.cli;

import java.io.PrintWriter;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;

/**
 * Dispatches {@code tokc SUBCOMMAND ...} and owns the exit-code contract:
 * 0 success, 1 an error in the input or the request (one clear line, stack trace only with {@code --debug}),
 * 2 a usage error (unknown command or flag, missing argument) with a usage line.
 */
public final class Tokc {
    private Tokc() {}

    /** Every subcommand, in the order {@code tokc --help} lists them. */
    static List<Command> commands() {
        return List.of(new IrOptCommand(), new InspectCommand(), new LogitsCommand(), new SynthCommand(), new TokenizeCommand(), new OnnxTestCommand(), new CompileCommand(), new RunCommand(), new ServeCommand(), new BenchCommand(), new EvalCommand());
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        Io io = new Io(out, err);
        Map<String, Command> byName = new LinkedHashMap<>();
        for (Command c : commands()) {
            byName.put(c.name(), c);
        }
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            printOverview(byName, args.length == 0 ? err : out);
            return args.length == 0 ? 2 : 0;
        }
        Command cmd = byName.get(args[0]);
        if (cmd == null) {
            err.println("tokc: unknown command '" + args[0] + "'");
            err.println("usage: tokc <command> [options]   (tokc --help lists the commands)");
            return 2;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        Options options = cmd.options();
        options.addOption(Option.builder().longOpt("help").desc("show this command's options").build());
        options.addOption(Option.builder().longOpt("debug").desc("print stack traces of errors").build());
        if (Arrays.asList(rest).contains("--help") || Arrays.asList(rest).contains("-h")) {
            printCommandHelp(cmd, options, out);
            return 0;
        }
        CommandLine line;
        try {
            line = DefaultParser.builder().setStripLeadingAndTrailingQuotes(false).build().parse(options, rest);
        } catch (ParseException e) {
            err.println("tokc " + cmd.name() + ": " + e.getMessage());
            err.println("usage: tokc " + cmd.name() + " " + cmd.usage() + "   (tokc " + cmd.name() + " --help)");
            return 2;
        }
        boolean debug = line.hasOption("debug");
        try {
            return cmd.run(line, io);
        } catch (UsageError e) {
            err.println("tokc " + cmd.name() + ": " + e.getMessage());
            err.println("usage: tokc " + cmd.name() + " " + cmd.usage());
            return 2;
        } catch (UserError e) {
            err.println("tokc " + cmd.name() + ": error: " + e.getMessage());
            if (debug) {
                e.printStackTrace(err);
            }
            return 1;
        } catch (Exception | StackOverflowError | OutOfMemoryError e) {
            String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            err.println("tokc " + cmd.name() + ": error: " + msg);
            if (debug) {
                e.printStackTrace(err);
            } else if (!Errors.isExpected(e)) {
                err.println("(internal error: rerun with --debug for the stack trace)");
            }
            return 1;
        }
    }

    private static void printOverview(Map<String, Command> byName, PrintStream s) {
        s.println("usage: tokc <command> [options]");
        s.println();
        s.println("commands:");
        int w = byName.keySet().stream().mapToInt(String::length).max().orElse(8);
        for (Command c : byName.values()) {
            s.printf("  %-" + w + "s  %s%n", c.name(), c.summary());
        }
        s.println();
        s.println("tokc <command> --help shows a command's options.");
    }

    private static void printCommandHelp(Command cmd, Options options, PrintStream out) {
        HelpFormatter f = HelpFormatter.builder().get();
        PrintWriter pw = new PrintWriter(out);
        f.printHelp(pw, 100, "tokc " + cmd.name() + " " + cmd.usage(), cmd.summary(), options, 2, 2, null, false);
        pw.flush();
    }
}
