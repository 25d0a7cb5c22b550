package dev.tokc.passes.transforms;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Epilogue;
import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.QuantType;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TargetOp;
import dev.tokc.passes.Pass;
import dev.tokc.passes.PassContext;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * {@code quantize-weights}: weight-only quantization. Every projection whose weight is known at compile time becomes
 * a {@code quantized_linear} over a packed weight in {@link Options#type}; the packing itself is an ordinary
 * weight-only expression, {@code quantize_weight}, that the backend evaluates once while writing the engine.
 *
 * <p><b>Rewrites</b>:
 * <pre>
 *   linear(x, W[, b]) {transpose_weight = t}             -&gt; quantized_linear(x, quantize_weight(W'), [b]) {epilogue = none}
 *   fused_linear(x, W[, b][, r]) {epilogue = e, ...}     -&gt; quantized_linear(x, quantize_weight(W'), [b][, r]) {epilogue = e}
 * </pre>
 * where {@code W' = transpose(W)} when the op reads its weight transposed, else {@code W}. W may be a weight or any
 * expression of weights and constants (the fused QKV and gate/up {@code concat}s): the packed rows of a concatenation
 * are the concatenation of the packed rows, so the fused projections quantize exactly as the separate ones would.
 *
 * <p><b>Does not fire</b> on (each with a counter): a weight computed from graph inputs ({@code dynamic}); a weight
 * whose in-features are symbolic or not a multiple of the group size ({@code unaligned}); the LM head when
 * {@link Options#lmHead} is null ({@code keptLmHead}): a projection whose weight is also an embedding table (tied
 * embeddings) or whose weight key names {@code lm_head}. Embedding tables are never quantized (the gather reads
 * float rows). The LM head may take its own type ({@link Options#lmHead}, e.g. int8 under 4-bit projections, as
 * llama.cpp's Q4_0 files keep their output matrix in Q6_K); it then takes input scales only when its type is the
 * projections' (the scales were searched for that format).
 *
 * <p><b>Needs</b> model ops, ideally after fusion (so epilogues and concatenated weights are already formed).
 * <b>Holds after</b>: no {@code linear}/{@code fused_linear} over an eligible weight remains. <b>Numerics</b>: the
 * quantization error of the format, by design; the graph computes what the engine computes (the reference
 * interpreter dequantizes the same bytes the kernels read).
 *
 * <p><b>Input scales</b> (AWQ, SmoothQuant; {@link Options#inputScales}, by projection name, computed from the graph
 * the pass receives, typically from calibration activations): {@code x W^T = (x / s)(W diag s)^T}, with 1/s folded
 * into the op producing x where that is exact and free ({@link ScaleFolding}), and W diag(s) quantized. With
 * {@link Options#activationBits} each quantized projection reads {@code quantize_activations(x)} (W8A8).
 *
 * <p><b>Counters</b>: {@code quantized}, {@code keptLmHead}, {@code dynamic}, {@code unaligned}, {@code weightBytesF32}
 * and {@code weightBytesPacked} (over the quantized projections with constant shapes), {@code scaled} and
 * {@code scaleNotFoldable} (projections given scales), {@code activationsQuantized}.
 */
public final class QuantizeWeights implements Pass {

    /**
     * @param type   the packed element type of every quantized projection (format and group size)
     * @param lmHead the packed type of the output projection, or null to keep it in the engine's float dtype (it is
     *               the layer whose error shows most directly in the logits)
     */
    public record Options(QuantType type, QuantType lmHead,
            java.util.function.Function<Graph, Map<String, double[]>> inputScales, int activationBits) {
        public Options {
            Objects.requireNonNull(type, "type");
            Objects.requireNonNull(inputScales, "inputScales");
            if (activationBits != 0 && (activationBits < 2 || activationBits > 16)) {
                throw new IllegalArgumentException("activation bits must be 0 (off) or in [2, 16], got " + activationBits);
            }
        }

        /** Weight-only, no input scales. */
        public Options(QuantType type, QuantType lmHead) {
            this(type, lmHead, g -> Map.of(), 0);
        }

        /** Fixed input scales by projection name (tests; the CLI computes them from the graph it is given). */
        public Options(QuantType type, QuantType lmHead, Map<String, double[]> inputScales, int activationBits) {
            this(type, lmHead, g -> inputScales, activationBits);
        }
    }

    private final Options options;

    /** int8 per channel, LM head kept: what {@code --passes=quantize-weights} runs. */
    public QuantizeWeights() {
        this(new Options(QuantType.parse("int8"), null));
    }

    public QuantizeWeights(Options options) {
        this.options = options;
    }

    public Options options() {
        return options;
    }

    @Override
    public String name() {
        return "quantize-weights";
    }

    @Override
    public String summary() {
        return "linear/fused_linear over a compile-time weight -> quantized_linear(x, quantize_weight(W)) (int8 by default)";
    }

    @Override
    public boolean exact() {
        return false;
    }

    @Override
    public Graph run(Graph graph, PassContext ctx) {
        for (String c : List.of("quantized", "keptLmHead", "dynamic", "unaligned", "weightBytesF32", "weightBytesPacked",
                "scaled", "scaleNotFoldable", "activationsQuantized")) {
            ctx.add(c, 0);
        }
        Set<String> tables = new java.util.HashSet<>();
        for (Node n : graph.nodes()) {
            if (n.op() instanceof ModelOp.Embedding) {
                weightKeys(n.input(0), tables);
            }
        }
        Map<Node, Boolean> weightOnly = new IdentityHashMap<>();
        // Scales are folded only into the inputs of projections this pass quantizes (else x / s would reach a float
        // projection that never multiplies by s).
        ScaleFolding folding = ScaleFolding.plan(graph, options.inputScales().apply(graph),
                p -> skipReason(p, tables, weightOnly) == null && typeOf(p, tables).equals(options.type()), ctx);
        return graph.transform(n0 -> {
            Node n = folding.rewriteProducer(n0);
            String skip = skipReason(n, tables, weightOnly);
            if (skip != null) {
                if (!skip.isEmpty()) {
                    ctx.increment(skip);
                }
                return n;
            }
            boolean transposed = n.op() instanceof ModelOp.Linear l ? l.transposeWeight()
                    : ((TargetOp.FusedLinear) n.op()).transposeWeight();
            Epilogue epilogue = n.op() instanceof TargetOp.FusedLinear f ? f.epilogue() : Epilogue.NONE;
            Node w = n.input(1);
            Dim in = transposed ? w.shape().dim(0) : w.shape().dim(1);
            QuantType t = typeOf(n, tables);
            Node dense = transposed ? Node.of(new PrimitiveOp.Transpose(List.of(1L, 0L)), w) : w;
            dense = folding.scaleWeight(n.name(), dense);
            Node packed = Node.of(new TargetOp.QuantizeWeight(t), dense);
            List<Node> ins = new ArrayList<>(n.inputs());
            ins.set(1, packed);
            if (options.activationBits() > 0) {
                ins.set(0, Node.of(new TargetOp.QuantizeActivations(options.activationBits()), ins.get(0)));
                ctx.increment("activationsQuantized");
            }
            ctx.increment("quantized");
            Dim out = dense.shape().dim(0);
            if (out.isConstant()) {
                ctx.add("weightBytesF32", 4 * out.value() * in.value());
                ctx.add("weightBytesPacked", packedBytes(t, out.value(), in.value()));
            }
            return Node.of(new TargetOp.QuantizedLinear(epilogue), ins, n.name());
        });
    }

    /**
     * Why projection {@code n} is not quantized: a counter name ({@code dynamic}, {@code keptLmHead},
     * {@code unaligned}), "" when n is not a float projection at all, null when it is quantized.
     */
    private String skipReason(Node n, Set<String> tables, Map<Node, Boolean> weightOnly) {
        boolean transposed;
        switch (n.op()) {
            case ModelOp.Linear l -> transposed = l.transposeWeight();
            case TargetOp.FusedLinear f -> transposed = f.transposeWeight();
            default -> {
                return "";
            }
        }
        Node w = n.input(1);
        if (!(w.type().elementType() instanceof DType d) || !d.isFloat() || w.rank() != 2) {
            return "";
        }
        if (!isWeightOnly(w, weightOnly)) {
            return "dynamic";
        }
        if (options.lmHead() == null && isLmHead(w, tables)) {
            return "keptLmHead";
        }
        Dim in = transposed ? w.shape().dim(0) : w.shape().dim(1);
        QuantType t = typeOf(n, tables);
        if (!in.isConstant() || (t.format().groupWise() && in.value() % t.groupSize() != 0)) {
            return "unaligned";
        }
        return null;
    }

    /** The packed type of projection {@code n}: the LM head's when n is the LM head and has one, else the type. */
    private QuantType typeOf(Node n, Set<String> tables) {
        return options.lmHead() != null && isLmHead(n.input(1), tables) ? options.lmHead() : options.type();
    }

    /** Bytes of the packed layout (QuantizedBlocks): per-channel formats carry a 4-byte scale per row. */
    static long packedBytes(QuantType t, long rows, long cols) {
        if (!t.format().groupWise()) {
            return rows * (t.format().metaBytesPerGroup() + cols);
        }
        return rows * cols / t.groupSize() * (t.format().metaBytesPerGroup() + t.groupSize() / 2);
    }

    /** Whether {@code n}'s value depends only on weights and constants (no graph input). */
    private static boolean isWeightOnly(Node n, Map<Node, Boolean> memo) {
        Boolean known = memo.get(n);
        if (known != null) {
            return known;
        }
        boolean r = switch (n.op()) {
            case SourceOp.Weight w -> true;
            case SourceOp.Constant c -> true;
            case SourceOp.Param p -> false;
            default -> !n.inputs().isEmpty() && n.inputs().stream().allMatch(in -> isWeightOnly(in, memo));
        };
        memo.put(n, r);
        return r;
    }

    /**
     * The output projection: its weight (through any weight-only expression, e.g. the {@code cast} after a bf16
     * checkpoint's weights) reads an embedding table's weight (tied embeddings), or a weight named like Hugging
     * Face's {@code lm_head}.
     */
    private static boolean isLmHead(Node w, Set<String> embeddingKeys) {
        Set<String> keys = new java.util.HashSet<>();
        weightKeys(w, keys);
        return keys.stream().anyMatch(k -> k.contains("lm_head") || embeddingKeys.contains(k));
    }

    /** The keys of the weights {@code n} reads. */
    private static void weightKeys(Node n, Set<String> out) {
        if (n.op() instanceof SourceOp.Weight sw) {
            out.add(sw.key());
            return;
        }
        n.inputs().forEach(in -> weightKeys(in, out));
    }
}
