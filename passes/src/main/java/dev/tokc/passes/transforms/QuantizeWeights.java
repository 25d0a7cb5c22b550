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
import java.util.Collections;
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
 * whose in-features are symbolic or not a multiple of the group size ({@code unaligned}); the LM head unless
 * {@link Options#quantizeLmHead} ({@code keptLmHead}): a projection whose weight is also an embedding table (tied
 * embeddings) or whose weight key names {@code lm_head}. Embedding tables are never quantized (the gather reads
 * float rows).
 *
 * <p><b>Needs</b> model ops, ideally after fusion (so epilogues and concatenated weights are already formed).
 * <b>Holds after</b>: no {@code linear}/{@code fused_linear} over an eligible weight remains. <b>Numerics</b>: the
 * quantization error of the format, by design; the graph computes what the engine computes (the reference
 * interpreter dequantizes the same bytes the kernels read).
 *
 * <p><b>Counters</b>: {@code quantized}, {@code keptLmHead}, {@code dynamic}, {@code unaligned}, {@code weightBytesF32}
 * and {@code weightBytesPacked} (over the quantized projections with constant shapes).
 */
public final class QuantizeWeights implements Pass {

    /**
     * @param type           the packed element type of every quantized weight (format and group size)
     * @param quantizeLmHead quantize the output projection too (default: keep it in the engine's float dtype, as most
     *                       weight-only schemes do; it is the layer whose error shows most directly in the logits)
     */
    public record Options(QuantType type, boolean quantizeLmHead) {
        public Options {
            Objects.requireNonNull(type, "type");
        }
    }

    private final Options options;

    /** int8 per channel, LM head kept: what {@code --passes=quantize-weights} runs. */
    public QuantizeWeights() {
        this(new Options(QuantType.parse("int8"), false));
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
        for (String c : List.of("quantized", "keptLmHead", "dynamic", "unaligned", "weightBytesF32", "weightBytesPacked")) {
            ctx.add(c, 0);
        }
        Set<Node> tables = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Node n : graph.nodes()) {
            if (n.op() instanceof ModelOp.Embedding) {
                tables.add(n.input(0));
            }
        }
        Map<Node, Boolean> weightOnly = new IdentityHashMap<>();
        // The rewrite sees nodes with already-rewritten inputs; the LM-head test looks at the original weight node,
        // which is untouched (weights are leaves), so identity against the embedding tables still holds.
        return graph.transform(n -> {
            boolean transposed;
            Epilogue epilogue;
            switch (n.op()) {
                case ModelOp.Linear l -> {
                    transposed = l.transposeWeight();
                    epilogue = Epilogue.NONE;
                }
                case TargetOp.FusedLinear f -> {
                    transposed = f.transposeWeight();
                    epilogue = f.epilogue();
                }
                default -> {
                    return n;
                }
            }
            Node w = n.input(1);
            if (!(w.type().elementType() instanceof DType d) || !d.isFloat() || w.rank() != 2) {
                return n;
            }
            if (!isWeightOnly(w, weightOnly)) {
                ctx.increment("dynamic");
                return n;
            }
            if (!options.quantizeLmHead() && isLmHead(w, tables)) {
                ctx.increment("keptLmHead");
                return n;
            }
            Dim in = transposed ? w.shape().dim(0) : w.shape().dim(1);
            QuantType t = options.type();
            if (!in.isConstant() || (t.format().groupWise() && in.value() % t.groupSize() != 0)) {
                ctx.increment("unaligned");
                return n;
            }
            Node dense = transposed ? Node.of(new PrimitiveOp.Transpose(List.of(1L, 0L)), w) : w;
            Node packed = Node.of(new TargetOp.QuantizeWeight(t), dense);
            List<Node> ins = new ArrayList<>(n.inputs());
            ins.set(1, packed);
            ctx.increment("quantized");
            Dim out = dense.shape().dim(0);
            if (out.isConstant()) {
                ctx.add("weightBytesF32", 4 * out.value() * in.value());
                ctx.add("weightBytesPacked", packedBytes(t, out.value(), in.value()));
            }
            return Node.of(new TargetOp.QuantizedLinear(epilogue), ins, n.name());
        });
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

    /** The output projection: tied to an embedding table, or a weight named like Hugging Face's {@code lm_head}. */
    private static boolean isLmHead(Node w, Set<Node> embeddingTables) {
        return embeddingTables.contains(w) || w.op() instanceof SourceOp.Weight sw && sw.key().contains("lm_head");
    }
}
