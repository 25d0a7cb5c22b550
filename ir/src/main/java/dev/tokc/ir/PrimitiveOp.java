package dev.tokc.ir;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Primitive ops: close to ONNX, with ONNX semantics (numpy broadcasting, negative axes). Where ONNX takes a shape,
 * slice bound or repeat count as a tensor input, so does the IR (the input may be a {@code dims} constant or a
 * shape computation, see {@link SymbolicValues}); where ONNX allows an input but real graphs always give a
 * constant (reduction axes, squeeze axes, cumsum axis), the IR takes an attribute and the importer folds it.
 * Split is not an op: importers emit one {@link Slice} per output.
 */
public sealed interface PrimitiveOp extends Op {

    // ---- elementwise binary (broadcasting, both operands of one dtype) ----

    /** Elementwise ops over broadcast operands of one dtype; the result has that dtype unless stated. */
    sealed interface Binary extends PrimitiveOp {
        @Override
        default TensorType inferType(List<Node> in) {
            Infer.arity(in, 2);
            DType d = Infer.sameDType(in);
            return TensorType.of(resultType(d), Infer.broadcast(in).dims().toArray(Dim[]::new));
        }

        default DType resultType(DType operands) {
            return operands;
        }
    }

    /** Comparisons: bool result. */
    sealed interface Compare extends Binary {
        @Override
        default DType resultType(DType operands) {
            return DType.BOOL;
        }
    }

    record Add() implements Binary {}
    record Sub() implements Binary {}
    record Mul() implements Binary {}
    /** Integer division truncates toward zero (ONNX/C semantics). */
    record Div() implements Binary {}
    record Max() implements Binary {}
    record Min() implements Binary {}
    /** Remainder; {@code fmod} true: sign of the dividend (C fmod), false: sign of the divisor (Python %). */
    record Mod(boolean fmod) implements Binary {}
    record And() implements Binary {}
    record Or() implements Binary {}
    record Xor() implements Binary {}
    record Equal() implements Compare {}
    record Greater() implements Compare {}
    record GreaterOrEqual() implements Compare {}
    record Less() implements Compare {}
    record LessOrEqual() implements Compare {}

