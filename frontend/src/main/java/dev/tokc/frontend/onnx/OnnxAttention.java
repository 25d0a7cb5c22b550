package dev.tokc.frontend.onnx;

import dev.tokc.frontend.ModelFormatException;
import dev.tokc.frontend.onnx.proto.NodeProto;
import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.GraphBuilder;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * ONNX Attention (opset 23 and 24) as the IR's model-level {@link ModelOp.Attention}, so passes see it exactly as
 * they see attention raised from primitive ops or built by the checkpoint importer.
 *
 * <p>Inputs Q, K, V (3-D {@code [batch, seq, heads * head_size]} with the {@code q_num_heads}/{@code kv_num_heads}
 * attributes, or 4-D {@code [batch, heads, seq, head_size]}), optional attn_mask (bool: true may attend; float:
 * added to the scores; broadcast to {@code [batch, q_heads, seq, total_kv]}, a last dim shorter than total_kv
 * padded with -inf / false), past_key/past_value {@code [batch, kv_heads, past, head_size]} (concatenated before K
 * and V on the sequence axis; the results are the present_key/present_value outputs) and, in opset 24,
 * nonpad_kv_seqlen {@code [batch]} (keys at or after it are hidden). Attributes: is_causal, scale (default
 * {@code 1/sqrt(head_size)}), softcap, softmax_precision (the IR computes softmax at f32 or better, so it is
 * accepted as is) and qk_matmul_output_mode.
 *
 * <p>The ModelOp works in the IR's {@code [batch, seq, heads, head_dim]} layout, so 4-D operands are transposed in
 * and the result out; 3-D ones are reshaped. The fourth output (qk_matmul_output, the scores at the stage the mode
 * names: 0 scaled QK^T, 1 after softcap, 2 plus mask and causal bias, 3 after softmax) has no model-level
 * counterpart and is computed beside it in primitive ops, only when the node names that output.
 *
 * <p>Order of operations, as ONNX's function body defines it and the ModelOp documents: scale, softcap, then the
 * mask; a query row whose keys are all masked gives zeros, not NaN. The causal alignment differs: see
 * {@link #map}.
 */
final class OnnxAttention {
    private OnnxAttention() {}

    private static final List<Long> SWAP_1_2 = List.of(0L, 2L, 1L, 3L);

    static List<Node> map(OnnxImporter c, NodeProto n) {
        GraphBuilder b = c.builder();
        Node q = c.requiredInput(n, 0);
        Node k = c.requiredInput(n, 1);
        Node v = c.requiredInput(n, 2);
        Node mask = c.input(n, 3);
        Node pastK = c.input(n, 4);
        Node pastV = c.input(n, 5);
        Node nonpad = c.input(n, 6);
        if (q.rank() != k.rank() || q.rank() != v.rank() || (q.rank() != 3 && q.rank() != 4)) {
            throw new ModelFormatException(c.where() + ": Q, K and V must all be 3-D or all 4-D, got " + q.type()
                    + ", " + k.type() + ", " + v.type());
        }
        if ((pastK == null) != (pastV == null)) {
            throw new ModelFormatException(c.where() + ": past_key and past_value must be given together");
        }
        boolean threeD = q.rank() == 3;
        int qHeads = heads(c, n, "q_num_heads", q, threeD);
        int kvHeads = heads(c, n, "kv_num_heads", k, threeD);

        // The ModelOp wants [batch, seq, heads, head_size]: a 3-D input is one reshape away, a 4-D one ([batch,
        // heads, seq, head_size], where past and present live too) a transpose.
        Node qi = threeD ? heads(b, q, qHeads) : b.op(new PrimitiveOp.Transpose(SWAP_1_2), q);
        Node ki = threeD ? heads(b, k, kvHeads) : b.op(new PrimitiveOp.Transpose(SWAP_1_2), k);
        Node vi = threeD ? heads(b, v, kvHeads) : b.op(new PrimitiveOp.Transpose(SWAP_1_2), v);
        Node q4 = threeD ? b.op(new PrimitiveOp.Transpose(SWAP_1_2), qi) : q;
        Node k4 = threeD ? b.op(new PrimitiveOp.Transpose(SWAP_1_2), ki) : k;
        Node v4 = threeD ? b.op(new PrimitiveOp.Transpose(SWAP_1_2), vi) : v;
        Dim newKeys = k4.shape().dim(2);
        Dim past = Dim.of(0);
        if (pastK != null) {
            past = pastK.shape().dim(2);
            k4 = b.op(new PrimitiveOp.Concat(2), pastK, k4);
            v4 = b.op(new PrimitiveOp.Concat(2), pastV, v4);
            ki = b.op(new PrimitiveOp.Transpose(SWAP_1_2), k4);
            vi = b.op(new PrimitiveOp.Transpose(SWAP_1_2), v4);
        }
        Dim batch = q4.shape().dim(0);
        Dim seq = q4.shape().dim(2);
        Dim total = k4.shape().dim(2);
        Dim headSize = q4.shape().dim(3);
        double scale = c.attr(n, "scale").isPresent() ? c.attrFloat(n, "scale", 0) : 0;
        double softcap = c.attrFloat(n, "softcap", 0);
        boolean causal = c.attrInt(n, "is_causal", 0) != 0;

        // ONNX places the queries right after the past keys (opset 24 with nonpad_kv_seqlen: right before the
        // first padding key of each batch row). The ModelOp's causal flag places them at the end of the keys, which
        // is the same exactly when the new keys are as many as the queries and there is no per-row length; any
        // other alignment is spelled out as a mask.
        Node causalVisible = causal ? causalVisible(b, seq, total, past, nonpad, batch) : null;
        boolean opCausal = causal && nonpad == null && newKeys.equals(seq);
        Node userMask = mask(c, b, mask, nonpad, q.dtype(), batch, total);
        Node opMask = opCausal ? userMask : combine(b, userMask, causalVisible);
        List<Node> attnIn = new ArrayList<>(List.of(qi, ki, vi));
        if (opMask != null) {
            attnIn.add(opMask);
        }
        Node y = b.op(new ModelOp.Attention(qHeads, kvHeads, opCausal, scale, softcap, 0), attnIn);
        Node out = threeD
                ? b.op(new PrimitiveOp.Reshape(false), y, b.dims(y.shape().dim(0), y.shape().dim(1), Dim.of(-1)))
                : b.op(new PrimitiveOp.Transpose(SWAP_1_2), y);

        if (n.getOutputCount() < 4 || n.getOutput(3).isEmpty()) {
            return List.of(out, k4, v4);
        }
        Node qk = qkOutput(c, n, b, q4, k4, combine(b, userMask, causalVisible), scale, softcap, qHeads, kvHeads,
                total, headSize);
        return List.of(out, k4, v4, qk);
    }

    private static int heads(OnnxImporter c, NodeProto n, String attr, Node x, boolean threeD) {
        long h = c.attrInt(n, attr, 0);
        if (!threeD) {
            Dim d = x.shape().dim(1);
            if (!d.isConstant()) {
                throw new ModelFormatException(c.where() + ": the head count of " + x.type() + " must be static");
            }
            if (h != 0 && h != d.value()) {
                throw new ModelFormatException(c.where() + ": " + attr + " = " + h + " but the input has " + d + " heads");
            }
            return (int) d.value();
        }
        if (h <= 0) {
            throw new ModelFormatException(c.where() + ": 3-D inputs need the " + attr + " attribute");
        }
        return (int) h;
    }

    /** [batch, seq, heads * size] -> [batch, seq, heads, size]. */
    private static Node heads(GraphBuilder b, Node x, int heads) {
        return b.op(new PrimitiveOp.Reshape(false), x, b.dims(x.shape().dim(0), x.shape().dim(1), Dim.of(heads), Dim.of(-1)));
    }

    /**
     * The mask the ModelOp gets: attn_mask padded on its last axis to total_kv, combined with the opset-24
     * nonpad_kv_seqlen limit, or null when there is neither. Keeps attn_mask's kind (bool or additive float).
     */
    private static Node mask(OnnxImporter c, GraphBuilder b, Node mask, Node nonpad, DType dtype, Dim batch, Dim total) {
        if (mask != null) {
            Dim last = mask.shape().dim(mask.rank() - 1);
            // Padding needs both lengths known; with a symbolic one the mask is taken to cover every key (the
            // interpreter and kernels check the broadcast at run time).
            if (last.isConstant() && total.isConstant() && last.value() != total.value()) {
                if (last.value() > total.value()) {
                    throw new ModelFormatException(c.where() + ": attn_mask " + mask.type()
                            + " does not fit the total key length " + total);
                }
                Tensor fill = mask.dtype().isBool() ? Tensor.scalar(DType.BOOL, 0)
                        : Tensor.scalar(mask.dtype(), Double.NEGATIVE_INFINITY);
                Dim[] padShape = mask.shape().withDim(mask.rank() - 1, Dim.of(total.value() - last.value())).dims()
                        .toArray(Dim[]::new);
                Node pad = b.op(new PrimitiveOp.Expand(), b.constant(fill), b.dims(padShape));
                mask = b.op(new PrimitiveOp.Concat(-1), mask, pad);
            }
            if (!mask.dtype().isBool() && mask.dtype() != dtype) {
                throw new ModelFormatException(c.where() + ": attn_mask is " + mask.dtype() + " but Q is " + dtype);
            }
        }
        if (nonpad == null) {
            return mask;
        }
        // Key j of batch row bi is visible when j < nonpad_kv_seqlen[bi]: a bool [batch, 1, 1, total].
        Node keys = b.op(new PrimitiveOp.Range(), b.scalarI64(0), OnnxOps.scalarDim(b, total), b.scalarI64(1));
        Node limit = b.op(new PrimitiveOp.Reshape(false), OnnxOps.toI64(b, nonpad), b.dims(batch, Dim.of(1), Dim.of(1), Dim.of(1)));
        Node visible = b.op(new PrimitiveOp.Less(), keys, limit);
        if (mask == null) {
            return visible;
        }
        if (mask.dtype().isBool()) {
            return b.op(new PrimitiveOp.And(), mask, visible);
        }
        return b.op(new PrimitiveOp.Where(), visible, mask, b.scalar(mask.dtype(), Double.NEGATIVE_INFINITY));
    }

    /** Both restrictions at once: bool masks are and-ed, a float mask gets -inf where the bool one hides keys. */
    private static Node combine(GraphBuilder b, Node mask, Node visible) {
        if (visible == null) {
            return mask;
        }
        if (mask == null) {
            return visible;
        }
        if (mask.dtype().isBool()) {
            return b.op(new PrimitiveOp.And(), mask, visible);
        }
        return b.op(new PrimitiveOp.Where(), visible, mask, b.scalar(mask.dtype(), Double.NEGATIVE_INFINITY));
    }

    /**
     * qk_matmul_output in primitive ops, {@code [batch, q_heads, seq, total_kv]}, at the stage the mode names: 0 the
     * scaled QK^T, 1 after softcap, 2 plus the attention bias (mask and causal), 3 the softmax, whose rows with
     * every key masked are zero (as the op's output treats them).
     */
    private static Node qkOutput(OnnxImporter c, NodeProto n, GraphBuilder b, Node q4, Node k4, Node mask,
            double scale, double softcap, int qHeads, int kvHeads, Dim total, Dim headSize) {
        long mode = c.attrInt(n, "qk_matmul_output_mode", 0);
        if (mode < 0 || mode > 3) {
            throw new ModelFormatException(c.where() + ": qk_matmul_output_mode " + mode + " is not one of 0..3");
        }
        DType dt = q4.dtype();
        Node kr = k4;
        if (qHeads != kvHeads) {
            // Query head h reads kv head h / (q_heads / kv_heads): repeat each kv head that many times.
            int group = qHeads / kvHeads;
            Dim bt = k4.shape().dim(0);
            Node e = b.op(new PrimitiveOp.Expand(), b.op(new PrimitiveOp.Unsqueeze(List.of(2L)), k4),
                    b.dims(bt, Dim.of(kvHeads), Dim.of(group), total, k4.shape().dim(3)));
            kr = b.op(new PrimitiveOp.Reshape(false), e, b.dims(bt, Dim.of(qHeads), total, k4.shape().dim(3)));
        }
        if (scale == 0 && !headSize.isConstant()) {
            throw new ModelFormatException(c.where() + ": the default scale needs a static head size, got " + headSize);
        }
        double s = scale != 0 ? scale : 1 / Math.sqrt(headSize.value());
        Node scores = b.op(new PrimitiveOp.Mul(), b.op(new PrimitiveOp.MatMul(), q4,
                b.op(new PrimitiveOp.Transpose(List.of(0L, 1L, 3L, 2L)), kr)), b.scalar(dt, s));
        if (mode == 0) {
            return scores;
        }
        Node capped = scores;
        if (softcap > 0) {
            Node cap = b.scalar(dt, softcap);
            capped = b.op(new PrimitiveOp.Mul(), cap, b.op(new PrimitiveOp.Tanh(), b.op(new PrimitiveOp.Div(), scores, cap)));
        }
        if (mode == 1) {
            return capped;
        }
        Node negInf = b.scalar(dt, Double.NEGATIVE_INFINITY);
        Node bias = mask == null ? null
                : mask.dtype().isBool() ? b.op(new PrimitiveOp.Where(), mask, b.scalar(dt, 0), negInf) : mask;
        Node biased = bias == null ? capped : b.op(new PrimitiveOp.Add(), capped, bias);
        if (mode == 2) {
            return biased;
        }
        Node softmax = b.op(new PrimitiveOp.Softmax(-1), biased);
        if (bias == null) {
            return softmax;
        }
        Node rowMax = b.op(new PrimitiveOp.ReduceMax(List.of(-1L), true), bias);
        Node allMasked = b.op(new PrimitiveOp.Equal(), rowMax, negInf);
        return b.op(new PrimitiveOp.Where(), allMasked, b.scalar(dt, 0), softmax);
    }

    /**
     * Bool causal visibility: query i may see key j when {@code j <= i + offset}, offset being the past length, or
     * with nonpad_kv_seqlen {@code nonpad_kv_seqlen[b] - seq} per batch row. Shape {@code [seq, total]}, or
     * {@code [batch, 1, seq, total]} with per-row offsets.
     */
    private static Node causalVisible(GraphBuilder b, Dim seq, Dim total, Dim past, Node nonpad, Dim batch) {
        Node rows = b.op(new PrimitiveOp.Unsqueeze(List.of(1L)),
                b.op(new PrimitiveOp.Range(), b.scalarI64(0), OnnxOps.scalarDim(b, seq), b.scalarI64(1)));
        Node cols = b.op(new PrimitiveOp.Unsqueeze(List.of(0L)),
                b.op(new PrimitiveOp.Range(), b.scalarI64(0), OnnxOps.scalarDim(b, total), b.scalarI64(1)));
        Node offset = nonpad == null ? OnnxOps.scalarDim(b, past)
                : b.op(new PrimitiveOp.Reshape(false), b.op(new PrimitiveOp.Sub(), OnnxOps.toI64(b, nonpad),
                        OnnxOps.scalarDim(b, seq)), b.dims(batch, Dim.of(1), Dim.of(1), Dim.of(1)));
        return b.op(new PrimitiveOp.LessOrEqual(), cols, b.op(new PrimitiveOp.Add(), rows, offset));
    }
}
