package dev.tokc.cli;

/** Entry point of the {@code tokc} command. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.exit(Tokc.run(args, System.out, System.err));
    }
}