    /** base ^ exponent; the exponent may have another numeric dtype (ONNX Pow); the result has the base's. */
    record Pow() implements PrimitiveOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 2);
            return new TensorType(in.get(0).dtype(), Infer.broadcast(in));
        }
    }

    // ---- elementwise unary ----

    /** Elementwise ops of one operand; result dtype = operand dtype unless stated. */
    sealed interface Unary extends PrimitiveOp {
        @Override
        default TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            Node x = in.get(0);
            check(x);
            return x.type().withElementType(resultType(x.dtype()));
        }

        default void check(Node x) {}

        default DType resultType(DType operand) {
            return operand;
        }
    }

    /** Unary math defined on floats only. */
    sealed interface FloatUnary extends Unary {
        @Override
        default void check(Node x) {
            Infer.requireFloat(x, "operand");
        }
    }

    record Neg() implements Unary {}
    record Abs() implements Unary {}
    record Sign() implements Unary {}
    record Relu() implements Unary {}
    record Sqrt() implements FloatUnary {}
    record Reciprocal() implements FloatUnary {}
    record Exp() implements FloatUnary {}
    record Log() implements FloatUnary {}
    record Sin() implements FloatUnary {}
    record Cos() implements FloatUnary {}
    record Tanh() implements FloatUnary {}
    record Sigmoid() implements FloatUnary {}
    record Erf() implements FloatUnary {}
    record Floor() implements FloatUnary {}
    record Ceil() implements FloatUnary {}
    /** Round half to even. */
    record Round() implements FloatUnary {}

    record Not() implements Unary {
        @Override
        public void check(Node x) {
            Infer.requireBool(x, "operand");
        }
    }

    record IsNaN() implements Unary {
        @Override
        public void check(Node x) {
            Infer.requireFloat(x, "operand");
        }

        @Override
        public DType resultType(DType operand) {
            return DType.BOOL;
        }
    }

    record IsInf(boolean detectPositive, boolean detectNegative) implements Unary {
        @Override
        public void check(Node x) {
            Infer.requireFloat(x, "operand");
        }

        @Override
        public DType resultType(DType operand) {
            return DType.BOOL;
        }
    }

    /**
     * Conversion to {@code to}. Float to integer truncates toward zero; out-of-range integer results wrap; with
     * {@code saturate}, float to fp8 clamps to the fp8 range instead of overflowing (ONNX Cast opset 19+);
     * {@code roundMode} is how a conversion to fp8 e8m0 rounds (ONNX Cast opset 24+) and concerns no other target.
     * See {@link FloatFormats#cast}.
     */
    record Cast(DType to, boolean saturate, FloatFormats.E8M0Rounding roundMode) implements Unary {
        /** {@code round_mode} only matters for casts to e8m0; ONNX's default is "up". */
        public static final Map<String, Object> DEFAULTS = Map.of("round_mode", FloatFormats.E8M0Rounding.UP);

        /** A cast with ONNX's default e8m0 rounding, {@link FloatFormats.E8M0Rounding#UP}. */
        public Cast(DType to, boolean saturate) {
            this(to, saturate, FloatFormats.E8M0Rounding.UP);
        }

        @Override
        public DType resultType(DType operand) {
            return to;
        }
    }

    /** cond ? x : y, broadcasting all three; cond is bool, x and y share a dtype. */
    record Where() implements PrimitiveOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 3);
            Infer.requireBool(in.get(0), "condition");
            DType d = Infer.sameDType(in.subList(1, 3));
            return new TensorType(d, Infer.broadcast(in));
        }
    }

    // ---- linear algebra ----

    /** numpy matmul: batch dims broadcast, 1-D operands are promoted and the added dim removed. */
    record MatMul() implements PrimitiveOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 2);
            DType d = Infer.sameDType(in);
            Shape a = in.get(0).shape();
            Shape b = in.get(1).shape();
            if (a.rank() == 0 || b.rank() == 0) {
                throw new IrException("operands must have rank >= 1, got " + a + " and " + b);
            }
            List<Dim> ad = new ArrayList<>(a.dims());
            List<Dim> bd = new ArrayList<>(b.dims());
            boolean aVec = ad.size() == 1;
            boolean bVec = bd.size() == 1;
            if (aVec) {
                ad.addFirst(Dim.of(1));
            }
            if (bVec) {
                bd.add(Dim.of(1));
            }
            Dim k1 = ad.getLast();
            Dim k2 = bd.get(bd.size() - 2);
            Infer.requireDimEqual(k1, k2, "contraction dims differ (" + a + " x " + b + ")");
            Shape batch;
            try {
                batch = Shape.broadcast(new Shape(ad.subList(0, ad.size() - 2)), new Shape(bd.subList(0, bd.size() - 2)));
            } catch (IllegalArgumentException e) {
                throw new IrException("batch dims of " + a + " and " + b + " do not broadcast");
            }
            List<Dim> out = new ArrayList<>(batch.dims());
            if (!aVec) {
                out.add(ad.get(ad.size() - 2));
            }
            if (!bVec) {
                out.add(bd.getLast());
            }
            return new TensorType(d, new Shape(out));
        }
    }

    /** alpha * op(A) @ op(B) + beta * C, A and B 2-D, C (optional third input) broadcast to the result. */
    record Gemm(double alpha, double beta, boolean transA, boolean transB) implements PrimitiveOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 2, 3);
            DType d = Infer.sameDType(in);
            Infer.requireRank(in.get(0), 2, "A");
            Infer.requireRank(in.get(1), 2, "B");
            Shape a = in.get(0).shape();
            Shape b = in.get(1).shape();
            Dim m = transA ? a.dim(1) : a.dim(0);
            Dim ka = transA ? a.dim(0) : a.dim(1);
            Dim kb = transB ? b.dim(1) : b.dim(0);
            Dim n = transB ? b.dim(0) : b.dim(1);
            Infer.requireDimEqual(ka, kb, "contraction dims differ");
            Shape out = Shape.of(m, n);
            if (in.size() == 3) {
                Shape bc;
                try {
                    bc = Shape.broadcast(out, in.get(2).shape());
                } catch (IllegalArgumentException e) {
                    throw new IrException("C " + in.get(2).shape() + " does not broadcast to " + out);
                }
                if (bc.rank() != 2) {
                    throw new IrException("C " + in.get(2).shape() + " does not broadcast to " + out);
                }
            }
            return new TensorType(d, out);
        }
    }

    // ---- reductions and normalisation ----

    /** Reductions over {@code axes} (empty: all axes). */
    sealed interface Reduce extends PrimitiveOp {
        List<Long> axes();

        boolean keepDims();

        @Override
        default TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            Shape s = in.get(0).shape();
            boolean[] reduced = reducedAxes(axes(), s.rank());
            List<Dim> out = new ArrayList<>();
            for (int i = 0; i < s.rank(); i++) {
                if (!reduced[i]) {
                    out.add(s.dim(i));
                } else if (keepDims()) {
                    out.add(Dim.of(1));
                }
            }
            return new TensorType(in.get(0).dtype(), new Shape(out));
        }

        static boolean[] reducedAxes(List<Long> axes, int rank) {
            boolean[] r = new boolean[rank];
            if (axes.isEmpty()) {
                java.util.Arrays.fill(r, true);
            }
            for (long a : axes) {
                int ax = Infer.axis(a, rank);
                if (r[ax]) {
                    throw new IrException("axis " + a + " repeated in reduction axes " + axes);
                }
                r[ax] = true;
            }
            return r;
        }
    }

    record ReduceMean(List<Long> axes, boolean keepDims) implements Reduce {
        public ReduceMean {
            axes = List.copyOf(axes);
        }
    }

    record ReduceSum(List<Long> axes, boolean keepDims) implements Reduce {
        public ReduceSum {
            axes = List.copyOf(axes);
        }
    }

    record ReduceMax(List<Long> axes, boolean keepDims) implements Reduce {
        public ReduceMax {
            axes = List.copyOf(axes);
        }
    }

    record ReduceMin(List<Long> axes, boolean keepDims) implements Reduce {
        public ReduceMin {
            axes = List.copyOf(axes);
        }
    }

    /** Normalisations along one axis that keep the operand's type (softmax and its log). */
    sealed interface AlongAxis extends PrimitiveOp {
        long axis();

        @Override
        default TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            Infer.requireFloat(in.get(0), "operand");
            Infer.axis(axis(), in.get(0).rank());
            return in.get(0).type();
        }
    }

    record Softmax(long axis) implements AlongAxis {}

    /** log(softmax(x)) along {@code axis}. */
    record LogSoftmax(long axis) implements AlongAxis {}

    /** Running sum along {@code axis}. */
    record CumSum(long axis, boolean exclusive, boolean reverse) implements PrimitiveOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            Infer.axis(axis, in.get(0).rank());
            return in.get(0).type();
        }
    }

    // ---- shape and data movement ----

    /** The input's shape (dims start..end-1) as an i64 vector. Bounds are normalised to [0, rank] at import. */
    record ShapeOf(long start, long end) implements PrimitiveOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            int r = in.get(0).rank();
            if (start < 0 || end > r || start > end) {
                throw new IrException("range [" + start + ", " + end + ") is not within rank " + r);
            }
            return TensorType.of(DType.I64, end - start);
        }
    }

    /**
     * Reshape(data, shape): ONNX semantics, one -1 infers a dim, 0 copies the input's dim unless {@code allowZero}.
     */
    record Reshape(boolean allowZero) implements PrimitiveOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 2);
            Shape src = in.get(0).shape();
            List<Dim> target = new ArrayList<>(Infer.shapeOperand(in.get(1), "shape"));
            int inferAt = -1;
            for (int i = 0; i < target.size(); i++) {
                Dim d = target.get(i);
                if (d.isConstant() && d.value() == 0 && !allowZero) {
                    if (i >= src.rank()) {
                        throw new IrException("shape entry " + i + " is 0 (copy) but the input has rank " + src.rank());
                    }
                    target.set(i, src.dim(i));
                } else if (d.isConstant() && d.value() == -1) {
                    if (inferAt >= 0) {
                        throw new IrException("shape has more than one -1");
                    }
                    inferAt = i;
                } else if (d.isConstant() && d.value() < -1) {
                    throw new IrException("shape entry " + i + " is " + d.value());
                }
            }
            Dim total = src.numElementsDim();
            if (inferAt >= 0) {
                Dim known = Dim.of(1);
                for (int i = 0; i < target.size(); i++) {
                    if (i != inferAt) {
                        known = known.times(target.get(i));
                    }
                }
                target.set(inferAt, total.exactDiv(known).orElse(Dim.UNKNOWN));
            } else {
                Dim count = new Shape(target).numElementsDim();
                if (total.isConstant() && count.isConstant() && total.value() != count.value()) {
                    throw new IrException("cannot reshape " + src + " (" + total + " elements) to " + target);
                }
            }
            return new TensorType(in.get(0).type().elementType(), new Shape(target));
        }
    }

    record Transpose(List<Long> perm) implements PrimitiveOp {
        public Transpose {
            perm = List.copyOf(perm);
        }

        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            Shape s = in.get(0).shape();
            if (perm.size() != s.rank()) {
                throw new IrException("perm " + perm + " does not match rank " + s.rank());
            }
            boolean[] seen = new boolean[s.rank()];
            List<Dim> out = new ArrayList<>();
            for (long p : perm) {
                if (p < 0 || p >= s.rank() || seen[(int) p]) {
                    throw new IrException("perm " + perm + " is not a permutation of 0.." + (s.rank() - 1));
                }
                seen[(int) p] = true;
                out.add(s.dim((int) p));
            }
            return new TensorType(in.get(0).type().elementType(), new Shape(out));
        }
    }

    record Concat(long axis) implements PrimitiveOp {
        @Override
        public TensorType inferType(List<Node> in) {
            if (in.isEmpty()) {
                throw new IrException("expects at least one input");
            }
            DType d = Infer.sameDType(in);
            Shape s0 = in.get(0).shape();
            int ax = Infer.axis(axis, s0.rank());
            Dim total = Dim.of(0);
            for (int i = 0; i < in.size(); i++) {
                Shape s = in.get(i).shape();
                if (s.rank() != s0.rank()) {
                    throw new IrException("input " + i + " has rank " + s.rank() + ", input 0 has " + s0.rank());
                }
                for (int j = 0; j < s.rank(); j++) {
                    if (j != ax) {
                        Infer.requireDimEqual(s.dim(j), s0.dim(j), "input " + i + " dim " + j + " differs");
                    }
                }
                total = total.plus(s.dim(ax));
            }
            return new TensorType(d, s0.withDim(ax, total));
        }
    }

    /**
     * Slice(data, starts, ends, axes, steps), all four index inputs 1-D of one length (importers fill ONNX's
     * optional ones). Bounds clamp as in ONNX.
     */
    record Slice() implements PrimitiveOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 5);
            Shape s = in.get(0).shape();
            List<Dim> starts = Infer.shapeOperand(in.get(1), "starts");
            List<Dim> ends = Infer.shapeOperand(in.get(2), "ends");
            List<Dim> axes = Infer.shapeOperand(in.get(3), "axes");
            List<Dim> steps = Infer.shapeOperand(in.get(4), "steps");
            int n = starts.size();
            if (ends.size() != n || axes.size() != n || steps.size() != n) {
                throw new IrException("starts, ends, axes and steps must have one length, got " + n + ", "
                        + ends.size() + ", " + axes.size() + ", " + steps.size());
            }
            List<Dim> out = new ArrayList<>(s.dims());
            for (int i = 0; i < n; i++) {
                if (!axes.get(i).isConstant()) {
                    return new TensorType(in.get(0).type().elementType(), Infer.unknownShape(s.rank()));
                }
                int ax = Infer.axis(axes.get(i).value(), s.rank());
                out.set(ax, SliceMath.length(s.dim(ax), starts.get(i), ends.get(i), steps.get(i)));
            }
            return new TensorType(in.get(0).type().elementType(), new Shape(out));
        }
    }

    /** Gather(data, indices) along {@code axis}: out shape = data[:axis] + indices + data[axis+1:]. */
    record Gather(long axis) implements PrimitiveOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 2);
            Infer.requireInteger(in.get(1), "indices");
            Shape d = in.get(0).shape();
            int ax = Infer.axis(axis, d.rank());
            List<Dim> out = new ArrayList<>(d.dims().subList(0, ax));
            out.addAll(in.get(1).shape().dims());
            out.addAll(d.dims().subList(ax + 1, d.rank()));
            return new TensorType(in.get(0).type().elementType(), new Shape(out));
        }
    }

    /** GatherND(data, indices) with {@code batchDims} leading batch dims (ONNX GatherND). */
    record GatherND(long batchDims) implements PrimitiveOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 2);
            Infer.requireInteger(in.get(1), "indices");
            Shape d = in.get(0).shape();
            Shape idx = in.get(1).shape();
            int b = (int) batchDims;
            if (idx.rank() < 1 || b >= Math.min(d.rank(), idx.rank())) {
                throw new IrException("batch_dims " + b + " too large for data " + d + " and indices " + idx);
            }
            Dim last = idx.dim(idx.rank() - 1);
            if (!last.isConstant()) {
                throw new IrException("the last dim of indices must be static, got " + idx);
            }
            int k = (int) last.value();
            if (k < 1 || b + k > d.rank()) {
                throw new IrException("indices last dim " + k + " exceeds data rank " + d.rank() + " - batch_dims");
            }
            List<Dim> out = new ArrayList<>(idx.dims().subList(0, idx.rank() - 1));
            out.addAll(d.dims().subList(b + k, d.rank()));
            return new TensorType(in.get(0).type().elementType(), new Shape(out));
        }
    }

    /** Expand(x, shape): broadcast x to shape (numpy rules both ways, as ONNX Expand). */
    record Expand() implements PrimitiveOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 2);
            List<Dim> target = Infer.shapeOperand(in.get(1), "shape");
            try {
                return new TensorType(in.get(0).type().elementType(), Shape.broadcast(in.get(0).shape(), new Shape(target)));
            } catch (IllegalArgumentException e) {
                throw new IrException(e.getMessage());
            }
        }
    }

    /** Tile(x, repeats): repeats is a 1-D integer vector of length rank(x). */
    record Tile() implements PrimitiveOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 2);
            Shape s = in.get(0).shape();
            List<Dim> reps = Infer.shapeOperand(in.get(1), "repeats");
            if (reps.size() != s.rank()) {
                throw new IrException("repeats has " + reps.size() + " entries for rank " + s.rank());
            }
            List<Dim> out = new ArrayList<>();
            for (int i = 0; i < s.rank(); i++) {
                out.add(s.dim(i).times(reps.get(i)));
            }
            return new TensorType(in.get(0).type().elementType(), new Shape(out));
        }
    }

    record Squeeze(List<Long> axes) implements PrimitiveOp {
        public Squeeze {
            axes = List.copyOf(axes);
        }

        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            Shape s = in.get(0).shape();
            boolean[] drop = new boolean[s.rank()];
            for (long a : axes) {
                int ax = Infer.axis(a, s.rank());
                if (!s.dim(ax).mayEqual(Dim.of(1))) {
                    throw new IrException("cannot squeeze axis " + a + " of " + s + ": its size is not 1");
                }
                drop[ax] = true;
            }
            List<Dim> out = new ArrayList<>();
            for (int i = 0; i < s.rank(); i++) {
                boolean squeezeAll = axes.isEmpty() && s.dim(i).equals(Dim.of(1));
                if (!drop[i] && !squeezeAll) {
                    out.add(s.dim(i));
                }
            }
            return new TensorType(in.get(0).type().elementType(), new Shape(out));
        }
    }

    record Unsqueeze(List<Long> axes) implements PrimitiveOp {
        public Unsqueeze {
            axes = List.copyOf(axes);
        }

        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            Shape s = in.get(0).shape();
            int rank = s.rank() + axes.size();
            boolean[] added = new boolean[rank];
            for (long a : axes) {
                int ax = Infer.axis(a, rank);
                if (added[ax]) {
                    throw new IrException("axis " + a + " repeated in " + axes);
                }
                added[ax] = true;
            }
            List<Dim> out = new ArrayList<>();
            int j = 0;
            for (int i = 0; i < rank; i++) {
                out.add(added[i] ? Dim.of(1) : s.dim(j++));
            }
            return new TensorType(in.get(0).type().elementType(), new Shape(out));
        }
    }

    /** Range(start, limit, delta): scalars of one dtype; length max(ceil((limit - start) / delta), 0). */
    record Range() implements PrimitiveOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 3);
            DType d = Infer.sameDType(in);
            for (Node n : in) {
                if (n.rank() != 0) {
                    throw new IrException("start, limit and delta must be scalars, got " + n.type());
                }
            }
            Dim len = Dim.UNKNOWN;
            if (d.isInteger()) {
                var start = SymbolicValues.scalar(in.get(0));
                var limit = SymbolicValues.scalar(in.get(1));
                var delta = SymbolicValues.scalar(in.get(2));
                if (start.isPresent() && limit.isPresent() && delta.isPresent() && delta.get().isConstant()) {
                    len = SliceMath.rangeLength(start.get(), limit.get(), delta.get().value());
                }
            }
            return TensorType.of(d, len);
        }
    }

    /** ConstantOfShape(shape): a tensor of that shape filled with {@code value} (a one-element tensor). */
    record ConstantOfShape(Tensor value) implements PrimitiveOp {
        public ConstantOfShape {
            if (value.size() != 1) {
                throw new IrException("constant_of_shape value must have one element, got " + value);
            }
        }

        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            return new TensorType(value.dtype(), new Shape(Infer.shapeOperand(in.get(0), "shape")));
        }
    }

    /** Keeps the upper (or lower) triangle of the last two dims relative to diagonal {@code k}; zeroes the rest. */
    record Trilu(boolean upper, long k) implements PrimitiveOp {
        @Override
        public TensorType inferType(List<Node> in) {
            Infer.arity(in, 1);
            Infer.requireMinRank(in.get(0), 2, "input");
            return in.get(0).type();
        }
    }
}
