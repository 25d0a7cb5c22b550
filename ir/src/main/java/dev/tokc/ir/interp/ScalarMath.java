package dev.tokc.ir.interp;

/**
 * Scalar functions in double precision shared by several ops: a precise erf, the stable sigmoid and the activation
 * functions. Written for accuracy, not speed.
 */
public final class ScalarMath {
    private ScalarMath() {}

    private static final double TWO_OVER_SQRT_PI = 1.1283791670955126;

    /**
     * The error function, absolute error about 1e-16. Uses the everywhere-convergent series
     * {@code erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*...*(2n+1))}, whose terms are all positive
     * (no cancellation, unlike the Taylor series of erf itself). Beyond |x| = 6, erf is 1 to double precision.
     */
    public static double erf(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        double a = Math.abs(x);
        if (a >= 6) {
            return Math.copySign(1.0, x);
        }
        double x2 = a * a;
        double term = a;
        double sum = a;
        for (int n = 0; n < 1000; n++) {
            term *= 2 * x2 / (2 * n + 3);
            sum += term;
            if (term < sum * 1e-17) {
                break;
            }
        }
        double r = TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
        return Math.copySign(Math.min(r, 1.0), x);
    }

    /** 1 / (1 + e^-x) without overflow for large |x|. */
    public static double sigmoid(double x) {
        if (x >= 0) {
            return 1 / (1 + Math.exp(-x));
        }
        double e = Math.exp(x);
        return e / (1 + e);
    }

    public static double silu(double x) {
        return x * sigmoid(x);
    }

    /** Exact GELU: x/2 (1 + erf(x / sqrt 2)). */
    public static double gelu(double x) {
        return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
    }

    /** The tanh approximation of GELU (GPT-2 "gelu_new"). */
    public static double geluTanh(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }
}
