package dev.tokc.ir.interp;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Epilogue;
import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.QuantType;
import dev.tokc.ir.Shape;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The reference interpreter: evaluates any graph in plain scalar Java, every op with its ONNX (or documented IR)
 * semantics, reductions, matmuls and attention accumulated in double, each result rounded once to its dtype. It is
 * slow and meant to be obviously correct; every fast path of the project is tested against it.
 *
 * <p>A run:
 * <ol>
 *   <li>binds the shape symbols ({@code batch}, {@code seq}, ...) from the actual shapes of the inputs, failing with
 *       the input and dim when an input contradicts its declared type or another input;</li>
 *   <li>evaluates the nodes in {@link Graph#nodes()} order; {@code dims} nodes evaluate from the bindings, weights
 *       come from the {@link WeightSource}, KV-cache and pipeline ops use the {@link ExecutionContext};</li>
 *   <li>checks every value against its node's declared type: same element type and rank, constant dims exactly,
 *       symbolic dims equal to their value under the bindings when every symbol is bound, {@code ?} anything;</li>
 *   <li>drops each intermediate value after its last use, so peak memory is the live set, not the whole graph.</li>
 * </ol>
 * Every failure is an {@link InterpreterException} naming the node and what was wrong.
 */
public final class Interpreter {
    private final WeightSource weights;
    private final ExecutionContext context;
    private final Map<String, Long> bindings = new TreeMap<>();
    private int peakLiveValues;
    private final Set<Node> declaredInputs = Collections.newSetFromMap(new IdentityHashMap<>());

    Interpreter(WeightSource weights, ExecutionContext context) {
        this.weights = weights;
        this.context = context;
    }

    /** Runs {@code g} on {@code inputs} (by parameter name) without a KV cache or channel. */
    public static List<Tensor> run(Graph g, Map<String, Tensor> inputs, WeightSource weights) {
        return run(g, inputs, weights, ExecutionContext.EMPTY);
    }

    /** Runs {@code g} on {@code inputs} (by parameter name); returns the outputs in the graph's order. */
    public static List<Tensor> run(Graph g, Map<String, Tensor> inputs, WeightSource weights, ExecutionContext ctx) {
        return new Interpreter(weights, ctx).execute(g, inputs);
    }

    /** The most values held at once during the last {@link #execute}: what freeing after last use bounds. */
    int peakLiveValues() {
        return peakLiveValues;
    }

    List<Tensor> execute(Graph g, Map<String, Tensor> inputs) {
        bindSymbols(g, inputs);
        List<Node> order = g.nodes();
        Map<Node, Integer> lastUse = new IdentityHashMap<>();
        for (int i = 0; i < order.size(); i++) {
            for (Node in : order.get(i).inputs()) {
                lastUse.put(in, i);
            }
        }
        Set<Node> isOutput = Collections.newSetFromMap(new IdentityHashMap<>());
        isOutput.addAll(g.outputs());
        Map<Node, Tensor> values = new IdentityHashMap<>();
        for (int i = 0; i < order.size(); i++) {
            Node n = order.get(i);
            List<Tensor> args = new ArrayList<>(n.inputs().size());
            for (Node in : n.inputs()) {
                args.add(values.get(in));
            }
            Tensor v = evaluateChecked(n, args, inputs);
            values.put(n, v);
            peakLiveValues = Math.max(peakLiveValues, values.size());
            for (Node in : n.inputs()) {
                if (lastUse.get(in) == i && !isOutput.contains(in)) {
                    values.remove(in);
                }
            }
        }
        List<Tensor> out = new ArrayList<>();
        for (Node o : g.outputs()) {
            out.add(values.get(o));
        }
        return out;
    }

    // ---- symbols ----

    /**
     * Binds every dim of every input that is a single symbol, then checks constant and polynomial dims. Inputs missing
     * from the map, extra inputs and dtype mismatches are errors too.
     */
    private void bindSymbols(Graph g, Map<String, Tensor> inputs) {
        Map<String, String> boundBy = new HashMap<>();
        Map<String, Node> params = new LinkedHashMap<>();
        for (Node p : g.inputs()) {
            params.put(((SourceOp.Param) p.op()).paramName(), p);
            declaredInputs.add(p);
        }
        for (String name : inputs.keySet()) {
            if (!params.containsKey(name)) {
                throw new InterpreterException("graph @" + g.name() + " has no input %" + name + " (inputs: "
                        + params.keySet() + ")");
            }
        }
        for (var e : params.entrySet()) {
            Tensor t = inputs.get(e.getKey());
            Node p = e.getValue();
            if (t == null) {
                throw new InterpreterException(p, "no value given for input %" + e.getKey());
            }
            TensorType type = p.type();
            if (!type.elementType().equals(t.dtype()) || type.rank() != t.rank()) {
                throw new InterpreterException(p, "input %" + e.getKey() + " is declared " + type + " but the value is "
                        + t.dtype() + Arrays.toString(t.shape()));
            }
            for (int d = 0; d < type.rank(); d++) {
                var sym = type.dim(d).symbol();
                if (sym.isEmpty()) {
                    continue;
                }
                String where = "%" + e.getKey() + " dim " + d;
                Long prev = bindings.putIfAbsent(sym.get(), t.dim(d));
                if (prev != null && prev != t.dim(d)) {
                    throw new InterpreterException(p, "input " + where + " has " + sym.get() + " = " + t.dim(d)
                            + " but " + boundBy.get(sym.get()) + " has " + sym.get() + " = " + prev);
                }
                boundBy.putIfAbsent(sym.get(), where);
            }
        }
        for (var e : params.entrySet()) {
            Node p = e.getValue();
            String problem = shapeProblem(p.type().shape(), inputs.get(e.getKey()).shape());
            if (problem != null) {
                throw new InterpreterException(p, "input %" + e.getKey() + " " + problem);
            }
        }
    }

    /** Why {@code actual} does not fit {@code declared} under the bindings, or null when it does. */
    private String shapeProblem(Shape declared, long[] actual) {
        if (declared.rank() != actual.length) {
            return "has rank " + actual.length + ", declared " + declared;
        }
        for (int d = 0; d < actual.length; d++) {
            Dim dim = declared.dim(d);
            if (dim.isUnknown() || !bindings.keySet().containsAll(dim.symbols())) {
                continue;
            }
            long expected = dim.evaluate(bindings);
            if (expected != actual[d]) {
                String how = dim.isConstant() ? "" : " (" + dim + " with " + bindings + ")";
                return "has shape " + Arrays.toString(actual) + " but dim " + d + " is declared " + expected + how;
            }
        }
        return null;
    }

    // ---- evaluation ----

    private Tensor evaluateChecked(Node n, List<Tensor> args, Map<String, Tensor> inputs) {
        Tensor v;
        try {
            v = evaluate(n, args, inputs);
        } catch (InterpreterException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new InterpreterException(n, e.getMessage() == null ? e.toString() : e.getMessage(), e);
        }
        checkType(n, v);
        return v;
    }

    private void checkType(Node n, Tensor v) {
        TensorType type = n.type();
        if (type.elementType() instanceof QuantType q) {
            long[] s = evaluateShape(n, type.shape());
            long bytes = QuantizedBlocks.packedBytes(q, s[0], s[1]);
            if (v.dtype() != DType.U8 || v.rank() != 1 || v.dim(0) != bytes) {
                throw new InterpreterException(n, "packed " + type + " weight must be u8[" + bytes + "], got "
                        + v.dtype() + Arrays.toString(v.shape()));
            }
            return;
        }
        if (!type.elementType().equals(v.dtype())) {
            throw new InterpreterException(n, "declared " + type + " but the value is " + v.dtype()
                    + Arrays.toString(v.shape()));
        }
        String problem = shapeProblem(type.shape(), v.shape());
        if (problem != null) {
            throw new InterpreterException(n, "declared " + type + " but the value " + problem);
        }
    }

    private long[] evaluateShape(Node n, Shape s) {
        try {
            return s.evaluate(bindings);
        } catch (IllegalStateException e) {
            throw new InterpreterException(n, e.getMessage() + " (bindings " + bindings + ")");
        }
    }

    private Tensor evaluate(Node n, List<Tensor> in, Map<String, Tensor> inputs) {
        return switch (n.op()) {
            case SourceOp.Param p -> {
                if (!declaredInputs.contains(n)) {
                    throw new IllegalArgumentException("%" + p.paramName() + " is used but is not an input of the graph");
                }
                yield inputs.get(p.paramName());
            }
            case SourceOp.Weight w -> weights.load(w.key(), w.type());
            case SourceOp.Constant c -> c.value();
            case SourceOp.Dims d -> Tensor.vector(DType.I64, evaluateShape(n, new Shape(d.dims())));
            case PrimitiveOp p -> primitive(n, p, in);
            case ModelOp m -> model(m, in);
            case TargetOp t -> target(n, t, in);
        };
    }

    private static Tensor primitive(Node n, PrimitiveOp op, List<Tensor> in) {
        return switch (op) {
            case PrimitiveOp.Binary b -> ElementwiseOps.binary(b, n.dtype(), in.get(0), in.get(1));
            case PrimitiveOp.Pow p -> ElementwiseOps.pow(in.get(0), in.get(1));
            case PrimitiveOp.Cast c -> ElementwiseOps.cast(c, in.get(0));
            case PrimitiveOp.Unary u -> ElementwiseOps.unary(u, n.dtype(), in.get(0));
            case PrimitiveOp.Where w -> ElementwiseOps.where(in.get(0), in.get(1), in.get(2));
            case PrimitiveOp.MatMul m -> LinearAlgebraOps.matMul(n.dtype(), in.get(0), in.get(1));
            case PrimitiveOp.Gemm g -> LinearAlgebraOps.gemm(g, n.dtype(), in.get(0), in.get(1), optional(in, 2));
            case PrimitiveOp.Reduce r -> ReductionOps.reduce(r, in.get(0));
            case PrimitiveOp.Softmax s -> ReductionOps.softmax(in.get(0), s.axis(), false);
            case PrimitiveOp.LogSoftmax s -> ReductionOps.softmax(in.get(0), s.axis(), true);
            case PrimitiveOp.CumSum c -> ReductionOps.cumSum(c, in.get(0));
            case PrimitiveOp.ShapeOf s -> ShapeOps.shapeOf(s, in.get(0));
            case PrimitiveOp.Reshape r -> ShapeOps.reshape(r, in.get(0), in.get(1));
            case PrimitiveOp.Transpose t -> ShapeOps.transpose(t, in.get(0));
            case PrimitiveOp.Concat c -> ShapeOps.concat(c, in);
            case PrimitiveOp.Slice s -> ShapeOps.slice(in.get(0), in.get(1), in.get(2), in.get(3), in.get(4));
            case PrimitiveOp.Gather g -> ShapeOps.gather(g, in.get(0), in.get(1));
            case PrimitiveOp.GatherND g -> ShapeOps.gatherND(g, in.get(0), in.get(1));
            case PrimitiveOp.Expand e -> ShapeOps.expand(in.get(0), in.get(1));
            case PrimitiveOp.Tile t -> ShapeOps.tile(in.get(0), in.get(1));
            case PrimitiveOp.Squeeze s -> ShapeOps.squeeze(s, in.get(0));
            case PrimitiveOp.Unsqueeze u -> ShapeOps.unsqueeze(u, in.get(0));
            case PrimitiveOp.Range r -> ShapeOps.range(n.dtype(), in.get(0), in.get(1), in.get(2));
            case PrimitiveOp.ConstantOfShape c -> ShapeOps.constantOfShape(c, in.get(0));
            case PrimitiveOp.Trilu t -> ShapeOps.trilu(t, in.get(0));
        };
    }

    private static Tensor model(ModelOp op, List<Tensor> in) {
        return switch (op) {
            case ModelOp.RmsNorm r -> ModelOps.rmsNorm(r, in.get(0), in.get(1));
            case ModelOp.LayerNorm l -> ModelOps.layerNorm(l, in.get(0), in.get(1), optional(in, 2));
            case ModelOp.Rope r -> in.size() == 4 ? ModelOps.rope(r, in.get(0), in.get(1), in.get(2), in.get(3))
                    : ModelOps.rope(r, in.get(0), in.get(1), in.get(2));
            case ModelOp.Attention a -> ModelOps.attention(a.numHeads(), a.numKvHeads(), a.causal(), a.scale(),
                    a.softcap(), a.slidingWindow(), in.get(0), in.get(1), in.get(2), optional(in, 3));
            case ModelOp.Swiglu s -> ModelOps.swiglu(in.get(0), in.get(1));
            case ModelOp.Silu s -> ModelOps.silu(in.get(0));
            case ModelOp.MoeRouting r -> ModelOps.moeRouting(r, in.get(0));
            case ModelOp.Gelu g -> ModelOps.gelu(g, in.get(0));
            case ModelOp.Embedding e -> ModelOps.embedding(in.get(0), in.get(1));
            case ModelOp.Linear l -> ModelOps.linear(l, in.get(0), in.get(1), optional(in, 2));
        };
    }

    private Tensor target(Node n, TargetOp op, List<Tensor> in) {
        return switch (op) {
            case TargetOp.FusedLinear f -> TargetOps.fusedLinear(f, in.get(0), in.get(1), f.hasBias() ? in.get(2) : null,
                    f.epilogue() == Epilogue.RESIDUAL_ADD ? in.getLast() : null);
            case TargetOp.FlashAttention f -> TargetOps.flashAttention(f, in.get(0), in.get(1), in.get(2));
            case TargetOp.KvWrite w -> TargetOps.kvWrite(w, context.kvCache(), in.get(0), in.get(1), in.get(2));
            case TargetOp.KvWriteRope w -> TargetOps.kvWriteRope(w, context.kvCache(), in);
            case TargetOp.AddRmsNorm a -> TargetOps.addRmsNorm(a, in.get(0), in.get(1), in.get(2));
            case TargetOp.Elementwise e -> TargetOps.elementwise(e, n.dtype(), in);
            case TargetOp.PagedAttention p -> TargetOps.pagedAttention(p, context.kvCache(), in.get(0), in.get(2),
                    in.get(3), in.get(4));
            case TargetOp.QuantizedLinear q -> {
                Node w = n.input(1);
                long out = evaluateShape(w, w.shape())[0];
                yield TargetOps.quantizedLinear(q, (QuantType) w.type().elementType(), out, in.get(0), in.get(1),
                        q.hasBias(n.inputs()) ? in.get(2) : null,
                        q.epilogue() == Epilogue.RESIDUAL_ADD ? in.getLast() : null);
            }
            case TargetOp.QuantizeWeight qw -> TargetOps.quantizeWeight(qw.to(), in.get(0));
            case TargetOp.QuantizeActivations qa -> TargetOps.quantizeActivations(qa.bits(), in.get(0));
            case TargetOp.AllReduce a -> TargetOps.allReduce(a, in.get(0));
            case TargetOp.AllGather a -> TargetOps.allGather(a, in.get(0));
            case TargetOp.Send s -> {
                channel(s.peer()).send(s.peer(), in.get(0));
                yield in.get(0);
            }
            case TargetOp.Recv r -> channel(r.peer()).receive(r.peer(), r.type());
        };
    }

    private PipelineChannel channel(int peer) {
        if (context.channel() == null) {
            throw new IllegalArgumentException("sending to or receiving from pipeline stage " + peer
                    + " needs a PipelineChannel in the ExecutionContext");
        }
        return context.channel();
    }

    private static Tensor optional(List<Tensor> in, int i) {
        return in.size() > i ? in.get(i) : null;
    }
}
