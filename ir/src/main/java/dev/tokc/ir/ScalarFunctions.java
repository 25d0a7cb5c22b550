package dev.tokc.ir;

/**
 * The scalar functions of {@link ElementwiseExpr} in double, with the same definitions as the reference
 * interpreter's primitive and model ops (sigmoid, erf and gelu from {@code dev.tokc.ir.interp.ScalarMath}).
 */
final class ScalarFunctions {
    private ScalarFunctions() {}

    static double apply(ElementwiseExpr.Fn fn, double x, double y) {
        return switch (fn) {
            case ADD -> x + y;
            case SUB -> x - y;
            case MUL -> x * y;
            case DIV -> x / y;
            case MAX -> Math.max(x, y);
            case MIN -> Math.min(x, y);
            case POW -> Math.pow(x, y);
            case NEG -> -x;
            case ABS -> Math.abs(x);
            case RELU -> x > 0 ? x : (Double.isNaN(x) ? x : 0.0);
            case SQRT -> Math.sqrt(x);
            case RECIPROCAL -> 1 / x;
            case EXP -> Math.exp(x);
            case LOG -> Math.log(x);
            case SIN -> Math.sin(x);
            case COS -> Math.cos(x);
            case TANH -> Math.tanh(x);
            case SIGMOID -> dev.tokc.ir.interp.ScalarMath.sigmoid(x);
            case ERF -> dev.tokc.ir.interp.ScalarMath.erf(x);
            case FLOOR -> Math.floor(x);
            case CEIL -> Math.ceil(x);
            case ROUND -> Math.rint(x);
            case SILU -> dev.tokc.ir.interp.ScalarMath.silu(x);
            case GELU -> dev.tokc.ir.interp.ScalarMath.gelu(x);
            case GELU_TANH -> dev.tokc.ir.interp.ScalarMath.geluTanh(x);
        };
    }
}
