package dev.tokc.ir;

import java.util.List;

/** Shape rules shared by the attention ops. */
final class AttentionChecks {
    private AttentionChecks() {}

    static void heads(int numHeads, int numKvHeads) {
        if (numHeads <= 0 || numKvHeads <= 0 || numHeads % numKvHeads != 0) {
            throw new IrException("num_heads " + numHeads + " must be a positive multiple of num_kv_heads " + numKvHeads);
        }
    }

    /** A bool or q-typed additive mask that broadcasts to [b, h, s, t] without enlarging it. */
    static void mask(Node mask, Node q, Node k) {
        if (!mask.dtype().isBool() && mask.dtype() != q.dtype()) {
            throw new IrException("mask must be bool or " + q.dtype() + " like q, got " + mask.type());
        }
        Shape scores = Shape.of(q.shape().dim(0), q.shape().dim(2), q.shape().dim(1), k.shape().dim(1));
        Shape b;
        try {
            b = Shape.broadcast(scores, mask.shape());
        } catch (IllegalArgumentException e) {
            throw new IrException("mask " + mask.shape() + " does not broadcast to the scores " + scores);
        }
        if (b.rank() != 4) {
            throw new IrException("mask " + mask.shape() + " has more dims than the scores " + scores);
        }
    }

    /** q [b, s, h, d], k/v [b, t, kvh, d] -> [b, s, h, d]. */
    static TensorType check(List<Node> qkv, int numHeads, int numKvHeads) {
        Node q = qkv.get(0);
        Node k = qkv.get(1);
        Node v = qkv.get(2);
        Infer.sameDType(qkv);
        Infer.requireFloat(q, "q");
        Infer.requireRank(q, 4, "q [batch, seq, heads, head_dim]");
        Infer.requireRank(k, 4, "k [batch, kv_seq, kv_heads, head_dim]");
        Infer.requireRank(v, 4, "v [batch, kv_seq, kv_heads, head_dim]");
        Infer.requireDimEqual(q.shape().dim(2), Dim.of(numHeads), "q heads != num_heads");
        Infer.requireDimEqual(k.shape().dim(2), Dim.of(numKvHeads), "k heads != num_kv_heads");
        Infer.requireDimEqual(v.shape().dim(2), Dim.of(numKvHeads), "v heads != num_kv_heads");
        Infer.requireDimEqual(q.shape().dim(3), k.shape().dim(3), "q and k head_dim differ");
        Infer.requireDimEqual(k.shape().dim(1), v.shape().dim(1), "k and v kv_seq differ");
        Infer.requireDimEqual(q.shape().dim(0), k.shape().dim(0), "q and k batch differ");
        return TensorType.of(q.dtype(), q.shape().dim(0), q.shape().dim(1), Dim.of(numHeads), v.shape().dim(3));
    }
}
