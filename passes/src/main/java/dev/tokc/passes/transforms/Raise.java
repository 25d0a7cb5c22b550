package dev.tokc.passes.transforms;

import dev.tokc.ir.Graph;
import dev.tokc.passes.Pass;
import dev.tokc.passes.PassContext;
import dev.tokc.passes.rewrite.RewriteDriver;
import dev.tokc.passes.rewrite.RuleSet;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code raise}: pattern-matches primitive-op subgraphs (what the ONNX importer produces) into model ops, so that an
 * ONNX export and a checkpoint import of one model reach the same graph.
 *
 * <p><b>Rewrites</b> (rule sets, one file each, run together with {@link Canonicalize}'s identities to one fixed
 * point): {@link RaiseNorms} (RmsNorm with weight offset, LayerNorm), {@link RaiseActivations} (SiLU, SwiGLU, GELU
 * erf and tanh), {@link RaiseLinear} (Linear from MatMul / Gemm / + bias, Embedding from Gather),
 * {@link RaiseRope} (half-rotation RoPE from inv_freq @ positions), {@link RaiseAttention} (the
 * softmax(QK^T)V soup with GQA repeat_kv and a proven-causal mask), and {@link RaiseLayout} (normal forms of
 * reshape targets, squeeze and slice axes, broadcast embedding ids).
 *
 * <p><b>Needs</b>: shape computations resolved ({@code shape-infer}, {@code constant-fold}), so patterns see
 * {@code dims} and constants. <b>After</b>: no rule matches. Values are preserved up to rounding: a soup rounds
 * after every f32 (or f16) op, a model op computes its formula in double and rounds once, and constants such as
 * GELU's sqrt(2/pi) or the attention scale are the exact ones; the equivalence tests allow 1e-4 relative in f32
 * and 1e-2 in f16/bf16. Two documented domain changes: Embedding rejects negative ids where Gather wraps them (token
 * ids are never negative), and a causal mask is dropped only when proven causal ({@link RaiseAttention}). Run
 * {@code canonicalize}, {@code cse} and {@code dce} after it to remove the exporter's transposes and the dead soup.
 *
 * <p><b>Counters</b>: one per model op raised ({@code rmsNorm, layerNorm, silu, swiglu, gelu, linear, embedding,
 * rope, attention}, plus {@code layout} for the normal forms), and one per rule that fired, named after the rule.
 */
public final class Raise implements Pass {

    /** Every raising rule set by its counter name, in the order they are tried. */
    static final Map<String, RuleSet> SETS = sets();

    private static Map<String, RuleSet> sets() {
        Map<String, RuleSet> m = new LinkedHashMap<>();
        m.put("attention", RaiseAttention.RULES);
        m.put("rope", RaiseRope.RULES);
        m.put("norm", RaiseNorms.RULES);
        m.put("activation", RaiseActivations.RULES);
        m.put("linear", RaiseLinear.RULES);
        m.put("layout", RaiseLayout.RULES);
        return m;
    }

    static final RuleSet ALL = SETS.values().stream().reduce(RuleSet::plus).orElseThrow().plus(Canonicalize.ALL);

    @Override
    public String name() {
        return "raise";
    }

    @Override
    public String summary() {
        return "primitive ops -> model ops: rms_norm, layer_norm, rope, attention, swiglu, gelu, linear, embedding";
    }

    /** A model op computes its formula in double and rounds once; the soup it replaces rounded after every op. */
    @Override
    public boolean exact() {
        return false;
    }

    @Override
    public Graph run(Graph graph, PassContext ctx) {
        RewriteDriver.Result r = RewriteDriver.run(graph, ALL, ctx.rewriteOptions());
        for (String c : new String[] {"rmsNorm", "layerNorm", "rope", "attention", "silu", "swiglu", "gelu", "linear", "embedding", "layout"}) {
            ctx.add(c, 0);
        }
        for (Map.Entry<String, Integer> e : r.firings().entrySet()) {
            if (!isRaiseRule(e.getKey())) {
                continue; // a canonicalisation identity
            }
            String counter = counterOf(e.getKey());
            if (counter != null) {
                ctx.add(counter, e.getValue());
            }
            if (!e.getKey().equals(counter)) {
                ctx.add(e.getKey(), e.getValue());
            }
        }
        return r.graph();
    }

    static boolean isRaiseRule(String rule) {
        return SETS.values().stream().anyMatch(s -> s.names().contains(rule));
    }

    /** The model-op counter a raising rule adds to; null for canonicalisation rules. */
    static String counterOf(String rule) {
        for (Map.Entry<String, RuleSet> e : SETS.entrySet()) {
            if (e.getValue().names().contains(rule)) {
                return switch (e.getKey()) {
                    case "norm" -> rule.startsWith("rms") ? "rmsNorm" : rule.equals("layerNormBias") ? null : "layerNorm";
                    case "activation" -> rule.startsWith("gelu") ? "gelu" : rule;
                    case "linear" -> rule.equals("embedding") ? "embedding" : rule.equals("linear") || rule.equals("linearTransposed") || rule.equals("gemm") ? "linear" : null;
                    default -> e.getKey();
                };
            }
        }
        return null;
    }
}
