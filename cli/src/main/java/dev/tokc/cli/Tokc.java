package dev.tokc.cli;

import java.io.PrintStream;

/** Dispatches {@code tokc SUBCOMMAND ...}; returns the process exit code. */
public final class Tokc {
    private Tokc() {}

    public static int run(String[] args, PrintStream out, PrintStream err) {
        out.println("usage: tokc <command> [options]");
        return 0;
    }
}
