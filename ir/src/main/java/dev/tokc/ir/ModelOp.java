package dev.tokc.ir;

import java.util.ArrayList;
import java.util.List;

/**
 * Model-level ops: the vocabulary of transformer blocks. Importers of checkpoints emit these directly; raising
 * turns primitive-op subgraphs from ONNX into them. Layout convention: activations are {@code [..., hidden]};
 * attention operands are {@code [batch, seq, heads, head_dim]}.
 */
public sealed interface ModelOp extends Op {

    /** x / sqrt(mean(x^2, last axis) + eps) * (weight + weightOffset). Gemma stores weights as offsets from 1. */
    record RmsNorm(double eps, double weightOffset) implements ModelOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 2);
            Node x = in.get(0);
            Infer.requireFloat(x, "x");
            Infer.requireMinRank(x, 1, "x");
            Infer.requireRank(in.get(1), 1, "weight");
            Infer.requireDimEqual(in.get(1).shape().dim(0), x.shape().at(-1), "weight length != last dim of x");
            return x.type();
        }
    }

    /**
     * (x - mean) / sqrt(var + eps) * weight (+ bias) over the axes from {@code axis} to the end (ONNX
     * LayerNormalization, which imports to this op). Inputs: x, weight, optional bias.
     */
    record LayerNorm(double eps, long axis) implements ModelOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 2, 3);
            Node x = in.get(0);
            Infer.requireFloat(x, "x");
            int ax = Infer.axis(axis, x.rank());
            Shape norm = new Shape(x.shape().dims().subList(ax, x.rank()));
            for (int i = 1; i < in.size(); i++) {
                try {
                    Shape.broadcast(norm, in.get(i).shape());
                } catch (IllegalArgumentException e) {
                    throw new IrException((i == 1 ? "weight " : "bias ") + in.get(i).shape()
                            + " does not broadcast to the normalised dims " + norm);
                }
            }
            return x.type();
        }
    }

    /**
     * Rotary position embedding of x {@code [batch, seq, heads, head_dim]} at positions i64 {@code [batch, seq]}, in
     * one of two forms that differ only in where the angles come from:
     * <ul>
     *   <li>3 inputs (x, positions, inv_freq f32 {@code [rotary_dim / 2]}): angle {@code a = pos * inv_freq[i]}
     *       (computed in f32, as Hugging Face does), {@code cos(a)} and {@code sin(a)};</li>
     *   <li>4 inputs (x, positions, cos_cache, sin_cache, both {@code [max_pos, rotary_dim / 2]} of x's dtype): the
     *       cos and sin of pair i are {@code cos_cache[pos, i]} and {@code sin_cache[pos, i]} (ONNX
     *       RotaryEmbedding's precomputed tables).</li>
     * </ul>
     * The first {@code rotary_dim} dims of each head rotate, the rest pass through. {@code interleaved}: pairs are
     * (2i, 2i+1) (GPT-J style); otherwise (i, i + rotary_dim/2) (NeoX/Llama "rotate_half"). Pair (x1, x2) becomes
     * {@code (x1 cos - x2 sin, x2 cos + x1 sin)}.
     */
    record Rope(boolean interleaved) implements ModelOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 3, 4);
            Node x = in.get(0);
            Infer.requireFloat(x, "x");
            Infer.requireRank(x, 4, "x [batch, seq, heads, head_dim]");
            Infer.requireInteger(in.get(1), "positions");
            Infer.requireRank(in.get(1), 2, "positions [batch, seq]");
            Infer.requireDimEqual(in.get(1).shape().dim(1), x.shape().dim(1), "positions seq != x seq");
            Dim half;
            if (in.size() == 3) {
                Infer.requireRank(in.get(2), 1, "inv_freq");
                Infer.requireFloat(in.get(2), "inv_freq");
                half = in.get(2).shape().dim(0);
            } else {
                Infer.requireRank(in.get(2), 2, "cos_cache [max_pos, rotary_dim / 2]");
                Infer.requireFloat(in.get(2), "cos_cache");
                Infer.sameDType(in.subList(2, 4));
                if (!in.get(2).shape().equals(in.get(3).shape())) {
                    throw new IrException("cos_cache " + in.get(2).shape() + " and sin_cache " + in.get(3).shape()
                            + " differ");
                }
                half = in.get(2).shape().dim(1);
            }
            Dim hd = x.shape().dim(3);
            if (half.isConstant() && hd.isConstant() && 2 * half.value() > hd.value()) {
                throw new IrException("rotary dim " + 2 * half.value() + " exceeds head_dim " + hd.value());
            }
            return x.type();
        }
    }

    /**
     * Scaled dot-product attention. Inputs: q {@code [batch, seq, heads, head_dim]}, k {@code [batch, kv_seq,
     * kv_heads, head_dim]}, v {@code [batch, kv_seq, kv_heads, v_head_dim]}, optional mask broadcastable to
     * {@code [batch, heads, seq, kv_seq]}: bool (true: the key may be attended) or additive, of q's dtype. Query head
     * h reads kv head {@code h / (heads / kv_heads)} (GQA, no repeat_kv). For each query row:
     * <ol>
     *   <li>{@code s_j = q . k_j * scale} ({@code scale} 0 means {@code 1 / sqrt(head_dim)});</li>
     *   <li>{@code softcap} > 0: {@code s_j = softcap * tanh(s_j / softcap)};</li>
     *   <li>the mask: an additive one is added, a bool one hides the keys where it is false;</li>
     *   <li>{@code causal} hides keys {@code j > i + (kv_seq - seq)}: the queries are the last {@code seq} of the
     *       {@code kv_seq} positions, as in self-attention over a cache of past plus current tokens
     *       ({@code slidingWindow} > 0 also hides keys with {@code i + (kv_seq - seq) - j >= slidingWindow});
     *       importers express any other alignment (ONNX's, when K adds a different number of keys than there are
     *       queries, or per-row lengths) as a bool mask instead;</li>
     *   <li>softmax over the visible keys, then the weighted sum of v. A row with no visible key, or whose scores
     *       are all -inf, is zero (not NaN), as paged and flash kernels produce and ONNX specifies.</li>
     * </ol>
     * Output {@code [batch, seq, heads, v_head_dim]}.
     */
    record Attention(int numHeads, int numKvHeads, boolean causal, double scale, double softcap, long slidingWindow)
            implements ModelOp {
        public Attention {
            AttentionChecks.heads(numHeads, numKvHeads);
        }

        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 3, 4);
            TensorType out = AttentionChecks.check(in.subList(0, 3), numHeads, numKvHeads);
            if (in.size() == 4) {
                AttentionChecks.mask(in.get(3), in.get(0), in.get(1));
            }
            return out;
        }
    }

    /** silu(gate) * up. */
    record Swiglu() implements ModelOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 2);
            Infer.sameDType(in);
            Infer.requireFloat(in.get(0), "gate");
            if (!in.get(0).shape().equals(in.get(1).shape())) {
                throw new IrException("gate " + in.get(0).shape() + " and up " + in.get(1).shape() + " differ");
            }
            return in.get(0).type();
        }
    }

    /**
     * Mixture-of-experts routing (Mixtral): router logits {@code [..., experts]} to dense routing weights of the same
     * shape: softmax over the experts, the {@code topK} largest kept (ties to the lower expert index) and the rest
     * zeroed, then, with {@code normalize}, the kept weights rescaled to sum to 1. The MoE layer is then
     * {@code sum_e weights[..., e] * expert_e(x)}; a backend may skip experts whose weight is zero.
     */
    record MoeRouting(int topK, boolean normalize) implements ModelOp {
        public MoeRouting {
            if (topK <= 0) {
                throw new IrException("top_k must be positive, got " + topK);
            }
        }

        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            Infer.requireFloat(in.get(0), "router logits");
            Infer.requireMinRank(in.get(0), 1, "router logits");
            Dim experts = in.get(0).shape().at(-1);
            if (experts.isConstant() && experts.value() < topK) {
                throw new IrException("top_k " + topK + " exceeds the " + experts.value() + " experts");
            }
            return in.get(0).type();
        }
    }

    /** x * sigmoid(x). */
    record Silu() implements ModelOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            Infer.requireFloat(in.get(0), "x");
            return in.get(0).type();
        }
    }

    /** GELU, exact (erf) or the tanh approximation. */
    record Gelu(boolean tanh) implements ModelOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            Infer.requireFloat(in.get(0), "x");
            return in.get(0).type();
        }
    }

    /** Rows of table {@code [vocab, hidden]} selected by integer ids {@code [...]}: {@code [..., hidden]}. */
    record Embedding() implements ModelOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 2);
            Infer.requireRank(in.get(0), 2, "table");
            Infer.requireInteger(in.get(1), "ids");
            List<Dim> out = new ArrayList<>(in.get(1).shape().dims());
            out.add(in.get(0).shape().dim(1));
            return new TensorType(in.get(0).dtype(), new Shape(out));
        }
    }

    /**
     * x {@code [..., in]} times W plus optional bias {@code [out]}. W is {@code [out, in]} (Hugging Face Linear)
     * or, with {@code transposeWeight}, {@code [in, out]} (GPT-2 Conv1D).
     */
    record Linear(boolean transposeWeight) implements ModelOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 2, 3);
            return LinearChecks.check(in, transposeWeight);
        }
    }
}
