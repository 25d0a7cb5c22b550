package dev.tokc.passes.transforms;

import static dev.tokc.passes.rewrite.Pattern.op;
import static dev.tokc.passes.rewrite.Pattern.var;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp.Rope;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Reshape;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TargetOp.KvWrite;
import dev.tokc.ir.TargetOp.KvWriteRope;
import dev.tokc.ir.Tensor;
import dev.tokc.passes.Pass;
import dev.tokc.passes.PassContext;
import dev.tokc.passes.rewrite.Match;
import dev.tokc.passes.rewrite.Rule;
import dev.tokc.passes.rewrite.RuleSet;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code fuse-rope-kv-write}: in the paged program, the keys' rotary embedding is applied by the KV write as it
 * stores them, so the rotated keys are never materialised.
 *
 * <p><b>Rewrites</b> (the rule in {@link #rules}): the keys of a {@code kv_write} that are a rope, flattened from
 * {@code [d0, d1, kv_heads, head_dim]} to {@code [tokens, kv_heads, head_dim]}:
 * <pre>
 *   kv_write(reshape(rope(k, pos, f...), s), v, slots)
 *     -&gt; kv_write_rope(reshape(k, s), v, slots, reshape(pos, [tokens]), f...) {interleaved = rope's}
 * </pre>
 * for both angle sources of {@code rope} (inv_freq, or cos/sin caches). The reshape only merges the leading dims
 * (its last two dims are the rope's), so token t of the flat keys is row t of the row-major {@code [d0, d1]}
 * positions, and flattening the positions the same way keeps every key at its position. Queries keep their
 * {@code rope}: paged attention reads q directly.
 *
 * <p><b>Does not fire</b> when the rotated keys (or their reshape) have another user, when the reshape changes the
 * head layout, or when the token count is neither constant nor a symbolic dim (the positions' reshape needs it).
 *
 * <p><b>Needs</b> the paged step program ({@code kv_write}, from lowering Attention). <b>After</b>: no kv_write
 * reads a single-use flattened rope. <b>Numerics</b>: exact (the same rotation, at the same positions).
 *
 * <p><b>Counters</b>: {@code ropeKvWrite} (fused writes).
 */
public final class FuseRopeKvWrite implements Pass {

    static RuleSet rules(FusionDriver.Uses u) {
        return RuleSet.of(
                new Rule("ropeKvWrite", op(KvWrite.class, op(Reshape.class, op(Rope.class).when(u::single).as("rope"), var("s")).when(u::single).as("flat"), var("v"), var("slots")), FuseRopeKvWrite::fuse)); // kv_write(flat(rope(k, pos)), v, slots) -> kv_write_rope(flat(k), v, slots, flat(pos))
    }

    private static Node fuse(Match m) {
        Node rope = m.node("rope");
        Node flat = m.node("flat");
        Node k = rope.input(0);
        Node pos = rope.input(1);
        if (!flat.shape().dim(1).equals(k.shape().dim(2)) || !flat.shape().dim(2).equals(k.shape().dim(3))) {
            return null;
        }
        Dim tokens = flat.shape().dim(0);
        Node tokensShape;
        if (tokens.isConstant()) {
            tokensShape = Node.of(new SourceOp.Constant(Tensor.vector(DType.I64, tokens.value())), List.of());
        } else if (!tokens.isUnknown()) {
            tokensShape = Node.of(new SourceOp.Dims(List.of(tokens)), List.of());
        } else {
            return null;
        }
        Reshape r = (Reshape) flat.op();
        List<Node> in = new ArrayList<>();
        in.add(Node.of(r, k, m.node("s")));
        in.add(m.node("v"));
        in.add(m.node("slots"));
        in.add(Node.of(new Reshape(false), pos, tokensShape));
        in.addAll(rope.inputs().subList(2, rope.inputs().size()));
        KvWrite w = m.rootOp(KvWrite.class);
        return Node.of(new KvWriteRope(w.spec(), w.layer(), ((Rope) rope.op()).interleaved()), in);
    }

    @Override
    public String name() {
        return "fuse-rope-kv-write";
    }

    @Override
    public String summary() {
        return "kv_write(flatten(rope(k))) -> kv_write_rope(flatten(k)): keys rotated as they are stored in the paged cache";
    }

    @Override
    public Graph run(Graph graph, PassContext ctx) {
        return FusionDriver.run(graph, FuseRopeKvWrite::rules, ctx);
    }
}
