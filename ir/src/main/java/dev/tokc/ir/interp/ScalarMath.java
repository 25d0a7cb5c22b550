package dev.tokc.ir.interp;

/**
 * Scalar functions in double precision shared by several ops: a precise erf, the stable sigmoid and the activation
 * functions. Written for accuracy, not speed.
 */
public final class ScalarMath {
    private ScalarMath() {}

    private static final double TWO_OVER_SQRT_PI = 1.1283791670955126;

    /**
     * The error function, absolute error below 4e-16 (checked on a grid against the C library's erf). Below
     * |x| = 1 it sums the everywhere-convergent series
     * {@code erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*...*(2n+1))}, whose terms are all positive
     * (no cancellation, unlike the Taylor series of erf itself). From 1 on, where that series needs many terms and
     * accumulates rounding, it takes {@code 1 - erfc(x)} with erfc from its continued fraction
     * {@code exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + (2/2)/(x + (3/2)/(x + ...))))}, evaluated from the tail; erfc is
     * below 0.16 there, so its own relative error is scaled down in erf. exp(-x^2) is computed from x^2 split exactly
     * into two doubles, since rounding x^2 would cost x^2 ulps.
     */
    public static double erf(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        double a = Math.abs(x);
        if (a >= 6) {
            return Math.copySign(1.0, x); // erfc(6) < 3e-17
        }
        if (a >= 1) {
            double f = a;
            for (int n = 400; n >= 1; n--) {
                f = a + (n / 2.0) / f;
            }
            double erfc = expMinusSquare(a) / Math.sqrt(Math.PI) / f;
            return Math.copySign(1 - erfc, x);
        }
        double x2 = a * a;
        double term = a;
        double sum = a;
        for (int n = 0; n < 200; n++) {
            term *= 2 * x2 / (2 * n + 3);
            sum += term;
            if (term < sum * 1e-17) {
                break;
            }
        }
        return Math.copySign(TWO_OVER_SQRT_PI * expMinusSquare(a) * sum, x);
    }

    /** exp(-a^2) with a^2 = hi + lo exactly (fma), so the rounding of a^2 does not enter. */
    private static double expMinusSquare(double a) {
        double hi = a * a;
        double lo = Math.fma(a, a, -hi);
        return Math.exp(-hi) * (1 - lo);
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
