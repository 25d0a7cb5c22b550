package dev.tokc.runtime.artifact;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** The executor an engine was compiled for; written to the manifest as its lower-case {@link #id()}. */
public enum Target {
    /** Generated JVM classes over Vector API kernels; the engine holds {@code program.jar} and {@code src/}. */
    JVM("jvm"),
    /** CUDA C++ kernels and a launch plan; the engine holds {@code kernels.cu}, maybe a cubin, and {@code plan.json}. */
    CUDA("cuda");

    private final String id;

    Target(String id) {
        this.id = id;
    }

    /** The manifest spelling ({@code jvm}, {@code cuda}). */
    @JsonValue
    public String id() {
        return id;
    }

    /** The target spelled {@code id}; an unknown name lists the known ones. */
    @JsonCreator
    public static Target fromId(String id) {
        for (Target t : values()) {
            if (t.id.equals(id)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown target '" + id + "' (known: jvm, cuda)");
    }
}
