package dev.tokc.codegen.jvm;

import dev.tokc.ir.DType;
import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.ir.interp.WeightSource;
import java.util.ArrayList;
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
 *   <li>{@code linear(x, W) {transpose_weight = true}} (and the same {@code fused_linear}) over a stored {@code W[k, n]} (GPT-2's Conv1D) becomes
 *       {@code linear(x, transpose(W))}, so the GEMM kernel always reads {@code [n, k]} rows.</li>
 *   <li>Every other node whose operands are all stored (weights, constants, or results of this folding) is
 *       evaluated with the reference interpreter and replaced by a new weight {@code folded.N} (casts, concats or
 *       transposes of weights, constant arithmetic).</li>
 * </ul>
 * The result is the graph the backend lowers plus, for each folded tensor, the weight-only expression that computes
 * it. Values are computed only when asked for ({@link #source}), one tensor at a time, so a model whose every layer
 * concatenates its QKV weights never holds more than one folded tensor in memory; {@link EngineWriter} streams
 * axis-0 concatenations of checkpoint tensors without evaluating them at all.
 */
public final class WeightPlan {
    private final Graph graph;
    private final Map<String, Node> folded;

    private WeightPlan(Graph graph, Map<String, Node> folded) {
        this.graph = graph;
        this.folded = folded;
    }

    /** The graph with its weight-only subgraphs folded. */
    public Graph graph() {
        return graph;
    }

    /** The weight-only expression of each weight this plan created, by key (its leaves are weights and constants). */
    public Map<String, Node> folded() {
        return folded;
    }

    /**
     * A source for every stored tensor of {@link #graph}: folded ones evaluated by the reference interpreter from
     * {@code original} on each request (not cached), the rest straight from {@code original}.
     */
    public WeightSource source(WeightSource original) {
        return (key, type) -> {
            Node expr = folded.get(key);
            return expr != null ? evaluate(expr, original) : original.load(key, type);
        };
    }

    private static Tensor evaluate(Node expr, WeightSource source) {
        // A weight typed f32 by the cast rewrite may come back from the checkpoint as bf16/f16: widen it (exact).
        WeightSource typed = (key, type) -> {
            Tensor t = source.load(key, type);
            return t.dtype() == type.dtype() || !t.isFloat() || !type.dtype().isFloat() ? t
                    : Tensor.ofDoubles(type.dtype(), t.shape(), t.toDoubleArray());
        };
        return Interpreter.run(new Graph("fold", List.of(), List.of(expr)), Map.of(), typed).get(0);
    }

    /** Folds the weight-only parts of {@code g}, reading weights from {@code weights}. */
    public static WeightPlan prepare(Graph g, WeightSource weights) {
        Map<String, Node> folded = new java.util.LinkedHashMap<>();
        Graph out = g.transform(n -> {
            if (n.op() instanceof PrimitiveOp.Cast c && c.to() == DType.F32 && n.input(0).op() instanceof SourceOp.Weight w
                    && (w.type().dtype() == DType.F32 || w.type().dtype() == DType.BF16 || w.type().dtype() == DType.F16)) {
                return Node.of(new SourceOp.Weight(w.key(), n.type()), List.of(), n.input(0).name());
            }
            if (n.op() instanceof ModelOp.Linear l && l.transposeWeight() && KernelTable.isStored(n.input(1))) {
                Node wt = fold(Node.of(new PrimitiveOp.Transpose(List.of(1L, 0L)), n.input(1)), folded);
                List<Node> ins = new ArrayList<>(n.inputs());
                ins.set(1, wt);
                return Node.of(new ModelOp.Linear(false), ins, n.name());
            }
            if (n.op() instanceof TargetOp.FusedLinear f && f.transposeWeight() && KernelTable.isStored(n.input(1))) {
                Node wt = fold(Node.of(new PrimitiveOp.Transpose(List.of(1L, 0L)), n.input(1)), folded);
                List<Node> ins = new ArrayList<>(n.inputs());
                ins.set(1, wt);
                return Node.of(new TargetOp.FusedLinear(f.epilogue(), f.hasBias(), false), ins, n.name());
            }
            if (n.op() instanceof SourceOp || n.inputs().isEmpty() || !n.inputs().stream().allMatch(KernelTable::isStored)) {
                return n;
            }
            return fold(n, folded);
        });
        return new WeightPlan(out, folded);
    }

    /**
     * Replaces the weight-only node {@code n} by a new weight whose value is {@code n}'s expression, with earlier
     * folded weights among its operands expanded back into their expressions (so every expression's leaves are
     * checkpoint weights and constants).
     */
    private static Node fold(Node n, Map<String, Node> folded) {
        List<Node> ins = new ArrayList<>();
        for (Node in : n.inputs()) {
            ins.add(in.op() instanceof SourceOp.Weight w && folded.containsKey(w.key()) ? folded.get(w.key()) : in);
        }
        Node expr = n.withInputs(ins);
        String key = "folded." + folded.size();
        folded.put(key, expr);
        TensorType type = n.type();
        return Node.of(new SourceOp.Weight(key, type), List.of(), n.name());
    }
}
