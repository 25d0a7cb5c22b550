package dev.tokc.runtime.exec;

/**
 * The scalar functions generated elementwise kernels call, one static method per function of the IR's
 * {@code ElementwiseExpr}, in double with the reference interpreter's definitions (the runtime cannot call the
 * interpreter's copy: it does not depend on the IR). The generated code rounds each result to f32, as the unfused
 * ops would. Names equal the expression's function names (camel case) so codegen finds them by name. {@code erf}
 * and the exact GELU are absent: a kernel using them is refused at compile time.
 */
public final class ScalarFunctions {
    private ScalarFunctions() {}

    public static double add(double x, double y) {
        return x + y;
    }

    public static double sub(double x, double y) {
        return x - y;
    }

    public static double mul(double x, double y) {
        return x * y;
    }

    public static double div(double x, double y) {
        return x / y;
    }

    public static double max(double x, double y) {
        return Math.max(x, y);
    }

    public static double min(double x, double y) {
        return Math.min(x, y);
    }

    public static double pow(double x, double y) {
        return Math.pow(x, y);
    }

    public static double neg(double x) {
        return -x;
    }

    public static double abs(double x) {
        return Math.abs(x);
    }

    /** max(x, 0), NaN staying NaN. */
    public static double relu(double x) {
        return x > 0 ? x : (Double.isNaN(x) ? x : 0.0);
    }

    public static double sqrt(double x) {
        return Math.sqrt(x);
    }

    public static double reciprocal(double x) {
        return 1 / x;
    }

    public static double exp(double x) {
        return Math.exp(x);
    }

    public static double log(double x) {
        return Math.log(x);
    }

    public static double sin(double x) {
        return Math.sin(x);
    }

    public static double cos(double x) {
        return Math.cos(x);
    }

    public static double tanh(double x) {
        return Math.tanh(x);
    }

    /** 1 / (1 + e^-x), evaluated on the side that cannot overflow. */
    public static double sigmoid(double x) {
        if (x >= 0) {
            return 1 / (1 + Math.exp(-x));
        }
        double e = Math.exp(x);
        return e / (1 + e);
    }

    public static double floor(double x) {
        return Math.floor(x);
    }

    public static double ceil(double x) {
        return Math.ceil(x);
    }

    /** Half to even, as ONNX Round. */
    public static double round(double x) {
        return Math.rint(x);
    }

    public static double silu(double x) {
        return x * sigmoid(x);
    }

    /** GPT-2's tanh approximation of GELU. */
    public static double geluTanh(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }
}
