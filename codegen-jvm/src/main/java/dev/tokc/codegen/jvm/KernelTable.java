package dev.tokc.codegen.jvm;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.Shape;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TargetOp;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The JVM backend's kernel binding table: IR op -> {@code ExecContext} call, one {@link KernelBinding} per line.
 * Conventions every binding relies on: activations are dense row-major f32, so an op over {@code [.., d]} sees
 * {@code rows = product of the leading dims}; integer tensors are i64; weights and constants are named tensors of
 * the engine (see {@link WeightPlan}). A node no binding accepts is a compile error that lists each candidate's
 * reason ({@link #lower}).
 */
public final class KernelTable {
    private static final Optional<String> OK = Optional.empty();

    private final List<KernelBinding> bindings;

    private KernelTable(List<KernelBinding> bindings) {
        this.bindings = List.copyOf(bindings);
    }

    /** The bindings of the current runtime kernels. */
    public static KernelTable standard() {
        return new KernelTable(List.of(
                // embedding(table[V, D], ids i64[..]) -> rows of the table, widened to f32
                new KernelBinding("embedding", ModelOp.Embedding.class, KernelTable::checkEmbedding,
                        n -> call("embedding", new Arg.Matrix(n.input(0)), value(n.input(1)), size(n.input(1).shape().dims()))),
                // linear(x[.., k], W[n, k] (, b[n])) -> x W^T + b: one GEMM over all leading rows
                new KernelBinding("linear", ModelOp.Linear.class, KernelTable::checkLinear,
                        n -> call("linear", value(n.input(0)), rows(n.input(0)), new Arg.Matrix(n.input(1)),
                                n.inputs().size() > 2 ? value(n.input(2)) : new Arg.Null())),
                // fused_linear(x, W (, b) (, residual)) {epilogue}: the GEMM, then its epilogue on the result
                new KernelBinding("fused_linear", TargetOp.FusedLinear.class, KernelTable::checkFusedLinear, KernelTable::lowerFusedLinear),
                // quantized_linear(x, Wq (, b) (, residual)) {epilogue}: the quantized GEMM (dequantized in registers), then its epilogue
                new KernelBinding("quantized_linear", TargetOp.QuantizedLinear.class, KernelTable::checkQuantizedLinear, KernelTable::lowerQuantizedLinear),
                // quantize_activations(x[.., k]) {bits}: per-token symmetric fake quantization (the W8A8 activation path)
                new KernelBinding("quantize_activations", TargetOp.QuantizeActivations.class,
                        n -> all(List.of(f32(n.input(0), "input"), checkDims(n.shape().dims()))),
                        n -> call("quantizeActivations", value(n.input(0)), rows(n.input(0)), last(n.input(0)),
                                new Arg.I32(((TargetOp.QuantizeActivations) n.op()).bits()))),
                // add_rms_norm(a, b, w) = rms_norm(a + b, w)
                new KernelBinding("add_rms_norm", TargetOp.AddRmsNorm.class, KernelTable::checkAddRmsNorm,
                        n -> call("addRmsNorm", value(n.input(0)), value(n.input(1)), value(n.input(2)),
                                new Arg.F32((float) ((TargetOp.AddRmsNorm) n.op()).eps()), rows(n.input(0)), last(n.input(0)))),
                // kv_write_rope(k, v, slots, positions, inv_freq): rotate the keys, then write k and v into the cache
                new KernelBinding("kv_write_rope", TargetOp.KvWriteRope.class, KernelTable::checkKvWriteRope,
                        n -> call("kvWriteRope", value(n.input(0)), value(n.input(1)), Arg.Size.of(n.input(0).shape().dim(0)),
                                value(n.input(2)), value(n.input(3)), new Arg.Floats(n.input(4)),
                                new Arg.Bool(((TargetOp.KvWriteRope) n.op()).interleaved()),
                                new Arg.I32(((TargetOp.KvWriteRope) n.op()).layer()))),
                // elementwise(inputs..) {expr}: a loop generated for this expression, inputs of the result's shape
                new KernelBinding("elementwise", TargetOp.Elementwise.class, KernelTable::checkElementwise,
                        n -> new Lowering.Generated(((TargetOp.Elementwise) n.op()).expression(), n.inputs(), size(n.shape().dims()))),
                // rms_norm(x[.., d], w[d]) over the last axis
                new KernelBinding("rms_norm", ModelOp.RmsNorm.class, KernelTable::checkRmsNorm,
                        n -> call("rmsNorm", value(n.input(0)), value(n.input(1)),
                                new Arg.F32((float) ((ModelOp.RmsNorm) n.op()).eps()), rows(n.input(0)), last(n.input(0)))),
                // layer_norm(x[.., d], w[d] (, b[d])) over the last axis
                new KernelBinding("layer_norm", ModelOp.LayerNorm.class, KernelTable::checkLayerNorm,
                        n -> call("layerNorm", value(n.input(0)), value(n.input(1)),
                                n.inputs().size() > 2 ? value(n.input(2)) : new Arg.Null(),
                                new Arg.F32((float) ((ModelOp.LayerNorm) n.op()).eps()), rows(n.input(0)), last(n.input(0)))),
                // rope(x[.., heads, hd], positions i64[..], inv_freq f32[hd/2 or less]) -> rotated copy
                new KernelBinding("rope", ModelOp.Rope.class, KernelTable::checkRope,
                        n -> {
                            Shape s = n.input(0).shape();
                            return call("rope", value(n.input(0)), size(s.dims().subList(0, s.rank() - 2)),
                                    Arg.Size.of(s.at(-2)), Arg.Size.of(s.at(-1)), value(n.input(1)),
                                    new Arg.Floats(n.input(2)), new Arg.Bool(((ModelOp.Rope) n.op()).interleaved()));
                        }),
                // attention(q[b, s, h, d], k[b, s, kvh, d], v) causal, no cache -> flash attention per batch row
                new KernelBinding("attention", ModelOp.Attention.class, KernelTable::checkAttention,
                        n -> {
                            ModelOp.Attention a = (ModelOp.Attention) n.op();
                            Shape q = n.input(0).shape();
                            return call("attention", value(n.input(0)), value(n.input(1)), value(n.input(2)),
                                    Arg.Size.of(q.dim(0)), Arg.Size.of(q.dim(1)), new Arg.I32(a.numHeads()),
                                    new Arg.I32(a.numKvHeads()), Arg.Size.of(q.dim(3)), new Arg.F32((float) a.scale()));
                        }),
                // swiglu(gate, up) = silu(gate) * up, elementwise
                new KernelBinding("swiglu", ModelOp.Swiglu.class, n -> sameShapeF32(n, 2),
                        n -> call("swiglu", value(n.input(0)), value(n.input(1)), size(n.shape().dims()))),
                // gelu(x), erf or tanh form
                new KernelBinding("gelu", ModelOp.Gelu.class, n -> sameShapeF32(n, 1),
                        n -> call("gelu", value(n.input(0)), size(n.shape().dims()), new Arg.Bool(((ModelOp.Gelu) n.op()).tanh()))),
                // add(a, b) with equal shapes (residuals); broadcasting adds have no kernel yet
                new KernelBinding("add", PrimitiveOp.Add.class, n -> sameShapeF32(n, 2),
                        n -> call("add", value(n.input(0)), value(n.input(1)), size(n.shape().dims()))),
                // reshape/squeeze/unsqueeze: same row-major bytes, new shape -> no code
                new KernelBinding("reshape", PrimitiveOp.Reshape.class, n -> OK, n -> new Lowering.Alias(n.input(0))),
                new KernelBinding("squeeze", PrimitiveOp.Squeeze.class, n -> OK, n -> new Lowering.Alias(n.input(0))),
                new KernelBinding("unsqueeze", PrimitiveOp.Unsqueeze.class, n -> OK, n -> new Lowering.Alias(n.input(0))),
                // dims [..] -> the i64 vector of its run-time sizes
                new KernelBinding("dims", SourceOp.Dims.class, n -> checkDims(((SourceOp.Dims) n.op()).dims()),
                        n -> call("dims", new Arg.Sizes(((SourceOp.Dims) n.op()).dims().stream().map(d -> Arg.Size.of(d)).toList()))),
                // range(start, limit, delta) over i64 scalars
                new KernelBinding("range", PrimitiveOp.Range.class,
                        n -> n.dtype() == DType.I64 ? checkDims(n.shape().dims()) : Optional.of("only i64 ranges, got " + n.dtype()),
                        n -> call("range", value(n.input(0)), value(n.input(1)), value(n.input(2)), size(n.shape().dims()))),
                // expand(x, shape): numpy broadcast copy
                new KernelBinding("expand", PrimitiveOp.Expand.class, KernelTable::checkExpand,
                        n -> {
                            List<Arg.Size> in = new ArrayList<>();
                            Shape s = n.input(0).shape();
                            for (int i = 0; i < n.rank() - s.rank(); i++) {
                                in.add(Arg.Size.of(Dim.of(1)));
                            }
                            s.dims().forEach(d -> in.add(Arg.Size.of(d)));
                            return call("expand", value(n.input(0)), new Arg.I32(n.dtype().bits() / 8), new Arg.Sizes(in),
                                    new Arg.Sizes(n.shape().dims().stream().map(d -> Arg.Size.of(d)).toList()));
                        }),
                // slice(x, starts, ends, axes, steps) along one axis with constant bounds (fused-QKV splits)
                new KernelBinding("slice", PrimitiveOp.Slice.class, KernelTable::checkSlice, KernelTable::lowerSlice),
                // gather(x, indices i64) along one axis (the step program's logits rows)
                new KernelBinding("gather", PrimitiveOp.Gather.class, KernelTable::checkGather, n -> {
                    Shape s = n.input(0).shape();
                    int axis = Shape.normalizeAxis(((PrimitiveOp.Gather) n.op()).axis(), s.rank());
                    return call("gather", value(n.input(0)), value(n.input(1)), new Arg.I32(n.dtype().bits() / 8),
                            size(s.dims().subList(0, axis)), Arg.Size.of(s.dim(axis)), size(s.dims().subList(axis + 1, s.rank())),
                            size(n.input(1).shape().dims()));
                }),
                // kv_write(k[tokens, kvh, d], v, slots i64[tokens]) into layer L of the runtime's paged cache
                new KernelBinding("kv_write", TargetOp.KvWrite.class, KernelTable::checkKvWrite,
                        n -> call("kvWrite", value(n.input(0)), value(n.input(1)), Arg.Size.of(n.input(0).shape().dim(0)),
                                value(n.input(2)), new Arg.I32(((TargetOp.KvWrite) n.op()).layer()))),
                // paged_attention(q[tokens, h, d], write token, block_tables, context_lens, query_starts): ragged batch
                new KernelBinding("paged_attention", TargetOp.PagedAttention.class, KernelTable::checkPagedAttention,
                        n -> {
                            TargetOp.PagedAttention a = (TargetOp.PagedAttention) n.op();
                            Shape bt = n.input(2).shape();
                            return call("pagedAttention", value(n.input(0)), value(n.input(1)), value(n.input(2)),
                                    value(n.input(3)), value(n.input(4)), Arg.Size.of(n.input(0).shape().dim(0)),
                                    Arg.Size.of(bt.dim(0)), Arg.Size.of(bt.dim(1)), new Arg.I32(a.layer()),
                                    new Arg.I32(a.numHeads()), new Arg.I32(a.spec().kvHeads()), new Arg.I32(a.spec().headDim()),
                                    new Arg.F32((float) a.scale()));
                        }),
                // The same three over a quantized cache (--kv-dtype fp8|int8|int4: spec dtype fp8e4m3, i8 or i4), one
                // scale per (token, head) vector; the float bindings above refuse these dtypes.
                new KernelBinding("kv_write_quant", TargetOp.KvWrite.class, n -> quantKv(((TargetOp.KvWrite) n.op()).spec(), n),
                        n -> call("kvWriteQuant", value(n.input(0)), value(n.input(1)), Arg.Size.of(n.input(0).shape().dim(0)),
                                value(n.input(2)), new Arg.I32(((TargetOp.KvWrite) n.op()).layer()))),
                new KernelBinding("kv_write_rope_quant", TargetOp.KvWriteRope.class,
                        n -> quantKv(((TargetOp.KvWriteRope) n.op()).spec(), n).or(() -> ropeOperands(n)),
                        n -> call("kvWriteRopeQuant", value(n.input(0)), value(n.input(1)), Arg.Size.of(n.input(0).shape().dim(0)),
                                value(n.input(2)), value(n.input(3)), new Arg.Floats(n.input(4)),
                                new Arg.Bool(((TargetOp.KvWriteRope) n.op()).interleaved()),
                                new Arg.I32(((TargetOp.KvWriteRope) n.op()).layer()))),
                new KernelBinding("paged_attention_quant", TargetOp.PagedAttention.class, KernelTable::checkPagedAttentionQuant,
                        n -> {
                            TargetOp.PagedAttention a = (TargetOp.PagedAttention) n.op();
                            Shape bt = n.input(2).shape();
                            return call("pagedAttentionQuant", value(n.input(0)), value(n.input(1)), value(n.input(2)),
                                    value(n.input(3)), value(n.input(4)), Arg.Size.of(n.input(0).shape().dim(0)),
                                    Arg.Size.of(bt.dim(0)), Arg.Size.of(bt.dim(1)), new Arg.I32(a.layer()),
                                    new Arg.I32(a.numHeads()), new Arg.I32(a.spec().kvHeads()), new Arg.I32(a.spec().headDim()),
                                    new Arg.F32((float) a.scale()));
                        })));
    }

    /** A quantized KV cache spec, and k, v f32 and i64 slots (kv_write and kv_write_rope operands 0-2). */
    private static Optional<String> quantKv(dev.tokc.ir.KvCacheSpec spec, Node n) {
        if (!dev.tokc.ir.KvCacheSpec.isQuantized(spec.dtype())) {
            return Optional.of("KV cache dtype " + spec.dtype() + " is not a quantized cache type");
        }
        return all(List.of(f32(n.input(0), "k"), f32(n.input(1), "v"),
                n.input(2).dtype() == DType.I64 ? OK : Optional.of("slots are " + n.input(2).dtype() + ", expected i64"),
                checkDims(n.input(0).shape().dims())));
    }

    /** kv_write_rope's rotary operands as the float binding takes them: i64 positions and stored f32 inv_freq. */
    private static Optional<String> ropeOperands(Node n) {
        if (n.inputs().size() != 5) {
            return Optional.of("cos/sin caches have no kernel (inv_freq only)");
        }
        if (!isStored(n.input(4)) || n.input(4).dtype() != DType.F32) {
            return Optional.of("inverse frequencies must be a stored f32 tensor");
        }
        return n.input(3).dtype() == DType.I64 ? OK : Optional.of("positions are " + n.input(3).dtype() + ", expected i64");
    }

    private static Optional<String> checkPagedAttentionQuant(Node n) {
        TargetOp.PagedAttention a = (TargetOp.PagedAttention) n.op();
        if (!dev.tokc.ir.KvCacheSpec.isQuantized(a.spec().dtype())) {
            return Optional.of("KV cache dtype " + a.spec().dtype() + " is not a quantized cache type");
        }
        if (a.softcap() != 0 || a.slidingWindow() != 0) {
            return Optional.of("softcap/sliding window are not supported by the paged-attention kernel");
        }
        for (int i = 2; i < 5; i++) {
            if (n.input(i).dtype() != DType.I32) {
                return Optional.of("input " + i + " is " + n.input(i).dtype() + ", expected i32");
            }
        }
        return all(List.of(f32(n.input(0), "q"), checkDims(n.input(0).shape().dims()), checkDims(n.input(2).shape().dims())));
    }

    /** The bindings, in match order. */
    public List<KernelBinding> bindings() {
        return bindings;
    }

    /** Lowers {@code n} through the first binding that accepts it; otherwise fails naming the op, node and reasons. */
    public Lowering lower(Node n) {
        List<String> reasons = new ArrayList<>();
        for (KernelBinding b : bindings) {
            if (!b.op().isInstance(n.op())) {
                continue;
            }
            Optional<String> why = b.reject(n);
            if (why.isEmpty()) {
                return b.lower().apply(n);
            }
            reasons.add(b.name() + ": " + why.get());
        }
        String detail = reasons.isEmpty() ? "no kernel binding for op '" + n.op().name() + "'" : String.join("; ", reasons);
        throw new CodegenException("JVM backend cannot compile node " + n.describe() + " (op '" + n.op().name() + "'): " + detail);
    }

    // ---- argument helpers -------------------------------------------------------------------------------------

    private static Lowering call(String method, Arg... args) {
        return new Lowering.Invoke(Call.of(method, args));
    }

    private static Arg.Value value(Node n) {
        return new Arg.Value(n);
    }

    private static Arg.Size size(List<Dim> dims) {
        return new Arg.Size(dims);
    }

    /** The product of all but the last dim: the row count of a row-wise op. */
    private static Arg.Size rows(Node n) {
        return size(n.shape().dims().subList(0, n.rank() - 1));
    }

    private static Arg.Size last(Node n) {
        return Arg.Size.of(n.shape().at(-1));
    }

    // ---- checks -----------------------------------------------------------------------------------------------

    /** Weights and constants: what the engine stores as named tensors. */
    static boolean isStored(Node n) {
        return n.op() instanceof SourceOp.Weight || n.op() instanceof SourceOp.Constant;
    }

    /** Every dim must be an integer or one symbol: the generated code binds symbols from input shapes. */
    static Optional<String> checkDims(List<Dim> dims) {
        for (Dim d : dims) {
            if (d.isUnknown() || !(d.isConstant() || d.symbol().isPresent())) {
                return Optional.of("dimension " + d + " is neither a constant nor a single symbol");
            }
        }
        return OK;
    }

    private static Optional<String> f32(Node n, String what) {
        return n.dtype() == DType.F32 ? OK : Optional.of(what + " is " + n.dtype() + ", the kernels take f32 activations");
    }

    private static Optional<String> all(List<Optional<String>> checks) {
        return checks.stream().filter(Optional::isPresent).map(Optional::get).findFirst();
    }

    private static Optional<String> matrixWeight(Node w) {
        if (!isStored(w)) {
            return Optional.of("the weight operand is computed at run time (the GEMM reads a stored matrix)");
        }
        if (w.rank() != 2) {
            return Optional.of("the weight is " + w.rank() + "-D, not a matrix");
        }
        return switch (w.dtype()) {
            case F32, BF16, F16 -> OK;
            default -> Optional.of("weight dtype " + w.dtype() + " has no GEMM kernel");
        };
    }

    private static Optional<String> storedVector(Node n, String what) {
        if (!isStored(n) || n.rank() != 1) {
            return Optional.of(what + " must be a stored 1-D tensor");
        }
        return n.dtype().isFloat() ? OK : Optional.of(what + " is " + n.dtype());
    }

    private static Optional<String> checkEmbedding(Node n) {
        return all(List.of(matrixWeight(n.input(0)),
                n.input(1).dtype() == DType.I64 ? OK : Optional.of("ids are " + n.input(1).dtype() + ", expected i64"),
                checkDims(n.input(1).shape().dims())));
    }

    private static Optional<String> checkLinear(Node n) {
        ModelOp.Linear l = (ModelOp.Linear) n.op();
        if (l.transposeWeight()) {
            // WeightPlan re-lays stored weights out as [n, k]; only a computed weight can still be transposed here.
            return Optional.of("transpose_weight = true on a weight that is not stored");
        }
        return all(List.of(f32(n.input(0), "input"), matrixWeight(n.input(1)),
                n.inputs().size() > 2 ? storedVector(n.input(2), "bias") : OK, checkDims(n.input(0).shape().dims())));
    }

    private static Optional<String> checkRmsNorm(Node n) {
        ModelOp.RmsNorm r = (ModelOp.RmsNorm) n.op();
        if (r.weightOffset() != 0) {
            return Optional.of("weight_offset = " + r.weightOffset() + " (the kernel multiplies by the weight as stored)");
        }
        return all(List.of(f32(n.input(0), "input"), storedVector(n.input(1), "weight"), checkDims(n.shape().dims())));
    }

    private static Optional<String> checkLayerNorm(Node n) {
        ModelOp.LayerNorm l = (ModelOp.LayerNorm) n.op();
        if (Shape.normalizeAxis(l.axis(), n.rank()) != n.rank() - 1) {
            return Optional.of("normalises axis " + l.axis() + ", the kernel only the last");
        }
        return all(List.of(f32(n.input(0), "input"), storedVector(n.input(1), "weight"),
                n.inputs().size() > 2 ? storedVector(n.input(2), "bias") : OK, checkDims(n.shape().dims())));
    }

    private static Optional<String> checkRope(Node n) {
        if (n.rank() < 3) {
            return Optional.of("input must be [.., heads, head_dim]");
        }
        if (n.inputs().size() != 3 || !isStored(n.input(2)) || n.input(2).dtype() != DType.F32) {
            return Optional.of("inverse frequencies must be a stored f32 tensor");
        }
        if (n.input(1).dtype() != DType.I64) {
            return Optional.of("positions are " + n.input(1).dtype() + ", expected i64");
        }
        return all(List.of(f32(n.input(0), "input"), checkDims(n.shape().dims())));
    }

    private static Optional<String> checkAttention(Node n) {
        ModelOp.Attention a = (ModelOp.Attention) n.op();
        if (!a.causal()) {
            return Optional.of("non-causal attention has no kernel");
        }
        if (a.softcap() != 0 || a.slidingWindow() != 0) {
            return Optional.of("softcap/sliding window are not supported by the flash-attention kernel");
        }
        Node q = n.input(0);
        if (q.rank() != 4 || n.input(1).rank() != 4) {
            return Optional.of("expects q, k, v as [batch, seq, heads, head_dim]");
        }
        if (!q.shape().dim(1).equals(n.input(1).shape().dim(1))) {
            return Optional.of("queries and keys differ in length (no-cache attention needs seq == ctx)");
        }
        return all(List.of(f32(q, "q"), f32(n.input(1), "k"), f32(n.input(2), "v"), checkDims(q.shape().dims())));
    }

    private static Optional<String> sameShapeF32(Node n, int arity) {
        for (int i = 0; i < arity; i++) {
            Optional<String> f = f32(n.input(i), "operand " + i);
            if (f.isPresent()) {
                return f;
            }
            if (!n.input(i).shape().equals(n.shape())) {
                return Optional.of("operand " + i + " has shape " + n.input(i).shape() + ", not " + n.shape() + " (no broadcasting kernel)");
            }
        }
        return checkDims(n.shape().dims());
    }

    private static Optional<String> checkExpand(Node n) {
        if (n.dtype().bits() % 8 != 0) {
            return Optional.of("sub-byte elements");
        }
        return all(List.of(checkDims(n.shape().dims()), checkDims(n.input(0).shape().dims())));
    }

    /** The constant operand {@code i} as longs, or null when it is not a constant. */
    private static long[] constant(Node n, int i) {
        return n.input(i).op() instanceof SourceOp.Constant c ? c.value().toLongArray() : null;
    }

    private static Optional<String> checkSlice(Node n) {
        for (int i = 1; i <= 4; i++) {
            long[] v = constant(n, i);
            if (v == null || v.length != 1) {
                return Optional.of("starts/ends/axes/steps must be one-element constants");
            }
        }
        int axis = Shape.normalizeAxis(constant(n, 3)[0], n.rank());
        if (!n.input(0).shape().dim(axis).isConstant() || !n.shape().dim(axis).isConstant()) {
            return Optional.of("the sliced axis must have a constant length");
        }
        if (constant(n, 4)[0] <= 0) {
            return Optional.of("only positive steps");
        }
        return all(List.of(checkDims(n.shape().dims()), checkDims(n.input(0).shape().dims())));
    }

    private static Lowering lowerSlice(Node n) {
        Shape in = n.input(0).shape();
        int axis = Shape.normalizeAxis(constant(n, 3)[0], n.rank());
        long len = in.dim(axis).value();
        long start = constant(n, 1)[0];
        start = start < 0 ? Math.max(0, start + len) : Math.min(start, len);
        return call("slice", value(n.input(0)), new Arg.I32(n.dtype().bits() / 8), size(in.dims().subList(0, axis)),
                new Arg.I32(Math.toIntExact(len)), size(in.dims().subList(axis + 1, in.rank())),
                new Arg.I32(Math.toIntExact(start)), new Arg.I32(Math.toIntExact(constant(n, 4)[0])),
                new Arg.I32(Math.toIntExact(n.shape().dim(axis).value())));
    }

    private static Optional<String> checkFusedLinear(Node n) {
        TargetOp.FusedLinear f = (TargetOp.FusedLinear) n.op();
        if (f.transposeWeight()) {
            return Optional.of("transpose_weight = true on a weight that is not stored");
        }
        if (f.epilogue() == dev.tokc.ir.Epilogue.GELU_MUL) {
            return Optional.of("epilogue gelu_mul has no kernel (no elementwise multiply in the kernel set)");
        }
        return all(List.of(f32(n.input(0), "input"), matrixWeight(n.input(1)),
                f.hasBias() ? storedVector(n.input(2), "bias") : OK,
                f.epilogue() == dev.tokc.ir.Epilogue.RESIDUAL_ADD ? f32(n.inputs().getLast(), "residual") : OK,
                checkDims(n.input(0).shape().dims())));
    }

    private static Lowering lowerFusedLinear(Node n) {
        TargetOp.FusedLinear f = (TargetOp.FusedLinear) n.op();
        Arg x = value(n.input(0));
        Arg w = new Arg.Matrix(n.input(1));
        Arg bias = f.hasBias() ? value(n.input(2)) : new Arg.Null();
        return switch (f.epilogue()) {
            case NONE -> call("linear", x, rows(n.input(0)), w, bias);
            case SILU_MUL -> call("linearSiluMul", x, rows(n.input(0)), w, bias);
            case GELU -> call("linearGelu", x, rows(n.input(0)), w, bias, new Arg.Bool(false));
            case GELU_TANH -> call("linearGelu", x, rows(n.input(0)), w, bias, new Arg.Bool(true));
            case RESIDUAL_ADD -> call("linearResidual", x, rows(n.input(0)), w, bias, value(n.inputs().getLast()));
            case GELU_MUL -> throw new IllegalStateException("refused by checkFusedLinear");
        };
    }

    private static Optional<String> checkQuantizedLinear(Node n) {
        TargetOp.QuantizedLinear q = (TargetOp.QuantizedLinear) n.op();
        if (q.epilogue() == dev.tokc.ir.Epilogue.GELU_MUL) {
            return Optional.of("epilogue gelu_mul has no kernel (no elementwise multiply in the kernel set)");
        }
        Node w = n.input(1);
        if (!isStored(w) || w.rank() != 2 || !w.type().isQuantized()) {
            return Optional.of("the weight must be a stored, packed quantized matrix (quantize_weight folds into one)");
        }
        if (!w.shape().dim(0).isConstant() || !w.shape().dim(1).isConstant()) {
            return Optional.of("the packed weight needs a constant shape");
        }
        return all(List.of(f32(n.input(0), "input"), q.hasBias(n.inputs()) ? storedVector(n.input(2), "bias") : OK,
                q.epilogue() == dev.tokc.ir.Epilogue.RESIDUAL_ADD ? f32(n.inputs().getLast(), "residual") : OK,
                checkDims(n.input(0).shape().dims())));
    }

    /** {@code ExecContext.quantLinear}: format as the runtime's QuantFormat ordinal, epilogue as its code there. */
    private static Lowering lowerQuantizedLinear(Node n) {
        TargetOp.QuantizedLinear q = (TargetOp.QuantizedLinear) n.op();
        Node w = n.input(1);
        dev.tokc.ir.QuantType t = (dev.tokc.ir.QuantType) w.type().elementType();
        int format = dev.tokc.runtime.kernels.quant.QuantFormat.valueOf(t.format().name()).ordinal();
        int epilogue = switch (q.epilogue()) {
            case NONE -> 0;
            case SILU_MUL -> 1;
            case GELU -> 2;
            case GELU_TANH -> 3;
            case RESIDUAL_ADD -> 4;
            case GELU_MUL -> throw new IllegalStateException("refused by checkQuantizedLinear");
        };
        return call("quantLinear", value(n.input(0)), rows(n.input(0)), value(w), new Arg.I32(format),
                new Arg.I32(t.groupSize()), Arg.Size.of(w.shape().dim(0)), Arg.Size.of(w.shape().dim(1)),
                q.hasBias(n.inputs()) ? value(n.input(2)) : new Arg.Null(), new Arg.I32(epilogue),
                q.epilogue() == dev.tokc.ir.Epilogue.RESIDUAL_ADD ? value(n.inputs().getLast()) : new Arg.Null());
    }

    private static Optional<String> checkAddRmsNorm(Node n) {
        TargetOp.AddRmsNorm r = (TargetOp.AddRmsNorm) n.op();
        if (r.weightOffset() != 0) {
            return Optional.of("weight_offset = " + r.weightOffset() + " (the kernel multiplies by the weight as stored)");
        }
        return all(List.of(f32(n.input(0), "a"), f32(n.input(1), "b"), storedVector(n.input(2), "weight"),
                checkDims(n.shape().dims())));
    }

    private static Optional<String> checkKvWriteRope(Node n) {
        TargetOp.KvWriteRope w = (TargetOp.KvWriteRope) n.op();
        if (n.inputs().size() != 5) {
            return Optional.of("cos/sin caches have no kernel (inv_freq only)");
        }
        if (!isStored(n.input(4)) || n.input(4).dtype() != DType.F32) {
            return Optional.of("inverse frequencies must be a stored f32 tensor");
        }
        if (n.input(3).dtype() != DType.I64) {
            return Optional.of("positions are " + n.input(3).dtype() + ", expected i64");
        }
        return all(List.of(kvSpec(w.spec()), f32(n.input(0), "k"), f32(n.input(1), "v"),
                n.input(2).dtype() == DType.I64 ? OK : Optional.of("slots are " + n.input(2).dtype() + ", expected i64"),
                checkDims(n.input(0).shape().dims())));
    }

    private static Optional<String> checkElementwise(Node n) {
        for (int i = 0; i < n.inputs().size(); i++) {
            Optional<String> f = f32(n.input(i), "operand " + i);
            if (f.isPresent()) {
                return f;
            }
            if (!n.input(i).shape().equals(n.shape())) {
                return Optional.of("operand " + i + " has shape " + n.input(i).shape() + ", not " + n.shape()
                        + " (the generated loop does not broadcast)");
            }
        }
        Optional<String> fn = ElementwiseCode.unsupported(((TargetOp.Elementwise) n.op()).expression());
        return fn.isPresent() ? fn : checkDims(n.shape().dims());
    }

    private static Optional<String> checkGather(Node n) {
        if (n.input(1).dtype() != DType.I64) {
            return Optional.of("indices are " + n.input(1).dtype() + ", expected i64");
        }
        if (n.dtype().bits() % 8 != 0) {
            return Optional.of("sub-byte elements");
        }
        return all(List.of(checkDims(n.input(0).shape().dims()), checkDims(n.input(1).shape().dims())));
    }

    private static Optional<String> kvSpec(dev.tokc.ir.KvCacheSpec spec) {
        return switch (spec.dtype()) {
            case F32, BF16, F16 -> OK;
            default -> Optional.of("KV cache dtype " + spec.dtype() + " has no kernel");
        };
    }

    private static Optional<String> checkKvWrite(Node n) {
        TargetOp.KvWrite w = (TargetOp.KvWrite) n.op();
        return all(List.of(kvSpec(w.spec()), f32(n.input(0), "k"), f32(n.input(1), "v"),
                n.input(2).dtype() == DType.I64 ? OK : Optional.of("slots are " + n.input(2).dtype() + ", expected i64"),
                checkDims(n.input(0).shape().dims())));
    }

    private static Optional<String> checkPagedAttention(Node n) {
        TargetOp.PagedAttention a = (TargetOp.PagedAttention) n.op();
        if (a.softcap() != 0 || a.slidingWindow() != 0) {
            return Optional.of("softcap/sliding window are not supported by the paged-attention kernel");
        }
        for (int i = 2; i < 5; i++) {
            if (n.input(i).dtype() != DType.I32) {
                return Optional.of("input " + i + " is " + n.input(i).dtype() + ", expected i32");
            }
        }
        return all(List.of(kvSpec(a.spec()), f32(n.input(0), "q"), checkDims(n.input(0).shape().dims()),
                checkDims(n.input(2).shape().dims())));
    }

}
