package dev.tokc.ir.interp;

import dev.tokc.ir.DType;
import dev.tokc.ir.FloatFormats;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.Tensor;

/**
 * Elementwise primitive ops with numpy broadcasting: binary arithmetic, comparisons and logic, Pow, the unary math
 * functions, Cast and Where. Float operands are computed in double and rounded to the result dtype once; integer
 * operands in 64-bit two's complement and wrapped to the result width (so i32 overflow wraps as in C).
 */
final class ElementwiseOps {
    private ElementwiseOps() {}

    static Tensor binary(PrimitiveOp.Binary op, DType resultType, Tensor a, Tensor b) {
        long[] shape = Tensors.broadcastShape(a.shape(), b.shape());
        int[] ia = Tensors.broadcastIndex(shape, a.shape());
        int[] ib = Tensors.broadcastIndex(shape, b.shape());
        int n = ia.length;
        boolean compare = op instanceof PrimitiveOp.Compare;
        if (a.isFloat()) {
            double[] x = a.doubles();
            double[] y = b.doubles();
            if (compare) {
                long[] out = new long[n];
                for (int i = 0; i < n; i++) {
                    out[i] = compareFloat(op, x[ia[i]], y[ib[i]]) ? 1 : 0;
                }
                return Tensor.ofLongs(resultType, shape, out);
            }
            double[] out = new double[n];
            for (int i = 0; i < n; i++) {
                out[i] = floatBinary(op, x[ia[i]], y[ib[i]]);
            }
            return Tensor.ofDoubles(resultType, shape, out);
        }
        long[] x = a.longs();
        long[] y = b.longs();
        boolean unsigned = a.dtype() == DType.U64;
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = compare ? (compareInt(op, x[ia[i]], y[ib[i]], unsigned) ? 1 : 0) : intBinary(op, x[ia[i]], y[ib[i]], unsigned);
        }
        return Tensor.ofLongs(resultType, shape, out);
    }

    private static double floatBinary(PrimitiveOp.Binary op, double x, double y) {
        return switch (op) {
            case PrimitiveOp.Add o -> x + y;
            case PrimitiveOp.Sub o -> x - y;
            case PrimitiveOp.Mul o -> x * y;
            case PrimitiveOp.Div o -> x / y;
            case PrimitiveOp.Max o -> Math.max(x, y);
            case PrimitiveOp.Min o -> Math.min(x, y);
            // Java's % on doubles is C fmod; the Python form takes the divisor's sign.
            case PrimitiveOp.Mod o -> o.fmod() ? x % y : pythonMod(x, y);
            default -> throw new IllegalArgumentException(op.name() + " is not defined on floats");
        };
    }

    private static double pythonMod(double x, double y) {
        double r = x % y;
        return r != 0 && (r < 0) != (y < 0) ? r + y : r;
    }

    private static long intBinary(PrimitiveOp.Binary op, long x, long y, boolean unsigned) {
        return switch (op) {
            case PrimitiveOp.Add o -> x + y;
            case PrimitiveOp.Sub o -> x - y;
            case PrimitiveOp.Mul o -> x * y;
            case PrimitiveOp.Div o -> {
                checkDivisor(y);
                yield unsigned ? Long.divideUnsigned(x, y) : x / y; // truncates toward zero
            }
            case PrimitiveOp.Max o -> (unsigned ? Long.compareUnsigned(x, y) : Long.compare(x, y)) >= 0 ? x : y;
            case PrimitiveOp.Min o -> (unsigned ? Long.compareUnsigned(x, y) : Long.compare(x, y)) <= 0 ? x : y;
            case PrimitiveOp.Mod o -> {
                checkDivisor(y);
                if (unsigned) {
                    yield Long.remainderUnsigned(x, y);
                }
                yield o.fmod() ? x % y : Math.floorMod(x, y);
            }
            case PrimitiveOp.And o -> x & y;
            case PrimitiveOp.Or o -> x | y;
            case PrimitiveOp.Xor o -> x ^ y;
            default -> throw new IllegalStateException("not an arithmetic op: " + op.name());
        };
    }

    private static void checkDivisor(long y) {
        if (y == 0) {
            throw new IllegalArgumentException("integer division by zero");
        }
    }

    private static boolean compareFloat(PrimitiveOp.Binary op, double x, double y) {
        return switch (op) {
            case PrimitiveOp.Equal o -> x == y;
            case PrimitiveOp.Greater o -> x > y;
            case PrimitiveOp.GreaterOrEqual o -> x >= y;
            case PrimitiveOp.Less o -> x < y;
            case PrimitiveOp.LessOrEqual o -> x <= y;
            default -> throw new IllegalStateException("not a comparison: " + op.name());
        };
    }

    private static boolean compareInt(PrimitiveOp.Binary op, long x, long y, boolean unsigned) {
        int c = unsigned ? Long.compareUnsigned(x, y) : Long.compare(x, y);
        return switch (op) {
            case PrimitiveOp.Equal o -> c == 0;
            case PrimitiveOp.Greater o -> c > 0;
            case PrimitiveOp.GreaterOrEqual o -> c >= 0;
            case PrimitiveOp.Less o -> c < 0;
            case PrimitiveOp.LessOrEqual o -> c <= 0;
            default -> throw new IllegalStateException("not a comparison: " + op.name());
        };
    }

    /** base ^ exponent; integer bases with a non-negative integral exponent use exact repeated multiplication. */
    static Tensor pow(Tensor base, Tensor exponent) {
        long[] shape = Tensors.broadcastShape(base.shape(), exponent.shape());
        int[] ia = Tensors.broadcastIndex(shape, base.shape());
        int[] ib = Tensors.broadcastIndex(shape, exponent.shape());
        int n = ia.length;
        if (base.isFloat()) {
            double[] out = new double[n];
            for (int i = 0; i < n; i++) {
                out[i] = Math.pow(base.getDouble(ia[i]), exponent.getDouble(ib[i]));
            }
            return Tensor.ofDoubles(base.dtype(), shape, out);
        }
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            long b = base.getLong(ia[i]);
            double e = exponent.getDouble(ib[i]);
            if (e >= 0 && e == Math.rint(e)) {
                out[i] = integerPower(b, (long) e);
            } else {
                out[i] = (long) Math.pow(b, e);
            }
        }
        return Tensor.ofLongs(base.dtype(), shape, out);
    }

    /** b^e by squaring, wrapping like repeated 64-bit multiplication would. */
    private static long integerPower(long b, long e) {
        long r = 1;
        for (long base = b; e > 0; e >>= 1, base *= base) {
            if ((e & 1) == 1) {
                r *= base;
            }
        }
        return r;
    }

    static Tensor unary(PrimitiveOp.Unary op, DType resultType, Tensor x) {
        long[] shape = x.shape();
        int n = x.size();
        if (op instanceof PrimitiveOp.IsNaN || op instanceof PrimitiveOp.IsInf) {
            double[] d = x.doubles();
            long[] out = new long[n];
            for (int i = 0; i < n; i++) {
                out[i] = switch (op) {
                    case PrimitiveOp.IsNaN o -> Double.isNaN(d[i]) ? 1 : 0;
                    case PrimitiveOp.IsInf o -> (o.detectPositive() && d[i] == Double.POSITIVE_INFINITY)
                            || (o.detectNegative() && d[i] == Double.NEGATIVE_INFINITY) ? 1 : 0;
                    default -> throw new IllegalStateException();
                };
            }
            return Tensor.ofLongs(resultType, shape, out);
        }
        if (x.isFloat()) {
            double[] d = x.doubles();
            double[] out = new double[n];
            for (int i = 0; i < n; i++) {
                out[i] = floatUnary(op, d[i]);
            }
            return Tensor.ofDoubles(resultType, shape, out);
        }
        long[] l = x.longs();
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = switch (op) {
                case PrimitiveOp.Neg o -> -l[i];
                case PrimitiveOp.Abs o -> Math.abs(l[i]);
                case PrimitiveOp.Sign o -> Long.signum(l[i]);
                case PrimitiveOp.Relu o -> Math.max(l[i], 0);
                case PrimitiveOp.Not o -> l[i] == 0 ? 1 : 0;
                default -> throw new IllegalArgumentException(op.name() + " is not defined on " + x.dtype());
            };
        }
        return Tensor.ofLongs(resultType, shape, out);
    }

    private static double floatUnary(PrimitiveOp.Unary op, double v) {
        return switch (op) {
            case PrimitiveOp.Neg o -> -v;
            case PrimitiveOp.Abs o -> Math.abs(v);
            case PrimitiveOp.Sign o -> Double.isNaN(v) ? v : Math.signum(v);
            case PrimitiveOp.Relu o -> v > 0 ? v : (Double.isNaN(v) ? v : 0.0);
            case PrimitiveOp.Sqrt o -> Math.sqrt(v);
            case PrimitiveOp.Reciprocal o -> 1 / v;
            case PrimitiveOp.Exp o -> Math.exp(v);
            case PrimitiveOp.Log o -> Math.log(v);
            case PrimitiveOp.Sin o -> Math.sin(v);
            case PrimitiveOp.Cos o -> Math.cos(v);
            case PrimitiveOp.Tanh o -> Math.tanh(v);
            case PrimitiveOp.Sigmoid o -> ScalarMath.sigmoid(v);
            case PrimitiveOp.Erf o -> ScalarMath.erf(v);
            case PrimitiveOp.Floor o -> Math.floor(v);
            case PrimitiveOp.Ceil o -> Math.ceil(v);
            case PrimitiveOp.Round o -> Math.rint(v); // half to even
            default -> throw new IllegalArgumentException(op.name() + " is not defined on floats");
        };
    }

    /**
     * ONNX Cast. Float to integer truncates toward zero and wraps to the target width (NaN becomes 0); anything to
     * bool is "not zero" (NaN is true); to a float type as {@link FloatFormats#cast}: round to nearest even, to fp8
     * with {@code saturate} clamping out-of-range values and infinities instead of giving NaN/inf, to fp8 e8m0 by
     * the cast's round mode.
     */
    static Tensor cast(PrimitiveOp.Cast c, Tensor x) {
        DType to = c.to();
        long[] shape = x.shape();
        int n = x.size();
        if (to.isFloat()) {
            double[] out = new double[n];
            for (int i = 0; i < n; i++) {
                double v = x.isFloat() ? x.getDouble(i) : intToDouble(x.dtype(), x.getLong(i));
                out[i] = FloatFormats.cast(to, v, c.saturate(), c.roundMode());
            }
            return Tensor.ofDoubles(to, shape, out);
        }
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            if (x.isFloat()) {
                double v = x.getDouble(i);
                out[i] = to.isBool() ? (v != 0 ? 1 : 0) : (long) v;
            } else {
                long v = x.getLong(i);
                out[i] = to.isBool() ? (v != 0 ? 1 : 0) : v;
            }
        }
        return Tensor.ofLongs(to, shape, out);
    }

    private static double intToDouble(DType from, long v) {
        if (from == DType.U64 && v < 0) {
            return Double.parseDouble(Long.toUnsignedString(v)); // u64 above 2^63 is stored negative
        }
        return v;
    }

    /** cond ? x : y with all three broadcast together. */
    static Tensor where(Tensor cond, Tensor x, Tensor y) {
        long[] shape = Tensors.broadcastShape(cond.shape(), x.shape(), y.shape());
        int[] ic = Tensors.broadcastIndex(shape, cond.shape());
        int[] ix = Tensors.broadcastIndex(shape, x.shape());
        int[] iy = Tensors.broadcastIndex(shape, y.shape());
        long[] c = cond.longs();
        int n = ic.length;
        if (x.isFloat()) {
            double[] out = new double[n];
            for (int i = 0; i < n; i++) {
                out[i] = c[ic[i]] != 0 ? x.doubles()[ix[i]] : y.doubles()[iy[i]];
            }
            return Tensor.ofDoubles(x.dtype(), shape, out);
        }
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = c[ic[i]] != 0 ? x.longs()[ix[i]] : y.longs()[iy[i]];
        }
        return Tensor.ofLongs(x.dtype(), shape, out);
    }
}
