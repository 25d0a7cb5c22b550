package dev.tokc.ir;

import java.util.List;

/**
 * Target-level ops: what the backends implement as kernels. The KV cache is opaque: {@link KvWrite} stores new
 * keys and values into it and returns an i64 scalar <em>write token</em>; {@link PagedAttention} takes that token as
 * an input so that, in SSA form, reads of a layer's cache are ordered after its writes. Block tables, context
 * lengths and query offsets are ordinary graph inputs whose contents only the runtime knows.
 *
 * <p>Ragged batches: decode and chunked prefill flatten the tokens of all sequences into one {@code tokens} axis;
 * {@code query_starts [seqs + 1]} gives each sequence's slice of it.
 */
public sealed interface TargetOp extends Op {

    /**
     * GEMM with an epilogue (see {@link Epilogue}). Inputs: x {@code [..., in]}, w {@code [out, in]} (or
     * {@code [in, out]} with {@code transposeWeight}), bias {@code [out]} when {@code hasBias}, residual when the
     * epilogue is RESIDUAL_ADD.
     */
    record FusedLinear(Epilogue epilogue, boolean hasBias, boolean transposeWeight) implements TargetOp {
        @Override
        public TensorType inferType(List<Node> in) {
            int expected = 2 + (hasBias ? 1 : 0) + (epilogue == Epilogue.RESIDUAL_ADD ? 1 : 0);
            Infer.arity(in, expected);
            TensorType t = LinearChecks.check(in.subList(0, hasBias ? 3 : 2), transposeWeight);
            if (epilogue == Epilogue.SILU_MUL || epilogue == Epilogue.GELU_MUL) {
                Dim out = t.shape().at(-1);
                Dim half = out.exactDiv(Dim.of(2))
                        .orElseThrow(() -> new IrException("gated epilogue needs an even out-features, got " + out));
                return t.withShape(t.shape().withDim(t.rank() - 1, half));
            }
            if (epilogue == Epilogue.RESIDUAL_ADD) {
                Node r = in.getLast();
                if (!r.shape().equals(t.shape()) || r.dtype() != t.dtype()) {
                    throw new IrException("residual " + r.type() + " does not match the result " + t);
                }
            }
            return t;
        }
    }

