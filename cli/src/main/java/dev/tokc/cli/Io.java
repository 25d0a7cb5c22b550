package dev.tokc.cli;

import java.io.PrintStream;

/** Where a command writes: standard output for results, standard error for progress and diagnostics. */
public record Io(PrintStream out, PrintStream err) {}
