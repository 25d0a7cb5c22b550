package dev.tokc.passes.transforms;

import static dev.tokc.passes.rewrite.Pattern.constant;
import static dev.tokc.passes.rewrite.Pattern.op;
import static dev.tokc.passes.rewrite.Pattern.var;

import dev.tokc.ir.ModelOp.LayerNorm;
import dev.tokc.ir.ModelOp.RmsNorm;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Add;
import dev.tokc.ir.PrimitiveOp.Cast;
import dev.tokc.ir.PrimitiveOp.Div;
import dev.tokc.ir.PrimitiveOp.Mul;
import dev.tokc.ir.PrimitiveOp.Pow;
import dev.tokc.ir.PrimitiveOp.Reciprocal;
import dev.tokc.ir.PrimitiveOp.ReduceMean;
import dev.tokc.ir.PrimitiveOp.Sqrt;
import dev.tokc.ir.PrimitiveOp.Sub;
import dev.tokc.passes.rewrite.Match;
import dev.tokc.passes.rewrite.Pattern;
import dev.tokc.passes.rewrite.Rule;
import dev.tokc.passes.rewrite.RuleSet;
import java.util.OptionalDouble;

/**
 * Raising rules for normalisations: RmsNorm (x / sqrt(mean(x^2) + eps) * w, with {@code (w + c)} giving
 * {@code weight_offset = c}) and LayerNorm ((x - mean) / sqrt(var + eps) * w (+ b)), over the last axis only, with
 * x^2 as {@code pow(x, 2)} or {@code x*x} and the division as {@code div}, {@code * reciprocal} or
 * {@code * pow(., -0.5)}; a half-precision RmsNorm computed on {@code cast(x, f32)} and cast back before the weight
 * is the RmsNorm of x. Used by {@link Raise}.
 */
final class RaiseNorms {
    private RaiseNorms() {}

    /** mean over the last axis, kept: {@code reduce_mean(p) {axes = [-1], keep_dims = true}}. */
    private static Pattern meanLast(Pattern p) {
        return op(ReduceMean.class, p).where(ReduceMean::keepDims).when(RaiseSupport::reducesLastAxis);
    }

    private static Pattern pow2(String x) {
        return op(Pow.class, var(x), constant(2));
    }

    private static Pattern sq(String x) {
        return op(Mul.class, var(x), var(x));
    }

    /** sqrt(m + eps) */
    private static Pattern root(Pattern m) {
        return op(Sqrt.class, op(Add.class, m, constant().as("eps")));
    }

    /** (m + eps)^-0.5 */
    private static Pattern rsqrt(Pattern m) {
        return op(Pow.class, op(Add.class, m, constant().as("eps")), constant(-0.5));
    }

    static final RuleSet RULES = RuleSet.of(
            new Rule("layerNormDiv", op(Mul.class, var("w"), op(Div.class, op(Sub.class, var("x"), meanLast(var("x"))).as("d"), root(meanLast(pow2("d"))))), RaiseNorms::layerNorm), // w * ((x-mean(x)) / sqrt(mean(d^2)+eps)) -> layer_norm(x, w)
            new Rule("layerNormDivSq", op(Mul.class, var("w"), op(Div.class, op(Sub.class, var("x"), meanLast(var("x"))).as("d"), root(meanLast(sq("d"))))), RaiseNorms::layerNorm), // w * ((x-mean(x)) / sqrt(mean(d*d)+eps)) -> layer_norm(x, w)
            new Rule("layerNormRecip", op(Mul.class, var("w"), op(Mul.class, op(Sub.class, var("x"), meanLast(var("x"))).as("d"), op(Reciprocal.class, root(meanLast(pow2("d")))))), RaiseNorms::layerNorm), // w * ((x-mean(x)) * 1/sqrt(mean(d^2)+eps)) -> layer_norm(x, w)
            new Rule("layerNormFromRms", op(RmsNorm.class, op(Sub.class, var("x"), meanLast(var("x"))), var("w")).where(r -> r.weightOffset() == 0), RaiseNorms::layerNormFromRms), // rms_norm(x - mean(x), w) -> layer_norm(x, w)
            new Rule("rmsNormRecipPow", op(Mul.class, var("w"), op(Mul.class, var("x"), op(Reciprocal.class, root(meanLast(pow2("x")))))), RaiseNorms::rmsNorm), // w * (x * 1/sqrt(mean(x^2)+eps)) -> rms_norm(x, w)
            new Rule("rmsNormRecipSq", op(Mul.class, var("w"), op(Mul.class, var("x"), op(Reciprocal.class, root(meanLast(sq("x")))))), RaiseNorms::rmsNorm), // w * (x * 1/sqrt(mean(x*x)+eps)) -> rms_norm(x, w)
            new Rule("rmsNormDivPow", op(Mul.class, var("w"), op(Div.class, var("x"), root(meanLast(pow2("x"))))), RaiseNorms::rmsNorm), // w * (x / sqrt(mean(x^2)+eps)) -> rms_norm(x, w)
            new Rule("rmsNormDivSq", op(Mul.class, var("w"), op(Div.class, var("x"), root(meanLast(sq("x"))))), RaiseNorms::rmsNorm), // w * (x / sqrt(mean(x*x)+eps)) -> rms_norm(x, w)
            new Rule("rmsNormRsqrtPow", op(Mul.class, var("w"), op(Mul.class, var("x"), rsqrt(meanLast(pow2("x"))))), RaiseNorms::rmsNorm), // w * (x * (mean(x^2)+eps)^-0.5) -> rms_norm(x, w)
            new Rule("rmsNormCastRecipPow", op(Mul.class, var("w"), op(Cast.class, op(Mul.class, var("x"), op(Reciprocal.class, root(meanLast(pow2("x"))))))), RaiseNorms::rmsNormCast), // w * cast(xf * 1/sqrt(mean(xf^2)+eps)) -> rms_norm(x, w), xf = cast(x, f32)
            new Rule("rmsNormCastDivPow", op(Mul.class, var("w"), op(Cast.class, op(Div.class, var("x"), root(meanLast(pow2("x")))))), RaiseNorms::rmsNormCast), // w * cast(xf / sqrt(mean(xf^2)+eps)) -> rms_norm(x, w), xf = cast(x, f32)
            new Rule("layerNormBias", op(Add.class, op(LayerNorm.class, var("x"), var("w")).as("ln"), var("b")), RaiseNorms::layerNormBias)); // layer_norm(x, w) + b -> layer_norm(x, w, b)