    /** Causal prefill attention, tiled with an online softmax; same operands and result as {@link ModelOp.Attention}. */
    record FlashAttention(int numHeads, int numKvHeads, double scale, double softcap, long slidingWindow) implements TargetOp {
        public FlashAttention {
            AttentionChecks.heads(numHeads, numKvHeads);
        }

        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 3);
            return AttentionChecks.check(in, numHeads, numKvHeads);
        }
    }

    /**
     * Writes k and v {@code [tokens, kv_heads, head_dim]} of layer {@code layer} into the cache at flat slots
     * {@code slots [tokens]} (slot = block * block_size + offset). Returns the i64 scalar write token.
     */
    record KvWrite(KvCacheSpec spec, int layer) implements TargetOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 3);
            if (layer < 0 || layer >= spec.layers()) {
                throw new IrException("layer " + layer + " outside the cache's " + spec.layers() + " layers");
            }
            for (int i = 0; i < 2; i++) {
                Node kv = in.get(i);
                Infer.requireRank(kv, 3, i == 0 ? "k [tokens, kv_heads, head_dim]" : "v [tokens, kv_heads, head_dim]");
                Infer.requireDimEqual(kv.shape().dim(1), Dim.of(spec.kvHeads()), "kv heads != spec");
                Infer.requireDimEqual(kv.shape().dim(2), Dim.of(spec.headDim()), "head_dim != spec");
            }
            Infer.requireInteger(in.get(2), "slots");
            Infer.requireRank(in.get(2), 1, "slots [tokens]");
            return new TensorType(DType.I64, Shape.SCALAR);
        }
    }

    /**
     * Attention of q {@code [tokens, heads, head_dim]} over the cached keys and values of layer {@code layer}.
     * Inputs: q, the write token of this layer's {@link KvWrite} (or {@link KvWriteRope}), block_tables i32 {@code
     * [seqs, max_blocks]}, context_lens i32 {@code [seqs]} (tokens in the cache for each sequence, new ones
     * included), query_starts i32 {@code [seqs + 1]}. Query j of sequence i (of n_i) is at position {@code
     * context_lens[i] - n_i + j} and sees positions up to it. Each KV head serves its query group in one pass (GQA).
     */
    record PagedAttention(KvCacheSpec spec, int layer, int numHeads, double scale, double softcap, long slidingWindow)
            implements TargetOp {
        public PagedAttention {
            AttentionChecks.heads(numHeads, spec.kvHeads());
        }

        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 5);
            Node q = in.get(0);
            Infer.requireFloat(q, "q");
            Infer.requireRank(q, 3, "q [tokens, heads, head_dim]");
            Infer.requireDimEqual(q.shape().dim(1), Dim.of(numHeads), "q heads != num_heads");
            Infer.requireDimEqual(q.shape().dim(2), Dim.of(spec.headDim()), "q head_dim != spec");
            if (writtenLayer(in.get(1)) != layer) {
                throw new IrException("input 1 must be the kv_write token of layer " + layer + ", got " + in.get(1).describe());
            }
            Infer.requireRank(in.get(2), 2, "block_tables [seqs, max_blocks]");
            Infer.requireRank(in.get(3), 1, "context_lens [seqs]");
            Infer.requireRank(in.get(4), 1, "query_starts [seqs + 1]");
            for (int i = 2; i < 5; i++) {
                Infer.requireInteger(in.get(i), "input " + i);
            }
            return q.type();
        }
    }

    /**
     * The layer whose cache a write token belongs to: the layer of a {@link KvWrite} or {@link KvWriteRope} node,
     * -1 for any other node. {@link PagedAttention} takes either as its ordering input.
     */
    static int writtenLayer(Node token) {
        return switch (token.op()) {
            case KvWrite w -> w.layer();
            case KvWriteRope w -> w.layer();
            default -> -1;
        };
    }

    /**
     * {@link KvWrite} with the rotary embedding of the keys fused in: writes {@code rope(k)} and v. Inputs: k and v
     * {@code [tokens, kv_heads, head_dim]} (k not yet rotated), slots {@code [tokens]}, positions integer
     * {@code [tokens]}, then the angle source of {@link ModelOp.Rope}: inv_freq {@code [rotary_dim / 2]}, or cos_cache
     * and sin_cache {@code [max_pos, rotary_dim / 2]}. Token t is rotated at {@code positions[t]} exactly as
     * {@code rope(k[None], positions[None], ...)} with {@code interleaved} would. Returns the i64 scalar write token.
     */
    record KvWriteRope(KvCacheSpec spec, int layer, boolean interleaved) implements TargetOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 5, 6);
            TensorType token = new KvWrite(spec, layer).inferType(in.subList(0, 3));
            Node k = in.get(0);
            Infer.requireFloat(k, "k");
            Infer.requireInteger(in.get(3), "positions");
            Infer.requireRank(in.get(3), 1, "positions [tokens]");
            Infer.requireDimEqual(in.get(3).shape().dim(0), k.shape().dim(0), "positions tokens != k tokens");
            Dim half;
            if (in.size() == 5) {
                Infer.requireRank(in.get(4), 1, "inv_freq");
                Infer.requireFloat(in.get(4), "inv_freq");
                half = in.get(4).shape().dim(0);
            } else {
                Infer.requireRank(in.get(4), 2, "cos_cache [max_pos, rotary_dim / 2]");
                Infer.requireFloat(in.get(4), "cos_cache");
                if (!in.get(4).type().equals(in.get(5).type())) {
                    throw new IrException("cos_cache " + in.get(4).type() + " and sin_cache " + in.get(5).type() + " differ");
                }
                half = in.get(4).shape().dim(1);
            }
            Dim hd = k.shape().dim(2);
            if (half.isConstant() && hd.isConstant() && 2 * half.value() > hd.value()) {
                throw new IrException("rotary dim " + 2 * half.value() + " exceeds head_dim " + hd.value());
            }
            return token;
        }
    }

    /**
     * {@code rms_norm(a + b, weight)}: the residual add fused into the norm that follows it. Inputs a and b of one
     * type {@code [..., hidden]} (no broadcasting), weight {@code [hidden]}. The sum is computed and rounded to the
     * dtype first, as the unfused add would, so the result equals the two ops it replaces. Where the graph also
     * needs the sum itself, a backend computes both in one kernel (the fusion pass only forms this op where the
     * norm is the sum's only user).
     */
    record AddRmsNorm(double eps, double weightOffset) implements TargetOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 3);
            if (!in.get(0).type().equals(in.get(1).type())) {
                throw new IrException("a " + in.get(0).type() + " and b " + in.get(1).type() + " differ");
            }
            return new ModelOp.RmsNorm(eps, weightOffset).inferType(List.of(in.get(0), in.get(2)));
        }
    }

    /**
     * A fused chain of elementwise float ops: {@code expr} ({@link ElementwiseExpr}, parsed once) over the inputs,
     * which all have one float dtype and broadcast together to the result shape.
     */
    record Elementwise(String expr) implements TargetOp {
        public Elementwise {
            ElementwiseExpr.parse(expr);
        }

        /** The parsed expression. */
        public ElementwiseExpr expression() {
            return ElementwiseExpr.parse(expr);
        }

        @Override
        public TensorType inferType(List<Node> in) {
            ElementwiseExpr e = expression();
            if (in.isEmpty() || e.inputCount() != in.size()) {
                throw new IrException("expression " + expr + " reads " + e.inputCount() + " input(s), the op has "
                        + in.size());
            }
            Infer.sameDType(in);
            Infer.requireFloat(in.get(0), "input 0");
            return new TensorType(in.get(0).dtype(), Infer.broadcast(in));
        }
    }

    /**
     * Linear over a packed quantized weight {@code [out, in]} (its element type carries the block geometry), with the
     * GEMM epilogue of {@link FusedLinear}. Inputs: x {@code [..., in]}, the packed weight, then bias {@code [out]}
     * when present, then the residual when the epilogue is RESIDUAL_ADD (so the arity says whether there is a bias).
     * Its meaning is {@code fused_linear} over the dequantized weight.
     */
    record QuantizedLinear(Epilogue epilogue) implements TargetOp {
        /** No epilogue: {@code x . dequant(W)^T (+ bias)}. */
        public QuantizedLinear() {
            this(Epilogue.NONE);
        }

        /** Whether inputs {@code in} (of this op) include a bias. */
        public boolean hasBias(List<Node> in) {
            return in.size() == (epilogue == Epilogue.RESIDUAL_ADD ? 4 : 3);
        }

        @Override
        public TensorType inferType(List<Node> in) {
            boolean residual = epilogue == Epilogue.RESIDUAL_ADD;
            Infer.arity(in, residual ? 3 : 2, residual ? 4 : 3);
            if (!in.get(1).type().isQuantized()) {
                throw new IrException("weight must have a quantized element type, got " + in.get(1).type());
            }
            TensorType t = LinearChecks.check(in.subList(0, hasBias(in) ? 3 : 2), false);
            if (epilogue == Epilogue.SILU_MUL || epilogue == Epilogue.GELU_MUL) {
                Dim out = t.shape().at(-1);
                Dim half = out.exactDiv(Dim.of(2))
                        .orElseThrow(() -> new IrException("gated epilogue needs an even out-features, got " + out));
                return t.withShape(t.shape().withDim(t.rank() - 1, half));
            }
            if (residual) {
                Node r = in.getLast();
                if (!r.shape().equals(t.shape()) || r.dtype() != t.dtype()) {
                    throw new IrException("residual " + r.type() + " does not match the result " + t);
                }
            }
            return t;
        }
    }

    /**
     * Packs a float weight matrix {@code w [out, in]} into the quantized element type {@code to} (the layout of
     * {@code interp.QuantizedBlocks}). Only weight-only expressions use it: the backend evaluates it once, when the
     * engine is written, so the program reads the packed bytes.
     */
    record QuantizeWeight(QuantType to) implements TargetOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            Node w = in.get(0);
            Infer.requireFloat(w, "weight");
            Infer.requireRank(w, 2, "weight [out, in]");
            Dim cols = w.shape().dim(1);
            if (to.format().groupWise() && cols.isConstant() && cols.value() % to.groupSize() != 0) {
                throw new IrException(to + " needs in-features divisible by " + to.groupSize() + ", got " + cols);
            }
            return new TensorType(to, w.shape());
        }
    }

    /**
     * Per-token symmetric activation quantization, as a W8A8 GEMM sees its input: each row of {@code x [.., in]}
     * (one token) is rounded to {@code bits}-bit integers with its own scale {@code absmax(row) / (2^(bits-1) - 1)}
     * (rounded to f32) and read back, {@code x' = clamp(round(x / s)) * s}. Same type as x.
     */
    record QuantizeActivations(int bits) implements TargetOp {
        public QuantizeActivations {
            if (bits < 2 || bits > 16) {
                throw new IrException("activation bits must be in [2, 16], got " + bits);
            }
        }

        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            Infer.requireFloat(in.get(0), "x");
            Infer.requireMinRank(in.get(0), 1, "x");
            return in.get(0).type();
        }
    }

    /** Sum of x over the {@code worldSize} ranks of a tensor-parallel group. */
    record AllReduce(int worldSize) implements TargetOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            return in.get(0).type();
        }
    }

    /** Concatenation of every rank's x along {@code axis}. */
    record AllGather(long axis, int worldSize) implements TargetOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            int ax = Infer.axis(axis, in.get(0).rank());
            Shape s = in.get(0).shape();
            return in.get(0).type().withShape(s.withDim(ax, s.dim(ax).times(worldSize)));
        }
    }

    /** Sends x to pipeline stage {@code peer}; returns x so the send stays live in SSA form. */
    record Send(int peer) implements TargetOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            return in.get(0).type();
        }
    }

    /** Receives a tensor of {@code type} from pipeline stage {@code peer}. */
    record Recv(int peer, TensorType type) implements TargetOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 0);
            return type;
        }
    }
}
