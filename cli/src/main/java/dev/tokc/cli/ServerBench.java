package dev.tokc.cli;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** {@code tokc bench --server URL}. Placeholder until the server load benchmark lands. */
final class ServerBench {
    private ServerBench() {}

    /** Declares the server benchmark's flags (names must not clash with {@link EngineBench}'s). */
    static void addOptions(Options o) {}

    static int run(String url, CommandLine cmd, Io io) {
        throw new UserError("tokc bench --server is not built yet");
    }
}
