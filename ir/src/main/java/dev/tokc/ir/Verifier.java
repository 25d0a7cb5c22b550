package dev.tokc.ir;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks a graph's invariants beyond what each node's type inference already enforced at construction:
 * <ul>
 *   <li>every parameter reachable from the outputs is a declared input, and inputs have distinct names;</li>
 *   <li>value names are unique within the graph;</li>
 *   <li>each node's stored type still equals what its op infers from its inputs (catches drift after edits);</li>
 *   <li>weights with one key have one type;</li>
 *   <li>every symbol used by a {@code dims} node or a parameter-derived shape is bound by some input's shape,
 *       so the interpreter can resolve it;</li>
 *   <li>there is at least one output.</li>
 * </ul>
 * Returns every problem found, each naming the node; {@link #verifyOrThrow} joins them into one exception.
 */
public final class Verifier {
    private Verifier() {}

    public static List<String> verify(Graph g) {
        List<String> problems = new ArrayList<>();
        if (g.outputs().isEmpty()) {
            problems.add("graph @" + g.name() + " has no outputs");
        }
        Set<Node> declared = new HashSet<>(g.inputs());
        Set<String> paramNames = new HashSet<>();
        Set<String> boundSymbols = new HashSet<>();
        for (Node p : g.inputs()) {
            String pn = ((SourceOp.Param) p.op()).paramName();
            if (!paramNames.add(pn)) {
                problems.add("input %" + pn + " is declared twice");
            }
            for (Dim d : p.shape().dims()) {
                d.symbol().ifPresent(boundSymbols::add);
            }
        }
        Set<String> names = new HashSet<>();
        Map<String, TensorType> weightTypes = new HashMap<>();
        for (Node n : g.nodes()) {
            if (n.name() != null && !names.add(n.name())) {
                problems.add(n.describe() + ": the name %" + n.name() + " is used by more than one value");
            }
            switch (n.op()) {
                case SourceOp.Param p when !declared.contains(n) ->
                        problems.add(n.describe() + " (%" + p.paramName() + ") is used but not a graph input");
                case SourceOp.Weight w -> {
                    TensorType prev = weightTypes.putIfAbsent(w.key(), w.type());
                    if (prev != null && !prev.equals(w.type())) {
                        problems.add(n.describe() + ": weight \"" + w.key() + "\" has types " + prev + " and " + w.type());
                    }
                }
                case SourceOp.Dims d -> {
                    for (Dim dim : d.dims()) {
                        for (String s : dim.symbols()) {
                            if (!boundSymbols.contains(s)) {
                                problems.add(n.describe() + ": symbol '" + s + "' is not a dim of any graph input");
                            }
                        }
                    }
                }
                default -> { }
            }
            try {
                TensorType t = n.op().inferType(n.inputs());
                if (!t.equals(n.type())) {
                    problems.add(n.describe() + ": type " + n.type() + " but its op infers " + t);
                }
            } catch (IrException | IllegalArgumentException e) {
                problems.add(n.describe() + ": " + e.getMessage());
            }
        }
        return problems;
    }

    public static void verifyOrThrow(Graph g) {
        List<String> problems = verify(g);
        if (!problems.isEmpty()) {
            throw new IrException("graph @" + g.name() + " is invalid:\n  " + String.join("\n  ", problems));
        }
    }
}
