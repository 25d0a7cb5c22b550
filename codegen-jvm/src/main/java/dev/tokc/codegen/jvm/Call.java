package dev.tokc.codegen.jvm;

import java.util.List;

/**
 * A call of the {@code ExecContext} method {@code method} with {@code args}; the method's Java signature is looked up
 * by name ({@link ExecAbi}), so a call that does not fit it fails at compile time, not when the engine runs.
 */
public record Call(String method, List<Arg> args) {
    public Call {
        args = List.copyOf(args);
    }

    public static Call of(String method, Arg... args) {
        return new Call(method, List.of(args));
    }
}