    private static Node rmsNorm(Match m) {
        return rmsNorm(m, m.node("x"));
    }

    /**
     * The half-precision form: the norm computed on an upcast {@code xf = cast(x, f32)} and cast back before the
     * weight ({@code weight * hidden.to(input_dtype)}): the model op, which computes in double and rounds once, on x.
     */
    private static Node rmsNormCast(Match m) {
        Node xf = m.node("x");
        if (!(xf.op() instanceof Cast) || !xf.input(0).dtype().isFloat() || xf.input(0).dtype() != m.root().dtype()) {
            return null;
        }
        return rmsNorm(m, xf.input(0));
    }

    /** rms_norm(x, w) for a weight vector over the last axis; {@code w = v + c} becomes weight_offset c. */
    private static Node rmsNorm(Match m, Node x) {
        OptionalDouble eps = RaiseSupport.attribute(m.node("eps"));
        Node w = m.node("w");
        double offset = 0;
        if (w.op() instanceof Add && w.rank() == 1) {
            for (int i = 0; i < 2; i++) {
                OptionalDouble c = RaiseSupport.scalar(w.input(i));
                if (c.isPresent() && w.input(1 - i).rank() == 1) {
                    offset = c.getAsDouble();
                    w = w.input(1 - i);
                    break;
                }
            }
        }
        if (eps.isEmpty() || !vectorOverLastAxis(w, x)) {
            return null;
        }
        return RaiseSupport.sameType(m.root(), Node.of(new RmsNorm(eps.getAsDouble(), offset), x, w));
    }

    private static Node layerNorm(Match m) {
        Node x = m.node("x");
        OptionalDouble eps = RaiseSupport.attribute(m.node("eps"));
        Node w = m.node("w");
        if (eps.isEmpty() || !vectorOverLastAxis(w, x)) {
            return null;
        }
        return RaiseSupport.sameType(m.root(), Node.of(new LayerNorm(eps.getAsDouble(), -1), x, w));
    }

    private static Node layerNormFromRms(Match m) {
        return Node.of(new LayerNorm(m.rootOp(RmsNorm.class).eps(), -1), m.node("x"), m.node("w"));
    }

    private static Node layerNormBias(Match m) {
        Node ln = m.node("ln");
        Node b = m.node("b");
        if (!vectorOverLastAxis(b, m.node("x")) || ln.op() instanceof LayerNorm l && l.axis() != -1) {
            return null;
        }
        return RaiseSupport.sameType(m.root(), Node.of(ln.op(), m.node("x"), m.node("w"), b));
    }

    /** A rank-1 tensor (a weight, or any vector value) as long as x's last dim: a per-channel scale. */
    private static boolean vectorOverLastAxis(Node v, Node x) {
        return v.rank() == 1 && x.rank() >= 1 && v.shape().dim(0).equals(x.shape().at(-1))
                && v.dtype() == x.dtype();
    }
}
