package dev.tokc.passes.rewrite;

import java.util.Map;

/** Rewriting did not reach a fixed point: some rules kept firing (usually two rules undoing each other). */
public final class NonConvergenceException extends IllegalStateException {
    private final Map<String, Integer> stillFiring;

    public NonConvergenceException(String message, Map<String, Integer> stillFiring) {
        super(message);
        this.stillFiring = Map.copyOf(stillFiring);
    }

    /** Rule name to firings in the last sweep. */
    public Map<String, Integer> stillFiring() {
        return stillFiring;
    }
}
