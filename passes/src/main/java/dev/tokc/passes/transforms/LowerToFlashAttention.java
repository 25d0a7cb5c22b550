package dev.tokc.passes.transforms;

import static dev.tokc.passes.rewrite.Pattern.op;
import static dev.tokc.passes.rewrite.Pattern.var;

import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp.Attention;
import dev.tokc.ir.Node;
import dev.tokc.ir.TargetOp.FlashAttention;
import dev.tokc.passes.Pass;
import dev.tokc.passes.PassContext;
import dev.tokc.passes.rewrite.Match;
import dev.tokc.passes.rewrite.RewriteDriver;
import dev.tokc.passes.rewrite.Rule;
import dev.tokc.passes.rewrite.RuleSet;

/**
 * {@code lower-to-flash-attention}: the prefill-only alternative to {@link LowerToPagedAttention}, for prompt
 * processing without a KV cache (scoring, embeddings, a first-token-only program). The full-forward signature stays.
 *
 * <p><b>Rewrites</b> every causal, unmasked {@code attention(q, k, v)} into {@code flash_attention(q, k, v)} with the
 * same heads, KV heads (GQA stays grouped: no repeat_kv), scale, soft-cap and sliding window: one tiled
 * online-softmax kernel instead of the materialised scores. A masked or non-causal attention stays as it is (the
 * flash kernel only knows causal and sliding-window visibility).
 *
 * <p><b>Needs</b>: model-level attention (raising done). <b>After</b>: no causal unmasked {@code attention} is left.
 * Not part of {@code Pipeline.standard()}, which builds the step program: a compile of a prefill-only engine
 * names it in {@code --passes}.
 *
 * <p><b>Counters</b>: {@code flashAttention} (attentions rewritten).
 */
public final class LowerToFlashAttention implements Pass {

    static final RuleSet RULES = RuleSet.of(
            new Rule("flashAttention", op(Attention.class, var("q"), var("k"), var("v")).where(Attention::causal),
                    LowerToFlashAttention::flash)); // attention(q, k, v) {causal} -> flash_attention(q, k, v)

    @Override
    public String name() {
        return "lower-to-flash-attention";
    }

    @Override
    public String summary() {
        return "causal unmasked attention -> flash_attention (prefill-only programs without a KV cache)";
    }

    @Override
    public Graph run(Graph graph, PassContext ctx) {
        RewriteDriver.Result r = RewriteDriver.run(graph, RULES, ctx.rewriteOptions());
        ctx.add("flashAttention", r.firings().getOrDefault("flashAttention", 0));
        return r.graph();
    }

    private static Node flash(Match m) {
        Attention a = m.rootOp(Attention.class);
        return Node.of(new FlashAttention(a.numHeads(), a.numKvHeads(), a.scale(), a.softcap(), a.slidingWindow()),
                java.util.List.of(m.node("q"), m.node("k"), m.node("v")), m.root().name());
    }
}
