package dev.tokc.passes.transforms;

import dev.tokc.ir.DType;
import dev.tokc.ir.Epilogue;
import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.Shape;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import dev.tokc.passes.PassContext;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-input-channel scales of {@link QuantizeWeights} (AWQ, SmoothQuant): {@code y = x W^T} becomes
 * {@code y = (x / s) (W diag(s))^T}, exact in real arithmetic, with the division folded into the op that produces x
 * so that no new activation op runs:
 * <ul>
 *   <li>x from {@code rms_norm(h, g)} / {@code add_rms_norm(a, b, g)} (no weight offset): {@code g -> g / s}
 *       (the q/k/v and gate/up projections);</li>
 *   <li>x from {@code fused_linear(h, concat(G, U)) {silu_mul}} (the MLP's down projection reads
 *       {@code silu(h G^T) * (h U^T)}, linear in U): {@code U -> diag(1/s) U}.</li>
 * </ul>
 * Only where the producer has no other user and its scaled operand is a weight-only expression; other projections
 * keep s = 1 (counter {@code scaleNotFoldable}). All new operands are weight-only expressions
 * ({@code mul(weight, constant)}), evaluated once when the engine is written.
 */
final class ScaleFolding {
    private final Map<String, double[]> producerScales;
    private final Map<String, double[]> weightScales;

    private ScaleFolding(Map<String, double[]> producerScales, Map<String, double[]> weightScales) {
        this.producerScales = producerScales;
        this.weightScales = weightScales;
    }

    /** Decides, on the original graph, which projections' scales can be folded and where. */
    static ScaleFolding plan(Graph g, Map<String, double[]> scales, java.util.function.Predicate<Node> quantized,
            PassContext ctx) {
        Map<String, double[]> producers = new HashMap<>();
        Map<String, double[]> weights = new HashMap<>();
        if (scales.isEmpty()) {
            return new ScaleFolding(producers, weights);
        }
        Map<Node, Integer> uses = new IdentityHashMap<>();
        Map<String, Integer> names = new HashMap<>();
        for (Node n : g.nodes()) {
            n.inputs().forEach(in -> uses.merge(in, 1, Integer::sum));
            if (n.name() != null) {
                names.merge(n.name(), 1, Integer::sum);
            }
        }
        g.outputs().forEach(o -> uses.merge(o, 1, Integer::sum));
        for (Node p : g.nodes()) {
            double[] s = p.name() == null ? null : scales.get(p.name());
            if (s == null || !(p.op() instanceof ModelOp.Linear || p.op() instanceof TargetOp.FusedLinear)) {
                continue;
            }
            Node x = p.input(0);
            boolean ok = quantized.test(p) && names.get(p.name()) == 1 && x.name() != null && names.getOrDefault(x.name(), 0) == 1
                    && uses.getOrDefault(x, 0) == 1 && x.shape().at(-1).isConstant() && x.shape().at(-1).value() == s.length
                    && foldable(x);
            if (ok) {
                producers.put(x.name(), s);
                weights.put(p.name(), s);
                ctx.increment("scaled");
            } else {
                ctx.increment("scaleNotFoldable");
            }
        }
        return new ScaleFolding(producers, weights);
    }

    private static boolean foldable(Node x) {
        return switch (x.op()) {
            case ModelOp.RmsNorm r -> r.weightOffset() == 0 && x.input(1).rank() == 1 && x.input(1).dtype().isFloat()
                    && weightOnly(x.input(1));
            case TargetOp.AddRmsNorm r -> r.weightOffset() == 0 && x.input(2).rank() == 1 && weightOnly(x.input(2));
            case TargetOp.FusedLinear f -> f.epilogue() == Epilogue.SILU_MUL && !f.hasBias() && !f.transposeWeight()
                    && x.input(1).op() instanceof PrimitiveOp.Concat c && x.input(1).inputs().size() == 2
                    && Shape.normalizeAxis(c.axis(), 2) == 0 && weightOnly(x.input(1));
            default -> false;
        };
    }

    private static boolean weightOnly(Node n) {
        return switch (n.op()) {
            case SourceOp.Weight w -> true;
            case SourceOp.Constant c -> true;
            case SourceOp.Param p -> false;
            default -> !n.inputs().isEmpty() && n.inputs().stream().allMatch(ScaleFolding::weightOnly);
        };
    }

    /** {@code n} (already with rewritten inputs) with 1/s folded into it when it produces a scaled projection's input. */
    Node rewriteProducer(Node n) {
        double[] s = n.name() == null ? null : producerScales.get(n.name());
        if (s == null) {
            return n;
        }
        List<Node> ins = new java.util.ArrayList<>(n.inputs());
        double[] inv = new double[s.length];
        for (int j = 0; j < s.length; j++) {
            inv[j] = 1 / s[j];
        }
        switch (n.op()) {
            case ModelOp.RmsNorm r -> ins.set(1, mul(ins.get(1), inv, new long[] {s.length}));
            case TargetOp.AddRmsNorm r -> ins.set(2, mul(ins.get(2), inv, new long[] {s.length}));
            case TargetOp.FusedLinear f -> {
                Node cat = ins.get(1);
                Node up = mul(cat.input(1), inv, new long[] {s.length, 1});
                ins.set(1, cat.withInputs(List.of(cat.input(0), up)));
            }
            default -> throw new IllegalStateException("not a foldable producer: " + n.describe());
        }
        return n.withInputs(ins);
    }

    /** The dense weight {@code w [out, in]} of projection {@code name} times diag(s), when it is scaled. */
    Node scaleWeight(String name, Node w) {
        double[] s = name == null ? null : weightScales.get(name);
        return s == null ? w : mul(w, s, new long[] {1, s.length});
    }

    private static Node mul(Node x, double[] values, long[] shape) {
        DType d = x.dtype();
        Node c = Node.of(new SourceOp.Constant(Tensor.ofDoubles(d, shape, values)), List.of(), null);
        return Node.of(new PrimitiveOp.Mul(), x, c);
    }
}
