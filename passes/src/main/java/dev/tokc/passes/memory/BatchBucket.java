package dev.tokc.passes.memory;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One batch bucket the runtime compiles for: a value for every shape symbol ({@code tokens=16} binds
 * {@code tokens} or {@code seq} to 16). The arena of a bucket is sized for exactly these dims; the runtime pads a
 * step up to the smallest bucket that holds it.
 *
 * @param name     how reports show the bucket ({@code tokens=16})
 * @param bindings symbol values, sorted by symbol
 */
public record BatchBucket(String name, Map<String, Long> bindings) {
    public BatchBucket {
        Objects.requireNonNull(name);
        bindings = java.util.Collections.unmodifiableMap(new TreeMap<>(bindings));
        for (var e : bindings.entrySet()) {
            if (e.getValue() < 0) {
                throw new IllegalArgumentException("symbol " + e.getKey() + " bound to negative " + e.getValue());
            }
        }
    }
}
