package dev.tokc.cli;

import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;

/** Helpers for positional arguments and typed flag values, raising {@link UsageError} with what was expected. */
final class Args {
    private Args() {}

    /** Exactly one positional argument, as a path. */
    static Path single(CommandLine cmd, String what) {
        if (cmd.getArgList().size() != 1) {
            throw new UsageError(cmd.getArgList().isEmpty() ? "missing " + what
                    : "expected one " + what + ", got " + cmd.getArgList().size() + " arguments: " + cmd.getArgList());
        }
        return Path.of(cmd.getArgList().get(0));
    }

    /** A comma-separated list of integers, e.g. {@code --ids 1,2,3}. */
    static long[] longList(String flag, String value) {
        String[] parts = value.split(",");
        long[] out = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Long.parseLong(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new UsageError("--" + flag + " expects comma-separated integers, got '" + parts[i] + "'");
            }
        }
        return out;
    }

    static int intValue(CommandLine cmd, String flag, int dflt, int min, int max) {
        String v = cmd.getOptionValue(flag);
        if (v == null) {
            return dflt;
        }
        try {
            int x = Integer.parseInt(v.trim());
            if (x < min || x > max) {
                throw new UsageError("--" + flag + " must be between " + min + " and " + max + ", got " + x);
            }
            return x;
        } catch (NumberFormatException e) {
            throw new UsageError("--" + flag + " expects an integer, got '" + v + "'");
        }
    }
}
