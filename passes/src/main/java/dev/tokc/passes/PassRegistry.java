package dev.tokc.passes;

import dev.tokc.passes.transforms.Canonicalize;
import dev.tokc.passes.transforms.ConstantFold;
import dev.tokc.passes.transforms.Cse;
import dev.tokc.passes.transforms.Dce;
import dev.tokc.passes.transforms.LowerToFlashAttention;
import dev.tokc.passes.transforms.LowerToPagedAttention;
import dev.tokc.passes.transforms.Raise;
import dev.tokc.passes.transforms.FuseElementwise;
import dev.tokc.passes.transforms.FuseGateUp;
import dev.tokc.passes.transforms.FuseLinearActivation;
import dev.tokc.passes.transforms.FuseLinearResidual;
import dev.tokc.passes.transforms.FuseQkv;
import dev.tokc.passes.transforms.FuseResidualNorm;
import dev.tokc.passes.transforms.FuseRopeKvWrite;
import dev.tokc.passes.transforms.ShapeInfer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Passes by name, for {@code --passes=a,b,c} and {@code --dump-after}. Immutable: {@link #with} returns a new
 * registry, so a caller (a test, a plugin) can add passes without affecting {@link #standard()}.
 */
public final class PassRegistry {
    private final Map<String, Supplier<Pass>> factories;

    private PassRegistry(Map<String, Supplier<Pass>> factories) {
        this.factories = Collections.unmodifiableMap(new LinkedHashMap<>(factories));
    }

    public static PassRegistry empty() {
        return new PassRegistry(Map.of());
    }

    /** Every pass of this module, in the order {@code --list-passes} shows them. */
    public static PassRegistry standard() {
        return empty()
                .with(Canonicalize::new)
                .with(ConstantFold::new)
                .with(ShapeInfer::new)
                .with(Cse::new)
                .with(Dce::new)
                .with(Raise::new)
                .with(LowerToPagedAttention::new)
                .with(LowerToFlashAttention::new)
                .with(FuseGateUp::new)
                .with(FuseQkv::new)
                .with(FuseResidualNorm::new)
                .with(FuseLinearResidual::new)
                .with(FuseLinearActivation::new)
                .with(FuseRopeKvWrite::new)
                .with(FuseElementwise::new);
    }

    /** This registry plus the pass {@code factory} makes, under that pass's own name. */
    public PassRegistry with(Supplier<Pass> factory) {
        String name = factory.get().name();
        if (!name.matches("[a-z][a-z0-9-]*")) {
            throw new IllegalArgumentException("pass name '" + name + "' must be lower-case words joined by '-'");
        }
        if (factories.containsKey(name)) {
            throw new IllegalArgumentException("a pass named " + name + " is already registered");
        }
        Map<String, Supplier<Pass>> m = new LinkedHashMap<>(factories);
        m.put(name, factory);
        return new PassRegistry(m);
    }

    public List<String> names() {
        return List.copyOf(factories.keySet());
    }

    public boolean contains(String name) {
        return factories.containsKey(name);
    }

    /** A new instance of the named pass; throws listing the known names when there is none. */
    public Pass create(String name) {
        Supplier<Pass> f = factories.get(name);
        if (f == null) {
            throw new IllegalArgumentException("unknown pass '" + name + "'; known passes: " + String.join(", ", names()));
        }
        return f.get();
    }

    /** The passes of a {@code --passes} value: names separated by commas (blanks around names ignored). */
    public List<Pass> parse(String commaSeparated) {
        List<Pass> out = new ArrayList<>();
        for (String part : commaSeparated.split(",", -1)) {
            String name = part.strip();
            if (name.isEmpty()) {
                throw new IllegalArgumentException("empty pass name in '" + commaSeparated + "'");
            }
            out.add(create(name));
        }
        return out;
    }

    /** {@code name - summary}, one line per pass. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        factories.forEach((name, f) -> sb.append(name).append(" - ").append(f.get().summary()).append('\n'));
        return sb.toString();
    }
}
