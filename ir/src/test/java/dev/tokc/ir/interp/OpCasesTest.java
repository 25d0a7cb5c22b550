package dev.tokc.ir.interp;

import static dev.tokc.ir.interp.TestGraphs.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Epilogue;
import dev.tokc.ir.FloatFormats;
import dev.tokc.ir.Graph;
import dev.tokc.ir.KvCacheSpec;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.OpNames;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.QuantFormat;
import dev.tokc.ir.QuantType;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * One or more hand-computed cases per op, as a table: each case is a graph, its inputs and the expected outputs.
 * Being a table is what lets {@link #everyOpIsExercised} check, independently of test order, that every op name
 * in {@link OpNames#all()} appears in some case graph that runs.
 */
class OpCasesTest {
    static final double E = Math.E;

    /** A named graph with inputs, expected outputs and an absolute tolerance. */
    static final class Case {
        final String name;
        final Node[] outputs;
        final Map<String, Tensor> inputs = new LinkedHashMap<>();
        final List<Tensor> expected = new ArrayList<>();
        WeightSource weights = WeightSource.none();
        Supplier<ExecutionContext> context = () -> ExecutionContext.EMPTY;
        double tol;

        Case(String name, Node... outputs) {
            this.name = name;
            this.outputs = outputs;
        }

        Case in(String n, Tensor t) {
            inputs.put(n, t);
            return this;
        }

        Case expect(Tensor t) {
            expected.add(t);
            return this;
        }

        Case tol(double t) {
            tol = t;
            return this;
        }

        Case weights(WeightSource w) {
            weights = w;
            return this;
        }

        Case context(Supplier<ExecutionContext> c) {
            context = c;
            return this;
        }

        Graph graph() {
            return TestGraphs.graph(outputs);
        }

        void run() {
            List<Tensor> out = Interpreter.run(graph(), inputs, weights, context.get());
            assertEquals(expected.size(), out.size(), "outputs");
            for (int i = 0; i < out.size(); i++) {
                assertTensor(expected.get(i), out.get(i), tol);
            }
        }
    }

    static Node cf(long[] shape, double... v) {
        return constant(f32(shape, v));
    }

    static Node cd(long[] shape, double... v) {
        return constant(f64(shape, v));
    }

    static Node ci(long[] shape, long... v) {
        return constant(i64(shape, v));
    }

    static Node cb(long[] shape, long... v) {
        return constant(bool(shape, v));
    }

    static Case c(String name, Node... outputs) {
        return new Case(name, outputs);
    }

    static List<Case> cases() {
        List<Case> l = new ArrayList<>();
        elementwise(l);
        unaryAndCast(l);
        linearAlgebraAndReductions(l);
        shapeOps(l);
        sources(l);
        modelOps(l);
        targetOps(l);
        return l;
    }

    static void elementwise(List<Case> l) {
        l.add(c("add broadcasts [2,1] with [3]", node(new PrimitiveOp.Add(), cf(s(2, 1), 1, 2), cf(s(3), 10, 20, 30)))
                .expect(f32(s(2, 3), 11, 21, 31, 12, 22, 32)));
        l.add(c("add of a 0-sized dim stays empty", node(new PrimitiveOp.Add(), cf(s(0, 3)), cf(s(3), 1, 2, 3)))
                .expect(f32(s(0, 3))));
        l.add(c("sub on i64", node(new PrimitiveOp.Sub(), ci(s(2), 5, -3), ci(s(1), 7))).expect(i64(s(2), -2, -10)));
        l.add(c("sub wraps i32", node(new PrimitiveOp.Sub(), constant(ints(DType.I32, s(1), Integer.MIN_VALUE)),
                constant(ints(DType.I32, s(1), 1)))).expect(ints(DType.I32, s(1), Integer.MAX_VALUE)));
        l.add(c("mul by a scalar", node(new PrimitiveOp.Mul(), cf(s(2, 2), 1, 2, 3, 4), cf(s(), 0.5)))
                .expect(f32(s(2, 2), 0.5, 1, 1.5, 2)));
        l.add(c("div on floats", node(new PrimitiveOp.Div(), cf(s(3), 1, -3, 1), cf(s(3), 2, 2, 0)))
                .expect(f32(s(3), 0.5, -1.5, Double.POSITIVE_INFINITY)));
        l.add(c("div on ints truncates", node(new PrimitiveOp.Div(), ci(s(3), 7, -7, -7), ci(s(3), 2, 2, -2)))
                .expect(i64(s(3), 3, -3, 3)));
        l.add(c("max and min", node(new PrimitiveOp.Max(), cf(s(2), 1, 5), cf(s(1), 3)),
                node(new PrimitiveOp.Min(), ci(s(2), 1, 5), ci(s(), 3)))
                .expect(f32(s(2), 3, 5)).expect(i64(s(2), 1, 3)));
        l.add(c("mod fmod takes the dividend's sign", node(new PrimitiveOp.Mod(true), cd(s(2), 5.5, -5.5), cd(s(1), 2)),
                node(new PrimitiveOp.Mod(true), ci(s(2), -7, 7), ci(s(2), 3, -3)))
                .expect(f64(s(2), 1.5, -1.5)).expect(i64(s(2), -1, 1)));
        l.add(c("mod without fmod takes the divisor's sign", node(new PrimitiveOp.Mod(false), ci(s(2), -7, 7), ci(s(2), 3, -3)),
                node(new PrimitiveOp.Mod(false), cd(s(1), -7.5), cd(s(1), 2)))
                .expect(i64(s(2), 2, -2)).expect(f64(s(1), 0.5)));
        Node p = cb(s(4), 1, 1, 0, 0);
        Node q = cb(s(4), 1, 0, 1, 0);
        l.add(c("and, or, xor", node(new PrimitiveOp.And(), p, q), node(new PrimitiveOp.Or(), p, q), node(new PrimitiveOp.Xor(), p, q))
                .expect(bool(s(4), 1, 0, 0, 0)).expect(bool(s(4), 1, 1, 1, 0)).expect(bool(s(4), 0, 1, 1, 0)));
        Node a = ci(s(3), 1, 2, 3);
        Node two = ci(s(1), 2);
        l.add(c("comparisons", node(new PrimitiveOp.Equal(), cf(s(3), 1, 2, Double.NaN), cf(s(1), 2)),
                node(new PrimitiveOp.Greater(), a, two), node(new PrimitiveOp.GreaterOrEqual(), a, two),
                node(new PrimitiveOp.Less(), a, two), node(new PrimitiveOp.LessOrEqual(), a, two))
                .expect(bool(s(3), 0, 1, 0)).expect(bool(s(3), 0, 0, 1)).expect(bool(s(3), 0, 1, 1))
                .expect(bool(s(3), 1, 0, 0)).expect(bool(s(3), 1, 1, 0)));
        l.add(c("pow on floats and on an integer base", node(new PrimitiveOp.Pow(), cf(s(3), 2, 3, 2), cf(s(3), 2, 2, -1)),
                node(new PrimitiveOp.Pow(), ci(s(2), 2, -3), cf(s(), 3)))
                .expect(f32(s(3), 4, 9, 0.5)).expect(i64(s(2), 8, -27)));
        l.add(c("where broadcasts all three", node(new PrimitiveOp.Where(), cb(s(2, 1), 1, 0), cf(s(3), 1, 2, 3), cf(s(), 9)))
                .expect(f32(s(2, 3), 1, 2, 3, 9, 9, 9)));
    }

    static void unaryAndCast(List<Case> l) {
        l.add(c("neg, abs, sign, relu", node(new PrimitiveOp.Neg(), cf(s(2), 1, -2)), node(new PrimitiveOp.Abs(), ci(s(2), -3, 4)),
                node(new PrimitiveOp.Sign(), cf(s(3), -2, 0, 3)), node(new PrimitiveOp.Relu(), cf(s(2), -1, 2)),
                node(new PrimitiveOp.Neg(), ci(s(1), 3)))
                .expect(f32(s(2), -1, 2)).expect(i64(s(2), 3, 4)).expect(f32(s(3), -1, 0, 1)).expect(f32(s(2), 0, 2))
                .expect(i64(s(1), -3)));
        Node h = cd(s(1), 0.5);
        l.add(c("transcendental functions", node(new PrimitiveOp.Sqrt(), cf(s(2), 4, 2)), node(new PrimitiveOp.Reciprocal(), cf(s(1), 4)),
                node(new PrimitiveOp.Exp(), cd(s(2), 0, 1)), node(new PrimitiveOp.Log(), cd(s(2), 1, E)),
                node(new PrimitiveOp.Sin(), h), node(new PrimitiveOp.Cos(), h), node(new PrimitiveOp.Tanh(), h),
                node(new PrimitiveOp.Sigmoid(), cd(s(3), 0, -1000, 1000)), node(new PrimitiveOp.Erf(), cd(s(3), 0.5, -1, 3)))
                .expect(f32(s(2), 2, Math.sqrt(2))).expect(f32(s(1), 0.25)).expect(f64(s(2), 1, E)).expect(f64(s(2), 0, 1))
                .expect(f64(s(1), Math.sin(0.5))).expect(f64(s(1), Math.cos(0.5))).expect(f64(s(1), Math.tanh(0.5)))
                .expect(f64(s(3), 0.5, 0, 1)).expect(f64(s(3), 0.5204998778130465, -0.8427007929497149, 0.9999779095030014))
                .tol(1e-15));
        l.add(c("floor, ceil, round half to even", node(new PrimitiveOp.Floor(), cf(s(2), -1.5, 1.5)),
                node(new PrimitiveOp.Ceil(), cf(s(2), -1.5, 1.5)), node(new PrimitiveOp.Round(), cf(s(4), 0.5, 1.5, 2.5, -0.5)))
                .expect(f32(s(2), -2, 1)).expect(f32(s(2), -1, 2)).expect(f32(s(4), 0, 2, 2, -0.0)));
        l.add(c("not, is_nan, is_inf", node(new PrimitiveOp.Not(), cb(s(2), 1, 0)),
                node(new PrimitiveOp.IsNaN(), cf(s(2), Double.NaN, 1)),
                node(new PrimitiveOp.IsInf(true, false), cf(s(3), Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 1)),
                node(new PrimitiveOp.IsInf(true, true), cf(s(3), Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 1)))
                .expect(bool(s(2), 0, 1)).expect(bool(s(2), 1, 0)).expect(bool(s(3), 1, 0, 0)).expect(bool(s(3), 1, 1, 0)));
        l.add(c("cast float to int truncates, to bool tests non-zero", node(new PrimitiveOp.Cast(DType.I32, false), cf(s(3), 1.7, -1.7, 3e9)),
                node(new PrimitiveOp.Cast(DType.BOOL, false), cf(s(3), 0, 0.5, Double.NaN)),
                node(new PrimitiveOp.Cast(DType.F32, false), cb(s(2), 1, 0)))
                .expect(ints(DType.I32, s(3), 1, -1, (int) 3_000_000_000L)).expect(bool(s(3), 0, 1, 1)).expect(f32(s(2), 1, 0)));
        l.add(c("cast to fp8 with and without saturation", node(new PrimitiveOp.Cast(DType.FP8E4M3, true), cf(s(4), 500, -1000, 1, Double.POSITIVE_INFINITY)),
                node(new PrimitiveOp.Cast(DType.FP8E4M3, false), cf(s(3), 500, 460, 0.3)),
                node(new PrimitiveOp.Cast(DType.FP8E5M2, true), cf(s(2), 1e6, Double.NEGATIVE_INFINITY)))
                .expect(floats(DType.FP8E4M3, s(4), 448, -448, 1, 448))
                .expect(floats(DType.FP8E4M3, s(3), Double.NaN, 448, 0.3))
                .expect(floats(DType.FP8E5M2, s(2), 57344, -57344)));
        l.add(c("cast to int4 and uint4 wraps", node(new PrimitiveOp.Cast(DType.I4, false), ci(s(3), 7, 8, -9)),
                node(new PrimitiveOp.Cast(DType.U4, false), ci(s(3), 16, 17, -1)))
                .expect(ints(DType.I4, s(3), 7, -8, 7)).expect(ints(DType.U4, s(3), 0, 1, 15)));
        l.add(c("cast to fnuz fp8: no negative zero, one NaN, saturation",
                node(new PrimitiveOp.Cast(DType.FP8E4M3FNUZ, true), cf(s(4), 300, -1e9, Double.POSITIVE_INFINITY, -1e-9)),
                node(new PrimitiveOp.Cast(DType.FP8E4M3FNUZ, false), cf(s(3), 300, Double.NEGATIVE_INFINITY, 0.3)),
                node(new PrimitiveOp.Cast(DType.FP8E5M2FNUZ, false), cf(s(2), 1e6, -3)))
                .expect(floats(DType.FP8E4M3FNUZ, s(4), 240, -240, 240, 0))
                .expect(floats(DType.FP8E4M3FNUZ, s(3), Double.NaN, Double.NaN, 0.3))
                .expect(floats(DType.FP8E5M2FNUZ, s(2), Double.NaN, -3)));
        l.add(c("cast to fp8 e8m0 by round mode",
                node(new PrimitiveOp.Cast(DType.FP8E8M0, true, FloatFormats.E8M0Rounding.UP), cf(s(5), 0, 0.124, 1.1, 3, 3e38)),
                node(new PrimitiveOp.Cast(DType.FP8E8M0, false, FloatFormats.E8M0Rounding.NEAREST), cf(s(4), 0, 3, 2.9, 3e38)),
                node(new PrimitiveOp.Cast(DType.FP8E8M0, true, FloatFormats.E8M0Rounding.DOWN), cf(s(2), 3, 1.9)))
                .expect(floats(DType.FP8E8M0, s(5), 0x1p-127, 0.125, 2, 4, 0x1p127))
                .expect(floats(DType.FP8E8M0, s(4), Double.NaN, 4, 2, Double.NaN))
                .expect(floats(DType.FP8E8M0, s(2), 2, 1)));
        l.add(c("cast to fp4 e2m1 rounds to even and saturates",
                node(new PrimitiveOp.Cast(DType.FP4E2M1, false), cf(s(6), 5, 5.01, -100, Double.POSITIVE_INFINITY, 0.25, Double.NaN)))
                .expect(floats(DType.FP4E2M1, s(6), 4, 6, -6, 6, 0, -0.0)));
        l.add(c("cast to int2 and uint2 wraps", node(new PrimitiveOp.Cast(DType.I2, false), cf(s(3), 1, 2, -3)),
                node(new PrimitiveOp.Cast(DType.U2, false), ci(s(3), 4, 5, -1)))
                .expect(ints(DType.I2, s(3), 1, -2, 1)).expect(ints(DType.U2, s(3), 0, 1, 3)));
        l.add(c("cast int to f16 and f32 to bf16 round to nearest even",
                node(new PrimitiveOp.Cast(DType.F16, false), constant(ints(DType.I32, s(2), 1, 2049))),
                node(new PrimitiveOp.Cast(DType.BF16, false), cf(s(2), 1.00390625, 1.01171875)))
                .expect(floats(DType.F16, s(2), 1, 2048)).expect(floats(DType.BF16, s(2), 1, 1.015625)));
    }

    static void linearAlgebraAndReductions(List<Case> l) {
        Node a23 = cf(s(2, 3), 1, 2, 3, 4, 5, 6);
        l.add(c("matmul 2-D", node(new PrimitiveOp.MatMul(), a23, cf(s(3, 2), 7, 8, 9, 10, 11, 12)))
                .expect(f32(s(2, 2), 58, 64, 139, 154)));
        l.add(c("matmul of a vector drops the promoted dim", node(new PrimitiveOp.MatMul(), cf(s(3), 1, 2, 3), cf(s(3, 2), 7, 8, 9, 10, 11, 12)),
                node(new PrimitiveOp.MatMul(), a23, cf(s(3), 1, 1, 1)))
                .expect(f32(s(2), 58, 64)).expect(f32(s(2), 6, 15)));
        l.add(c("matmul broadcasts batch dims", node(new PrimitiveOp.MatMul(), cf(s(2, 1, 2), 1, 2, 3, 4), cf(s(2, 1), 1, 1)))
                .expect(f32(s(2, 1, 1), 3, 7)));
        l.add(c("matmul with k = 0 gives zeros", node(new PrimitiveOp.MatMul(), cf(s(2, 0)), cf(s(0, 3))))
                .expect(f32(s(2, 3), 0, 0, 0, 0, 0, 0)));
        l.add(c("gemm with transposes, alpha, beta and broadcast C",
                node(new PrimitiveOp.Gemm(2, 10, false, true), a23, cf(s(2, 3), 1, 0, 0, 0, 1, 0), cf(s(2), 1, -1)),
                node(new PrimitiveOp.Gemm(1, 0, true, false), cf(s(3, 2), 1, 4, 2, 5, 3, 6), cf(s(3, 1), 1, 1, 1)))
                .expect(f32(s(2, 2), 12, -6, 18, 0)).expect(f32(s(2, 1), 6, 15)));
        l.add(c("reductions over negative axes, keepdims, all axes",
                node(new PrimitiveOp.ReduceSum(List.of(-1L), false), a23),
                node(new PrimitiveOp.ReduceMean(List.of(0L), true), a23),
                node(new PrimitiveOp.ReduceMax(List.of(), false), a23),
                node(new PrimitiveOp.ReduceMin(List.of(1L), false), ci(s(2, 3), 3, 1, 2, 6, 5, 4)))
                .expect(f32(s(2), 6, 15)).expect(f32(s(1, 3), 2.5, 3.5, 4.5)).expect(f32(s(), 6)).expect(i64(s(2), 1, 4)));
        l.add(c("reductions over an empty extent give the identities",
                node(new PrimitiveOp.ReduceSum(List.of(1L), false), cf(s(2, 0))),
                node(new PrimitiveOp.ReduceMax(List.of(1L), false), cf(s(2, 0))),
                node(new PrimitiveOp.ReduceMin(List.of(), false), constant(ints(DType.I32, s(0)))),
                node(new PrimitiveOp.ReduceMean(List.of(), false), cf(s(0))))
                .expect(f32(s(2), 0, 0)).expect(f32(s(2), Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY))
                .expect(ints(DType.I32, s(), Integer.MAX_VALUE)).expect(f32(s(), Double.NaN)));
        double z = 1 + Math.exp(-1) + Math.exp(-2);
        l.add(c("softmax and log_softmax are stable", node(new PrimitiveOp.Softmax(-1), cd(s(2, 3), 1, 2, 3, 1000, 1000, -1e300)),
                node(new PrimitiveOp.LogSoftmax(0), cd(s(2), 1000, 1000)),
                node(new PrimitiveOp.Softmax(0), cd(s(2, 2), 0, 5, 0, 5)))
                .expect(f64(s(2, 3), Math.exp(-2) / z, Math.exp(-1) / z, 1 / z, 0.5, 0.5, 0))
                .expect(f64(s(2), -Math.log(2), -Math.log(2))).expect(f64(s(2, 2), 0.5, 0.5, 0.5, 0.5)).tol(1e-15));
        Node v = ci(s(3), 1, 2, 3);
        l.add(c("cumsum inclusive, exclusive, reverse", node(new PrimitiveOp.CumSum(0, false, false), v),
                node(new PrimitiveOp.CumSum(0, true, false), v), node(new PrimitiveOp.CumSum(-1, false, true), v),
                node(new PrimitiveOp.CumSum(0, true, true), v), node(new PrimitiveOp.CumSum(-2, false, false), cf(s(2, 2), 1, 2, 3, 4)))
                .expect(i64(s(3), 1, 3, 6)).expect(i64(s(3), 0, 1, 3)).expect(i64(s(3), 6, 5, 3)).expect(i64(s(3), 5, 3, 0))
                .expect(f32(s(2, 2), 1, 2, 4, 6)));
    }

    static void shapeOps(List<Case> l) {
        Node x234 = constant(Tensor.generate(DType.F32, s(2, 3, 4), i -> i));
        l.add(c("shape_of a range of dims", node(new PrimitiveOp.ShapeOf(1, 3), x234)).expect(i64(s(2), 3, 4)));
        l.add(c("reshape with 0 (copy) and -1 (infer)", node(new PrimitiveOp.Reshape(false), x234, vec(0, -1)))
                .expect(Tensor.generate(DType.F32, s(2, 12), i -> i)));
        l.add(c("reshape with allow_zero keeps a 0", node(new PrimitiveOp.Reshape(true), cf(s(0, 2)), vec(3, 0)))
                .expect(f32(s(3, 0))));
        Node a23 = cf(s(2, 3), 1, 2, 3, 4, 5, 6);
        l.add(c("transpose", node(new PrimitiveOp.Transpose(List.of(1L, 0L)), a23)).expect(f32(s(3, 2), 1, 4, 2, 5, 3, 6)));
        l.add(c("concat on a negative axis", node(new PrimitiveOp.Concat(-1), cf(s(2, 1), 1, 2), cf(s(2, 2), 3, 4, 5, 6)))
                .expect(f32(s(2, 3), 1, 3, 4, 2, 5, 6)));
        Node five = ci(s(5), 0, 1, 2, 3, 4);
        Node m34 = constant(Tensor.generate(DType.F32, s(3, 4), i -> i));
        l.add(c("slice with negative step, clamping and several axes",
                node(new PrimitiveOp.Slice(), five, vec(-1), vec(-1000), vec(0), vec(-2)),
                node(new PrimitiveOp.Slice(), five, vec(1), vec(Long.MAX_VALUE), vec(-1), vec(1)),
                node(new PrimitiveOp.Slice(), m34, vec(0, 1), vec(2, 3), vec(1, 0), vec(1, 1)),
                node(new PrimitiveOp.Slice(), five, vec(3), vec(1), vec(0), vec(1)))
                .expect(i64(s(3), 4, 2, 0)).expect(i64(s(4), 1, 2, 3, 4)).expect(f32(s(2, 2), 4, 5, 8, 9)).expect(i64(s(0))));
        l.add(c("slice starting before the beginning with a negative step is empty (ONNX reference = numpy)",
                node(new PrimitiveOp.Slice(), five, vec(-10), vec(-1000), vec(0), vec(-1)),
                node(new PrimitiveOp.Slice(), five, vec(10), vec(-10), vec(0), vec(-1)))
                .expect(i64(s(0))).expect(i64(s(5), 4, 3, 2, 1, 0)));
        l.add(c("transpose of rank 3", node(new PrimitiveOp.Transpose(List.of(2L, 0L, 1L)), x234))
                .expect(Tensor.generate(DType.F32, s(4, 2, 3), f -> (f / 3 % 2) * 12 + (f % 3) * 4 + f / 6)));
        l.add(c("concat with an empty input, tile by zero", node(new PrimitiveOp.Concat(0), cf(s(0, 2)), cf(s(1, 2), 1, 2)),
                node(new PrimitiveOp.Tile(), cf(s(1, 2), 1, 2), vec(0, 1)))
                .expect(f32(s(1, 2), 1, 2)).expect(f32(s(0, 2))));
        Node d32 = cf(s(3, 2), 1, 2, 3, 4, 5, 6);
        l.add(c("gather with negative indices, on the last axis, with a scalar index",
                node(new PrimitiveOp.Gather(0), d32, ci(s(2), -1, 0)),
                node(new PrimitiveOp.Gather(-1), d32, ci(s(1), 1)),
                node(new PrimitiveOp.Gather(0), d32, ci(s(), 1)))
                .expect(f32(s(2, 2), 5, 6, 1, 2)).expect(f32(s(3, 1), 2, 4, 6)).expect(f32(s(2), 3, 4)));
        l.add(c("gather_nd with and without batch dims",
                node(new PrimitiveOp.GatherND(0), cf(s(2, 2), 1, 2, 3, 4), ci(s(2, 2), 0, 0, 1, -1)),
                node(new PrimitiveOp.GatherND(1), constant(Tensor.generate(DType.F32, s(2, 2, 2), i -> i)), ci(s(2, 1), 1, 0)))
                .expect(f32(s(2), 1, 4)).expect(f32(s(2, 2), 2, 3, 4, 5)));
        l.add(c("expand broadcasts both ways", node(new PrimitiveOp.Expand(), cf(s(3, 1), 1, 2, 3), vec(2, 1, 2)))
                .expect(f32(s(2, 3, 2), 1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3)));
        l.add(c("tile", node(new PrimitiveOp.Tile(), cf(s(1, 2), 1, 2), vec(2, 2))).expect(f32(s(2, 4), 1, 2, 1, 2, 1, 2, 1, 2)));
        Node x121 = cf(s(1, 2, 1), 7, 8);
        l.add(c("squeeze all ones or one axis; unsqueeze", node(new PrimitiveOp.Squeeze(List.of()), x121),
                node(new PrimitiveOp.Squeeze(List.of(-1L)), x121), node(new PrimitiveOp.Unsqueeze(List.of(0L, -1L)), cf(s(2), 7, 8)))
                .expect(f32(s(2), 7, 8)).expect(f32(s(1, 2), 7, 8)).expect(f32(s(1, 2, 1), 7, 8)));
        l.add(c("range on ints (up and down) and floats",
                node(new PrimitiveOp.Range(), ci(s(), 1), ci(s(), 10), ci(s(), 3)),
                node(new PrimitiveOp.Range(), ci(s(), 5), ci(s(), 1), ci(s(), -2)),
                node(new PrimitiveOp.Range(), cf(s(), 0), cf(s(), 1), cf(s(), 0.25)))
                .expect(i64(s(3), 1, 4, 7)).expect(i64(s(2), 5, 3)).expect(f32(s(4), 0, 0.25, 0.5, 0.75)));
        l.add(c("constant_of_shape", node(new PrimitiveOp.ConstantOfShape(f32(s(1), 7)), vec(2, 2)))
                .expect(f32(s(2, 2), 7, 7, 7, 7)));
        Node m33 = constant(Tensor.generate(DType.F32, s(3, 3), i -> i + 1));
        l.add(c("trilu upper and lower with diagonal offsets", node(new PrimitiveOp.Trilu(true, 0), m33),
                node(new PrimitiveOp.Trilu(false, -1), m33))
                .expect(f32(s(3, 3), 1, 2, 3, 0, 5, 6, 0, 0, 9)).expect(f32(s(3, 3), 0, 0, 0, 4, 0, 0, 7, 8, 0)));
    }

    static void sources(List<Case> l) {
        Dim batch = Dim.sym("batch");
        Node x = param("x", DType.F32, batch, Dim.of(3));
        Node dims = Node.of(new SourceOp.Dims(List.of(Dim.of(3), batch)));
        l.add(c("dims evaluate from the bound symbols", node(new PrimitiveOp.Reshape(false), x, dims), dims)
                .in("x", f32(s(2, 3), 0, 1, 2, 3, 4, 5))
                .expect(f32(s(3, 2), 0, 1, 2, 3, 4, 5)).expect(i64(s(2), 3, 2)));
        Node w = Node.of(new SourceOp.Weight("w", TensorType.of(DType.F32, 2)));
        l.add(c("weights come from the weight source", node(new PrimitiveOp.Add(), w, cf(s(2), 1, 1)))
                .weights(WeightSource.inMemory().put("w", f32(s(2), 1, 2))).expect(f32(s(2), 2, 3)));
    }

    static void modelOps(List<Case> l) {
        double r = Math.sqrt(12.5);
        l.add(c("rms_norm, also with a weight offset", node(new ModelOp.RmsNorm(0, 0), cd(s(1, 2), 3, 4), cd(s(2), 1, 2)),
                node(new ModelOp.RmsNorm(0, 1), cd(s(1, 2), 3, 4), cd(s(2), 0, 1)))
                .expect(f64(s(1, 2), 3 / r, 8 / r)).expect(f64(s(1, 2), 3 / r, 8 / r)).tol(1e-15));
        double sd = Math.sqrt(1.25);
        l.add(c("layer_norm with bias", node(new ModelOp.LayerNorm(0, -1), cd(s(1, 4), 1, 2, 3, 4), cd(s(4), 1, 1, 1, 2), cd(s(4), 0, 0, 0, 1)),
                node(new ModelOp.LayerNorm(0, 0), cd(s(2), 1, 3), cd(s(1), 1)))
                .expect(f64(s(1, 4), -1.5 / sd, -0.5 / sd, 0.5 / sd, 2 * 1.5 / sd + 1)).expect(f64(s(2), -1, 1)).tol(1e-15));
        Node x = cd(s(1, 1, 1, 4), 1, 2, 3, 4);
        Node pos = ci(s(1, 1), 1);
        Node inv = cf(s(2), 1, 0.5);
        double c1 = Math.cos(1);
        double s1 = Math.sin(1);
        double ch = Math.cos(0.5);
        double sh = Math.sin(0.5);
        l.add(c("rope rotate-half, interleaved, and partial rotary dims",
                node(new ModelOp.Rope(false), x, pos, inv), node(new ModelOp.Rope(true), x, pos, inv),
                node(new ModelOp.Rope(false), x, pos, cf(s(1), 1)))
                .expect(f64(s(1, 1, 1, 4), c1 - 3 * s1, 2 * ch - 4 * sh, 3 * c1 + s1, 4 * ch + 2 * sh))
                .expect(f64(s(1, 1, 1, 4), c1 - 2 * s1, 2 * c1 + s1, 3 * ch - 4 * sh, 4 * ch + 3 * sh))
                .expect(f64(s(1, 1, 1, 4), c1 - 2 * s1, 2 * c1 + s1, 3, 4)).tol(1e-15));
        // The angle is rounded to f32 as in Hugging Face: 100000 * 0.1f is exactly 10000.0f, not 10000.00015.
        l.add(c("rope computes the angle in f32", node(new ModelOp.Rope(false), cd(s(1, 1, 1, 2), 1, 0), ci(s(1, 1), 100000), cf(s(1), 0.1)))
                .expect(f64(s(1, 1, 1, 2), Math.cos(10000.0), Math.sin(10000.0))).tol(1e-15));
        double w0 = E / (E + 1);
        double w1 = 1 / (E + 1);
        Node q = cd(s(1, 1, 1, 2), 1, 0);
        Node k = cd(s(1, 2, 1, 2), 1, 0, 0, 1);
        Node v = cd(s(1, 2, 1, 2), 1, 2, 3, 4);
        l.add(c("attention, unmasked and with an additive mask", node(new ModelOp.Attention(1, 1, false, 1, 0, 0), q, k, v),
                node(new ModelOp.Attention(1, 1, false, 1, 0, 0), q, k, v, cd(s(2), Double.NEGATIVE_INFINITY, 0)))
                .expect(f64(s(1, 1, 1, 2), w0 + 3 * w1, 2 * w0 + 4 * w1)).expect(f64(s(1, 1, 1, 2), 3, 4)).tol(1e-15));
        double sig1 = 1 / (1 + Math.exp(-1));
        double sigm1 = 1 / (1 + Math.exp(1));
        l.add(c("swiglu, silu", node(new ModelOp.Swiglu(), cd(s(2), 1, -1), cd(s(2), 2, 3)), node(new ModelOp.Silu(), cd(s(2), 0, 1)))
                .expect(f64(s(2), 2 * sig1, -3 * sigm1)).expect(f64(s(2), 0, sig1)).tol(1e-15));
        double e0 = Math.exp(1), e1 = Math.exp(3), e2 = Math.exp(2), z = e0 + e1 + e2;
        l.add(c("moe routing keeps the top k, renormalised or not",
                node(new ModelOp.MoeRouting(2, true), cd(s(1, 3), 1, 3, 2)),
                node(new ModelOp.MoeRouting(2, false), cd(s(1, 3), 1, 3, 2)))
                .expect(f64(s(1, 3), 0, e1 / (e1 + e2), e2 / (e1 + e2)))
                .expect(f64(s(1, 3), 0, e1 / z, e2 / z)).tol(1e-15));
        l.add(c("gelu exact and tanh", node(new ModelOp.Gelu(false), cd(s(2), 1, -1)), node(new ModelOp.Gelu(true), cd(s(1), 1)))
                .expect(f64(s(2), 0.8413447460685429, -0.15865525393145707))
                .expect(f64(s(1), 0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * 1.044715)))).tol(1e-15));
        l.add(c("embedding", node(new ModelOp.Embedding(), cf(s(3, 2), 1, 2, 3, 4, 5, 6), ci(s(2, 1), 2, 0)))
                .expect(f32(s(2, 1, 2), 5, 6, 1, 2)));
        l.add(c("linear with bias and with a transposed weight",
                node(new ModelOp.Linear(false), cf(s(1, 2), 1, 2), cf(s(3, 2), 1, 0, 0, 1, 1, 1), cf(s(3), 0, 0, 10)),
                node(new ModelOp.Linear(true), cf(s(1, 2), 1, 2), cf(s(2, 3), 1, 0, 1, 0, 1, 1)))
                .expect(f32(s(1, 3), 1, 2, 13)).expect(f32(s(1, 3), 1, 2, 3)));
    }

    static void targetOps(List<Case> l) {
        Node x = cd(s(1, 1), 1);
        Node w = cd(s(4, 1), 1, 2, 3, 4);
        double silu1 = 1 / (1 + Math.exp(-1));
        double silu2 = 2 / (1 + Math.exp(-2));
        double gelu1 = 0.8413447460685429;
        double gelu2 = 1.9544997361036416;
        l.add(c("fused_linear epilogues", node(new TargetOp.FusedLinear(Epilogue.NONE, true, false), x, w, cd(s(4), 1, 1, 1, 1)),
                node(new TargetOp.FusedLinear(Epilogue.SILU_MUL, false, false), x, w),
                node(new TargetOp.FusedLinear(Epilogue.GELU_MUL, false, false), x, w),
                node(new TargetOp.FusedLinear(Epilogue.GELU, false, true), x, cd(s(1, 2), 1, 2)),
                node(new TargetOp.FusedLinear(Epilogue.GELU_TANH, false, false), x, cd(s(1, 1), 1)),
                node(new TargetOp.FusedLinear(Epilogue.RESIDUAL_ADD, true, false), x, w, cd(s(4), 1, 1, 1, 1), cd(s(1, 4), 10, 20, 30, 40)))
                .expect(f64(s(1, 4), 2, 3, 4, 5)).expect(f64(s(1, 2), silu1 * 3, silu2 * 4)).expect(f64(s(1, 2), gelu1 * 3, gelu2 * 4))
                .expect(f64(s(1, 2), gelu1, gelu2)).expect(f64(s(1, 1), 0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * 1.044715))))
                .expect(f64(s(1, 4), 12, 23, 34, 45)).tol(1e-15));
        double w0 = E / (E + 1);
        double w1 = 1 / (E + 1);
        l.add(c("flash_attention is causal attention", node(new TargetOp.FlashAttention(1, 1, 1, 0, 0),
                cd(s(1, 2, 1, 2), 1, 0, 1, 0), cd(s(1, 2, 1, 2), 1, 0, 0, 1), cd(s(1, 2, 1, 2), 1, 2, 3, 4)))
                .expect(f64(s(1, 2, 1, 2), 1, 2, w0 + 3 * w1, 2 * w0 + 4 * w1)).tol(1e-15));
        KvCacheSpec spec = new KvCacheSpec(1, 1, 2, 2, DType.F32);
        Node kvw = node(new TargetOp.KvWrite(spec, 0), cf(s(3, 1, 2), 1, 0, 0, 1, 1, 1), cf(s(3, 1, 2), 1, 0, 0, 1, 2, 2),
                ci(s(3), 6, 7, 2));
        Node pa = node(new TargetOp.PagedAttention(spec, 0, 1, 1, 0, 0), cf(s(1, 1, 2), 1, 0), kvw,
                constant(ints(DType.I32, s(1, 2), 3, 1)), constant(ints(DType.I32, s(1), 3)), constant(ints(DType.I32, s(2), 0, 1)));
        double z = 2 * E + 1;
        l.add(c("kv_write into scattered blocks, then paged_attention", pa, kvw)
                .context(() -> ExecutionContext.withKvCache(new ReferenceKvCache(spec, 4)))
                .expect(f32(s(1, 1, 2), 3 * E / z, (1 + 2 * E) / z)).expect(i64(s(), 0)).tol(1e-6));
        Node kvr = node(new TargetOp.KvWriteRope(spec, 0, false), cf(s(2, 1, 2), 1, 0, 1, 0), cf(s(2, 1, 2), 1, 0, 0, 1),
                ci(s(2), 0, 1), ci(s(2), 0, 1), cf(s(1), 1));
        Node par = node(new TargetOp.PagedAttention(spec, 0, 1, 1, 0, 0), cf(s(1, 1, 2), 1, 0), kvr,
                constant(ints(DType.I32, s(1, 1), 0)), constant(ints(DType.I32, s(1), 2)), constant(ints(DType.I32, s(2), 0, 1)));
        double ec = Math.exp((float) Math.cos(1));
        l.add(c("kv_write_rope rotates the keys at their positions", par)
                .context(() -> ExecutionContext.withKvCache(new ReferenceKvCache(spec, 4)))
                .expect(f32(s(1, 1, 2), E / (E + ec), ec / (E + ec))).tol(1e-6));
        l.add(c("add_rms_norm normalises the sum", node(new TargetOp.AddRmsNorm(0, 0), cd(s(2), 1, 2), cd(s(2), 2, 2), cd(s(2), 1, 2)))
                .expect(f64(s(2), 3 / Math.sqrt(12.5), 8 / Math.sqrt(12.5))).tol(1e-15));
        l.add(c("elementwise broadcasts and rounds each step",
                node(new TargetOp.Elementwise("add(mul($0, $1), 1.0)"), cd(s(2, 1), 1, 2), cd(s(2), 10, 20)),
                node(new TargetOp.Elementwise("mul(tanh(div($0, 2.0)), 2.0)"), cd(s(1), 1)))
                .expect(f64(s(2, 2), 11, 21, 21, 41)).expect(f64(s(1), 2 * Math.tanh(0.5))).tol(1e-15));
        QuantType int8 = new QuantType(QuantFormat.INT8, 0);
        Node qw = Node.of(new SourceOp.Weight("qw", TensorType.of(int8, 2, 4)));
        l.add(c("quantized_linear dequantizes its packed weight", node(new TargetOp.QuantizedLinear(), cf(s(1, 4), 1, 1, 1, 1), qw, cf(s(2), 0, 1)))
                .weights(WeightSource.inMemory().putQuantized("qw", int8, f32(s(2, 4), 1, 2, 3, 127, -127, 0, 0, 0)))
                .expect(f32(s(1, 2), 133, -126)));
        l.add(c("quantize_activations rounds each row to int8 with its own scale",
                node(new TargetOp.QuantizeActivations(8), cd(s(2, 3), 127, 1.4, -2.6, 0, 0, 0)))
                .expect(f64(s(2, 3), 127, 1, -3, 0, 0, 0)).tol(1e-12));
        Node packed = node(new TargetOp.QuantizeWeight(int8), cf(s(2, 4), 1, 2, 3, 127, -127, 0, 0, 0));
        l.add(c("quantize_weight packs a matrix that quantized_linear reads, with its residual epilogue",
                node(new TargetOp.QuantizedLinear(Epilogue.RESIDUAL_ADD), cf(s(1, 4), 1, 1, 1, 1), packed, cf(s(1, 2), 1, 2)))
                .expect(f32(s(1, 2), 134, -125)));
        Node xs = cf(s(2), 1, 2);
        l.add(c("collectives over one rank", node(new TargetOp.AllReduce(1), xs), node(new TargetOp.AllGather(-1, 1), xs))
                .expect(f32(s(2), 1, 2)).expect(f32(s(2), 1, 2)));
        Node sent = node(new TargetOp.Send(1), xs);
        Node received = Node.of(new TargetOp.Recv(1, TensorType.of(DType.F32, 2)));
        l.add(c("send and recv through a channel", sent, received)
                .context(() -> new ExecutionContext(null, new LoopbackChannel()))
                .expect(f32(s(2), 1, 2)).expect(f32(s(2), 1, 2)));
    }

    /** A channel whose sends to a peer are what that peer's receives return: one process playing both stages. */
    static final class LoopbackChannel implements PipelineChannel {
        private final Map<Integer, Deque<Tensor>> queues = new HashMap<>();

        @Override
        public void send(int peer, Tensor value) {
            queues.computeIfAbsent(peer, k -> new ArrayDeque<>()).add(value);
        }

        @Override
        public Tensor receive(int peer, TensorType type) {
            return queues.get(peer).poll();
        }
    }

    @TestFactory
    Stream<DynamicTest> opCases() {
        return cases().stream().map(k -> DynamicTest.dynamicTest(k.name, k::run));
    }

    @Test
    void everyOpIsExercised() {
        Set<String> seen = new TreeSet<>();
        for (Case k : cases()) {
            for (Node n : k.graph().nodes()) {
                seen.add(n.op().name());
            }
        }
        // Ops whose cases live in other test classes (params are covered by "sources" above).
        Set<String> missing = new TreeSet<>(OpNames.all().keySet());
        missing.removeAll(seen);
        assertTrue(missing.isEmpty(), "ops without an interpreter case: " + missing);
    }
}
