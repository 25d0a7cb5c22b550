package dev.tokc.codegen.jvm;

import dev.tokc.ir.DType;
import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.ir.interp.WeightSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Compile-time work on weights before code generation: the parts of the graph that depend only on weights and
 * constants are evaluated now, once, instead of on every step.
 *
 * <ul>
 *   <li>{@code cast(W) {to = f32}} of a stored 16- or 32-bit float weight (what importers put after a bf16
 *       checkpoint's weights) becomes the weight itself, typed f32: widening is exact, and the engine stores every
 *       weight in the dtype its kernel reads anyway, converting from the checkpoint's bytes while writing. Folding it
 *       instead would materialise every weight of the model in memory.</li>
 *   <li>{@code linear(x, W) {transpose_weight = true}} over a stored {@code W[k, n]} (GPT-2's Conv1D) becomes
 *       {@code linear(x, transpose(W))}, so the GEMM kernel always reads {@code [n, k]} rows.</li>
 *   <li>Every other node whose operands are all stored (weights, constants, or results of this folding) is
 *       evaluated with the reference interpreter and replaced by a new weight {@code folded.N} (casts, concats or
 *       transposes of weights, constant arithmetic).</li>
 * </ul>
 * The result is the graph the backend lowers plus the values of the folded tensors. Folded values are held in
 * memory until written; a pass that re-lays out a multi-gigabyte tensor should stream instead.
 */
public final class WeightPlan {
    private final Graph graph;
    private final Map<String, Tensor> folded;

    private WeightPlan(Graph graph, Map<String, Tensor> folded) {
        this.graph = graph;
        this.folded = folded;
    }

    /** The graph with its weight-only subgraphs folded. */
    public Graph graph() {
        return graph;
    }

    /** Values of the weights this plan created, by key. */
    public Map<String, Tensor> folded() {
        return folded;
    }

    /** A source for every stored tensor of {@link #graph}: folded ones from memory, the rest from {@code original}. */
    public WeightSource source(WeightSource original) {
        return (key, type) -> {
            Tensor t = folded.get(key);
            return t != null ? t : original.load(key, type);
        };
    }

    /** Folds the weight-only parts of {@code g}, reading weights from {@code weights}. */
    public static WeightPlan prepare(Graph g, WeightSource weights) {
        Map<String, Tensor> folded = new HashMap<>();
        WeightSource both = (key, type) -> {
            Tensor t = folded.get(key);
            return t != null ? t : weights.load(key, type);
        };
        Graph out = g.transform(n -> {
            if (n.op() instanceof PrimitiveOp.Cast c && c.to() == DType.F32 && n.input(0).op() instanceof SourceOp.Weight w
                    && (w.type().dtype() == DType.F32 || w.type().dtype() == DType.BF16 || w.type().dtype() == DType.F16)) {
                return Node.of(new SourceOp.Weight(w.key(), n.type()), List.of(), n.input(0).name());
            }
            if (n.op() instanceof ModelOp.Linear l && l.transposeWeight() && KernelTable.isStored(n.input(1))) {
                Node wt = fold(Node.of(new PrimitiveOp.Transpose(List.of(1L, 0L)), n.input(1)), both, folded);
                List<Node> ins = new ArrayList<>(n.inputs());
                ins.set(1, wt);
                return Node.of(new ModelOp.Linear(false), ins, n.name());
            }
            if (n.op() instanceof SourceOp || n.inputs().isEmpty() || !n.inputs().stream().allMatch(KernelTable::isStored)) {
                return n;
            }
            return fold(n, both, folded);
        });
        return new WeightPlan(out, folded);
    }

    private static Node fold(Node n, WeightSource source, Map<String, Tensor> folded) {
        Tensor value = Interpreter.run(new Graph("fold", List.of(), List.of(n)), Map.of(), source).get(0);
        String key = "folded." + folded.size();
        folded.put(key, value);
        TensorType type = n.type();
        return Node.of(new SourceOp.Weight(key, type), List.of(), n.name());
    }
}
