package dev.tokc.passes.transforms;

import static dev.tokc.passes.rewrite.Pattern.op;
import static dev.tokc.passes.rewrite.Pattern.var;

import dev.tokc.ir.ModelOp.Gelu;
import dev.tokc.ir.ModelOp.Silu;
import dev.tokc.ir.ModelOp.Swiglu;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Add;
import dev.tokc.ir.PrimitiveOp.Erf;
import dev.tokc.ir.PrimitiveOp.Mul;
import dev.tokc.ir.PrimitiveOp.Pow;
import dev.tokc.ir.PrimitiveOp.Sigmoid;
import dev.tokc.ir.PrimitiveOp.Tanh;
import dev.tokc.passes.rewrite.Match;
import dev.tokc.passes.rewrite.Rule;
import dev.tokc.passes.rewrite.RuleSet;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiPredicate;

/**
 * Raising rules for activations: SiLU ({@code x * sigmoid(x)}), SwiGLU ({@code silu(g) * up}, same shapes), and
 * GELU in its exact form {@code 0.5 * x * (1 + erf(x / sqrt(2)))} and its tanh form
 * {@code 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))}, the three factors in any association, division by
 * a constant read as multiplication by its inverse, x^3 as {@code pow(x, 3)}, {@code x*x*x} or {@code x*(x*x)}.
 * Constants must agree to 1e-5 relative. Used by {@link Raise}.
 */
final class RaiseActivations {
    private RaiseActivations() {}

    static final double SQRT1_2 = Math.sqrt(0.5);
    static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
    static final double TOL = 1e-5;

    static final RuleSet RULES = RuleSet.of(
            new Rule("silu", op(Mul.class, var("x"), op(Sigmoid.class, var("x"))), m -> Node.of(new Silu(), m.node("x"))), // x * sigmoid(x) -> silu(x)
            new Rule("swiglu", op(Mul.class, op(Silu.class, var("g")), var("up")), RaiseActivations::swiglu), // silu(g) * up -> swiglu(g, up)
            new Rule("geluErf", op(Mul.class), m -> gelu(m, false, RaiseActivations::erfArgument)), // 0.5 * x * (1 + erf(x / sqrt2)) -> gelu(x)
            new Rule("geluTanh", op(Mul.class), m -> gelu(m, true, RaiseActivations::tanhArgument))); // 0.5 * x * (1 + tanh(c (x + 0.044715 x^3))) -> gelu(x) {tanh}

    private static Node swiglu(Match m) {
        Node g = m.node("g");
        Node up = m.node("up");
        if (!g.type().equals(up.type())) {
            return null;
        }
        return Node.of(new Swiglu(), g, up);
    }

    /**
     * Three factors {x, 0.5, 1 + f(arg)} with f erf or tanh and {@code argOf.test(arg, x)}; the product's type must
     * be x's.
     */
    private static Node gelu(Match m, boolean tanh, BiPredicate<Node, Node> argOf) {
        List<Node> fs = RaiseSupport.factors(m.root(), 2);
        if (fs.size() != 3) {
            return null;
        }
        for (int half = 0; half < 3; half++) {
            if (!RaiseSupport.isScalar(fs.get(half), 0.5, TOL)) {
                continue;
            }
            for (int one = 0; one < 3; one++) {
                if (one == half) {
                    continue;
                }
                Node x = fs.get(3 - half - one);
                Node f = onePlus(fs.get(one));
                if (f != null && (tanh ? f.op() instanceof Tanh : f.op() instanceof Erf) && argOf.test(f.input(0), x)) {
                    return RaiseSupport.sameType(m.root(), Node.of(new Gelu(tanh), x));
                }
            }
        }
        return null;
    }

    /** f for {@code 1 + f} / {@code f + 1}, else null. */
    private static Node onePlus(Node n) {
        if (!(n.op() instanceof Add)) {
            return null;
        }
        for (int i = 0; i < 2; i++) {
            if (RaiseSupport.isScalar(n.input(i), 1.0, 0)) {
                return n.input(1 - i);
            }
        }
        return null;
    }

    /** arg = x / sqrt(2), as a product of x and 1/sqrt(2). */
    private static boolean erfArgument(Node arg, Node x) {
        return isScaled(arg, x, SQRT1_2);
    }

    /** arg = sqrt(2/pi) * (x + 0.044715 * x^3). */
    private static boolean tanhArgument(Node arg, Node x) {
        List<Node> fs = RaiseSupport.factors(arg, 1);
        if (fs.size() != 2) {
            return false;
        }
        for (int i = 0; i < 2; i++) {
            if (RaiseSupport.isScalar(fs.get(i), SQRT_2_OVER_PI, TOL) && cubicTerm(fs.get(1 - i), x)) {
                return true;
            }
        }
        return false;
    }

    /** x + 0.044715 * x^3 */
    private static boolean cubicTerm(Node n, Node x) {
        if (!(n.op() instanceof Add)) {
            return false;
        }
        for (int i = 0; i < 2; i++) {
            if (n.input(i) == x && isScaledCube(n.input(1 - i), x)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isScaledCube(Node n, Node x) {
        List<Node> fs = RaiseSupport.factors(n, 3);
        List<Node> rest = new ArrayList<>();
        boolean coefficient = false;
        for (Node f : fs) {
            if (!coefficient && RaiseSupport.isScalar(f, 0.044715, TOL)) {
                coefficient = true;
            } else {
                rest.add(f);
            }
        }
        if (!coefficient) {
            return false;
        }
        if (rest.size() == 1) {
            Node p = rest.get(0);
            return p.op() instanceof Pow && p.input(0) == x && RaiseSupport.isScalar(p.input(1), 3.0, 0);
        }
        return rest.size() == 3 && rest.stream().allMatch(f -> f == x);
    }

    /** n = x * c (or x / (1/c)). */
    private static boolean isScaled(Node n, Node x, double c) {
        List<Node> fs = RaiseSupport.factors(n, 1);
        if (fs.size() != 2) {
            return false;
        }
        for (int i = 0; i < 2; i++) {
            if (fs.get(1 - i) == x && RaiseSupport.isScalar(fs.get(i), c, TOL)) {
                return true;
            }
        }
        return false;
    }
}
