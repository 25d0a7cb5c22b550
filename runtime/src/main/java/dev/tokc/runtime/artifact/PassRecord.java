package dev.tokc.runtime.artifact;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One pass of the pipeline that produced the engine, in run order, with the counters it reported
 * (e.g. {@code fusedLinear=12}): what a user reads to learn which optimisations actually fired.
 */
public record PassRecord(String name, Map<String, Long> counters) {
    public PassRecord {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a pass record needs the pass name");
        }
        // Insertion order is the order the pass reported its counters in; keep it for printing.
        counters = Collections.unmodifiableMap(new LinkedHashMap<>(counters == null ? Map.of() : counters));
    }
}
