package dev.tokc.cli;

import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** {@code tokc bench ENGINE} and {@code tokc bench --measure-bandwidth}. Placeholder until the engine benchmark lands. */
final class EngineBench {
    private EngineBench() {}

    /** Declares the engine benchmark's flags (names must not clash with {@link ServerBench}'s). */
    static void addOptions(Options o) {}

    static int run(Path engine, CommandLine cmd, Io io) {
        throw new UserError("tokc bench ENGINE is not built yet");
    }

    static int measureBandwidth(CommandLine cmd, Io io) {
        throw new UserError("tokc bench --measure-bandwidth is not built yet");
    }
}
