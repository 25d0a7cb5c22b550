package dev.tokc.cli;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * One {@code tokc} subcommand. {@link #options()} declares its flags (Apache Commons CLI); {@link #run} gets them
 * parsed and returns the exit code. Errors the user can fix are thrown as {@link UserError} (one line, exit 1);
 * anything else is a bug and prints a stack trace only with {@code --debug}.
 */
public interface Command {
    String name();

    /** One line for {@code tokc --help}. */
    String summary();

    /** Usage after the command name, e.g. {@code "FILE.ir [--passes a,b]"}. */
    String usage();

    Options options();

    int run(CommandLine cmd, Io io) throws Exception;
}
