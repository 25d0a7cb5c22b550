package dev.tokc.passes.transforms;

import dev.tokc.ir.Graph;
import dev.tokc.ir.IrException;
import dev.tokc.ir.Node;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.ir.interp.WeightSource;
import dev.tokc.passes.Pass;
import dev.tokc.passes.PassContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code constant-fold}: replaces a node whose inputs are all {@code constant}s by a {@code constant} holding its
 * value.
 *
 * <p><b>Rewrites</b> primitive and model ops whose every input is a constant (or a {@code dims} node with only
 * integer entries), when the result has a static shape of at most {@link #DEFAULT_MAX_ELEMENTS} elements: the
 * graph keeps small literals (shape vectors, scalars, masks of a few rows), never materialises a large tensor. The
 * folded constant keeps the node's name. Never folds {@code weight}s (they are not constants: their data lives
 * outside the graph), parameters, or target ops (collectives and KV-cache writes have effects beyond their value).
 *
 * <p><b>Evaluation</b> goes through an {@link Evaluator}; the default is the reference interpreter
 * ({@link #INTERPRETER}), so a folded value is by definition what the graph would have computed. Nodes it cannot
 * evaluate (an out-of-range index, an integer division by zero) are left alone and counted.
 *
 * <p><b>Needs</b> nothing. <b>After</b>: no foldable node (under the limits) has only constant inputs.
 *
 * <p><b>Counters</b>: {@code folded} (nodes replaced), {@code tooLarge} (all-constant nodes skipped for their size
 * or a non-static shape), {@code unevaluated} (all-constant nodes the evaluator could not evaluate).
 */
public final class ConstantFold implements Pass {
    public static final int DEFAULT_MAX_ELEMENTS = 1024;

    /** The value of {@code node} from its constant {@code inputs}, or empty when this evaluator cannot say. */
    @FunctionalInterface
    public interface Evaluator {
        Optional<Tensor> evaluate(Node node, List<Tensor> inputs);

        /** This evaluator, then {@code other} where this one cannot. */
        default Evaluator orElse(Evaluator other) {
            return (n, in) -> {
                Optional<Tensor> v = evaluate(n, in);
                return v.isPresent() ? v : other.evaluate(n, in);
            };
        }
    }

    /**
     * The reference interpreter on a one-node graph: every op with its exact IR semantics (and the same rounding to
     * the dtype that execution would do). A node the interpreter rejects (an index out of range, a division by an
     * integer zero) is left for run time to report, not folded.
     */
    public static final Evaluator INTERPRETER = (n, in) -> {
        try {
            Graph single = new Graph("fold", List.of(), List.of(n));
            return Optional.of(Interpreter.run(single, Map.of(), WeightSource.none()).getFirst());
        } catch (IrException | ArithmeticException | IllegalArgumentException e) {
            return Optional.empty();
        }
    };

    private final int maxElements;
    private final Evaluator evaluator;

    public ConstantFold() {
        this(DEFAULT_MAX_ELEMENTS, INTERPRETER);
    }

    public ConstantFold(int maxElements, Evaluator evaluator) {
        if (maxElements < 1) {
            throw new IllegalArgumentException("maxElements must be >= 1, got " + maxElements);
        }
        this.maxElements = maxElements;
        this.evaluator = evaluator;
    }

    @Override
    public String name() {
        return "constant-fold";
    }

    @Override
    public String summary() {
        return "replaces nodes whose inputs are all constants by a constant (at most " + DEFAULT_MAX_ELEMENTS
                + " elements; never weights)";
    }

    @Override
    public Graph run(Graph graph, PassContext ctx) {
        ctx.add("folded", 0);
        return graph.transform(n -> fold(n, ctx));
    }

    private Node fold(Node n, PassContext ctx) {
        if (n.op() instanceof SourceOp || n.op() instanceof TargetOp) {
            return n;
        }
        List<Tensor> inputs = new ArrayList<>(n.inputs().size());
        for (Node in : n.inputs()) {
            Tensor t = constantValue(in);
            if (t == null) {
                return n;
            }
            inputs.add(t);
        }
        if (n.type().isQuantized() || !n.shape().isStatic() || n.shape().numElements() > maxElements) {
            ctx.increment("tooLarge");
            return n;
        }
        Optional<Tensor> value = evaluator.evaluate(n, inputs);
        if (value.isEmpty()) {
            ctx.increment("unevaluated");
            return n;
        }
        Tensor t = value.get();
        TensorType expected = n.type();
        if (!TensorType.of(t.dtype(), t.shape()).equals(expected)) {
            throw new IllegalStateException("evaluating " + n + " gave a tensor of " + t.dtype() + java.util.Arrays.toString(t.shape()));
        }
        ctx.increment("folded");
        return Node.of(new SourceOp.Constant(t), List.of(), n.name());
    }

    /** The tensor a constant or all-integer {@code dims} node holds; null for anything else. */
    private static Tensor constantValue(Node n) {
        return switch (n.op()) {
            case SourceOp.Constant c -> c.value();
            case SourceOp.Dims d when d.dims().stream().allMatch(dim -> dim.isConstant()) ->
                    Tensor.vector(n.dtype(), d.dims().stream().mapToLong(dim -> dim.value()).toArray());
            default -> null;
        };
    }
}
