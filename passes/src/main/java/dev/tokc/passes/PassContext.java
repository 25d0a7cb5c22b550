package dev.tokc.passes;

import dev.tokc.passes.rewrite.RewriteDriver;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What one run of one pass sees besides the graph: the options shared by the pipeline, and the counters it
 * reports. A fresh context is made for every pass run, so counters belong to exactly one pass.
 */
public final class PassContext {
    private final String pass;
    private final RewriteDriver.Options rewriteOptions;
    private final Map<String, Long> counters = new LinkedHashMap<>();

    /**
     * @param pass           the name of the pass this context belongs to (for messages)
     * @param rewriteOptions how rule-based passes drive their rules (tests use {@link RewriteDriver.Options#STRICT})
     */
    public PassContext(String pass, RewriteDriver.Options rewriteOptions) {
        this.pass = Objects.requireNonNull(pass);
        this.rewriteOptions = Objects.requireNonNull(rewriteOptions);
    }

    /** A context with the default (lenient) rewrite options. */
    public PassContext(String pass) {
        this(pass, RewriteDriver.Options.DEFAULT);
    }

    public String pass() {
        return pass;
    }

    public RewriteDriver.Options rewriteOptions() {
        return rewriteOptions;
    }

    /** Adds {@code n} to a counter, creating it (so {@code add(c, 0)} makes a counter show as {@code c=0}). */
    public void add(String counter, long n) {
        counters.merge(counter, n, Long::sum);
    }

    public void increment(String counter) {
        add(counter, 1);
    }

    /** A counter's value; 0 when never reported. */
    public long get(String counter) {
        return counters.getOrDefault(counter, 0L);
    }

    /** Counters in the order they were first reported. */
    public Map<String, Long> counters() {
        return Collections.unmodifiableMap(counters);
    }

    /** {@code folded=3 skippedLarge=1}. */
    public String report() {
        StringBuilder sb = new StringBuilder();
        counters.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : " ").append(k).append('=').append(v));
        return sb.toString();
    }
}
