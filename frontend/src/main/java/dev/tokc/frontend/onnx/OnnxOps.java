package dev.tokc.frontend.onnx;

import dev.tokc.frontend.ModelFormatException;
import dev.tokc.frontend.onnx.proto.NodeProto;
import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.FloatFormats;
import dev.tokc.ir.GraphBuilder;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.Op;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.Shape;
import dev.tokc.ir.SymbolicValues;
import dev.tokc.ir.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The ONNX op table: one entry per ONNX op type (default domain), mapping a node to IR nodes with that op's
 * semantics at the model's opset. Simple one-to-one ops are one line each; ops whose operands moved between
 * attributes and inputs across opsets (Squeeze, ReduceMean, Split, Slice, ...) read both forms.
 */
final class OnnxOps {
    private OnnxOps() {}

    @FunctionalInterface
    interface Mapper {
        List<Node> map(OnnxImporter ctx, NodeProto node);
    }

    private static final Map<String, Mapper> TABLE = new HashMap<>();

    private static void elementwise(String onnx, Supplier<Op> op) {
        TABLE.put(onnx, (c, n) -> List.of(c.builder().op(op.get(), inputs(c, n))));
    }

    static {
        // Elementwise, one IR op each (variadic Max/Min/Sum fold left).
        elementwise("Add", PrimitiveOp.Add::new);
        elementwise("Sub", PrimitiveOp.Sub::new);
        elementwise("Mul", PrimitiveOp.Mul::new);
        elementwise("Div", PrimitiveOp.Div::new);
        elementwise("Pow", PrimitiveOp.Pow::new);
        elementwise("And", PrimitiveOp.And::new);
        elementwise("Or", PrimitiveOp.Or::new);
        elementwise("Xor", PrimitiveOp.Xor::new);
        elementwise("Equal", PrimitiveOp.Equal::new);
        elementwise("Greater", PrimitiveOp.Greater::new);
        elementwise("GreaterOrEqual", PrimitiveOp.GreaterOrEqual::new);
        elementwise("Less", PrimitiveOp.Less::new);
        elementwise("LessOrEqual", PrimitiveOp.LessOrEqual::new);
        elementwise("Neg", PrimitiveOp.Neg::new);
        elementwise("Abs", PrimitiveOp.Abs::new);
        elementwise("Sign", PrimitiveOp.Sign::new);
        elementwise("Relu", PrimitiveOp.Relu::new);
        elementwise("Sqrt", PrimitiveOp.Sqrt::new);
        elementwise("Reciprocal", PrimitiveOp.Reciprocal::new);
        elementwise("Exp", PrimitiveOp.Exp::new);
        elementwise("Log", PrimitiveOp.Log::new);
        elementwise("Sin", PrimitiveOp.Sin::new);
        elementwise("Cos", PrimitiveOp.Cos::new);
        elementwise("Tanh", PrimitiveOp.Tanh::new);
        elementwise("Sigmoid", PrimitiveOp.Sigmoid::new);
        elementwise("Erf", PrimitiveOp.Erf::new);
        elementwise("Floor", PrimitiveOp.Floor::new);
        elementwise("Ceil", PrimitiveOp.Ceil::new);
        elementwise("Round", PrimitiveOp.Round::new);
        elementwise("Not", PrimitiveOp.Not::new);
        elementwise("IsNaN", PrimitiveOp.IsNaN::new);
        elementwise("Where", PrimitiveOp.Where::new);
        elementwise("MatMul", PrimitiveOp.MatMul::new);
        TABLE.put("Max", (c, n) -> List.of(foldLeft(c, n, PrimitiveOp.Max::new)));
        TABLE.put("Min", (c, n) -> List.of(foldLeft(c, n, PrimitiveOp.Min::new)));
        TABLE.put("Sum", (c, n) -> List.of(foldLeft(c, n, PrimitiveOp.Add::new)));
        TABLE.put("Mod", (c, n) -> List.of(c.builder().op(new PrimitiveOp.Mod(c.attrInt(n, "fmod", 0) != 0), inputs(c, n))));
        TABLE.put("IsInf", (c, n) -> List.of(c.builder().op(new PrimitiveOp.IsInf(
                c.attrInt(n, "detect_positive", 1) != 0, c.attrInt(n, "detect_negative", 1) != 0), inputs(c, n))));
        TABLE.put("Identity", (c, n) -> List.of(c.requiredInput(n, 0)));
        TABLE.put("Dropout", (c, n) -> List.of(c.requiredInput(n, 0))); // inference: identity (mask output unsupported)
        TABLE.put("Cast", OnnxOps::cast);
        TABLE.put("CastLike", (c, n) -> List.of(c.builder().op(castOp(c, n, c.requiredInput(n, 1).dtype()),
                c.requiredInput(n, 0))));
        TABLE.put("Gemm", (c, n) -> List.of(c.builder().op(new PrimitiveOp.Gemm(c.attrFloat(n, "alpha", 1.0),
                c.attrFloat(n, "beta", 1.0), c.attrInt(n, "transA", 0) != 0, c.attrInt(n, "transB", 0) != 0), inputs(c, n))));

        // Reductions: axes are an attribute before opset 18 (13 for ReduceSum), an input after.
        TABLE.put("ReduceMean", (c, n) -> reduce(c, n, 18, PrimitiveOp.ReduceMean::new));
        TABLE.put("ReduceSum", (c, n) -> reduce(c, n, 13, PrimitiveOp.ReduceSum::new));
        TABLE.put("ReduceMax", (c, n) -> reduce(c, n, 18, PrimitiveOp.ReduceMax::new));
        TABLE.put("ReduceMin", (c, n) -> reduce(c, n, 18, PrimitiveOp.ReduceMin::new));
        TABLE.put("Softmax", (c, n) -> softmax(c, n, false));
        TABLE.put("LogSoftmax", (c, n) -> softmax(c, n, true));
        TABLE.put("CumSum", (c, n) -> List.of(c.builder().op(new PrimitiveOp.CumSum(
                c.constantInts(n, 1).orElseThrow()[0], c.attrInt(n, "exclusive", 0) != 0, c.attrInt(n, "reverse", 0) != 0),
                c.requiredInput(n, 0))));

        // Shapes and data movement.
        TABLE.put("Shape", OnnxOps::shape);
        TABLE.put("Reshape", (c, n) -> List.of(c.builder().op(new PrimitiveOp.Reshape(c.attrInt(n, "allowzero", 0) != 0),
                c.requiredInput(n, 0), c.requiredInput(n, 1))));
        TABLE.put("Flatten", OnnxOps::flatten);
        TABLE.put("Transpose", OnnxOps::transpose);
        TABLE.put("Concat", (c, n) -> List.of(c.builder().op(new PrimitiveOp.Concat(c.attrInt(n, "axis", 0)), inputs(c, n))));
        TABLE.put("Split", OnnxOps::split);
        TABLE.put("Slice", OnnxOps::slice);
        TABLE.put("Gather", (c, n) -> List.of(c.builder().op(new PrimitiveOp.Gather(c.attrInt(n, "axis", 0)), inputs(c, n))));
        TABLE.put("GatherND", (c, n) -> List.of(c.builder().op(new PrimitiveOp.GatherND(c.attrInt(n, "batch_dims", 0)), inputs(c, n))));
        TABLE.put("Expand", (c, n) -> List.of(c.builder().op(new PrimitiveOp.Expand(), inputs(c, n))));
        TABLE.put("Tile", (c, n) -> List.of(c.builder().op(new PrimitiveOp.Tile(), inputs(c, n))));
        TABLE.put("Squeeze", (c, n) -> List.of(c.builder().op(new PrimitiveOp.Squeeze(axes(c, n, 13)), c.requiredInput(n, 0))));
        TABLE.put("Unsqueeze", (c, n) -> List.of(c.builder().op(new PrimitiveOp.Unsqueeze(axes(c, n, 13)), c.requiredInput(n, 0))));
        TABLE.put("Range", (c, n) -> List.of(c.builder().op(new PrimitiveOp.Range(), inputs(c, n))));
        TABLE.put("ConstantOfShape", OnnxOps::constantOfShape);
        TABLE.put("Trilu", (c, n) -> List.of(c.builder().op(new PrimitiveOp.Trilu(c.attrInt(n, "upper", 1) != 0,
                c.constantInts(n, 1).map(k -> k[0]).orElse(0L)), c.requiredInput(n, 0))));
        TABLE.put("Constant", OnnxOps::constant);
        TABLE.put("Size", OnnxOps::size);
        TABLE.put("GatherElements", OnnxOps::gatherElements);
        TABLE.put("Pad", OnnxOps::pad);

        // Ops that are model-level in the IR.
        TABLE.put("LayerNormalization", OnnxOps::layerNorm);
        TABLE.put("RMSNormalization", OnnxOps::rmsNorm);
        TABLE.put("RotaryEmbedding", OnnxOps::rotaryEmbedding);
        TABLE.put("Attention", OnnxAttention::map);
        TABLE.put("Gelu", (c, n) -> List.of(c.builder().op(new ModelOp.Gelu(c.attrString(n, "approximate", "none").equals("tanh")),
                c.requiredInput(n, 0))));
    }

    static List<Node> map(OnnxImporter c, NodeProto n) {
        String domain = OnnxModel.normalizeDomain(n.getDomain());
        Mapper m = domain.isEmpty() ? TABLE.get(n.getOpType()) : null;
        if (m == null) {
            throw new ModelFormatException(c.where() + ": unsupported op " + (domain.isEmpty() ? "" : domain + ".")
                    + n.getOpType() + " (tokc maps " + TABLE.size() + " ONNX ops; see docs/onnx-ops.md)");
        }
        return m.map(c, n);
    }

    /** The set of supported ONNX op types (default domain). */
    static java.util.Set<String> supported() {
        return java.util.Collections.unmodifiableSet(TABLE.keySet());
    }

    // ---- mappers that need more than one line ----

    private static List<Node> inputs(OnnxImporter c, NodeProto n) {
        List<Node> in = new ArrayList<>();
        for (int i = 0; i < n.getInputCount(); i++) {
            in.add(c.requiredInput(n, i));
        }
        return in;
    }

    private static Node foldLeft(OnnxImporter c, NodeProto n, Supplier<Op> op) {
        List<Node> in = inputs(c, n);
        Node acc = in.get(0);
        for (int i = 1; i < in.size(); i++) {
            acc = c.builder().op(op.get(), acc, in.get(i));
        }
        return acc;
    }

    private static List<Node> cast(OnnxImporter c, NodeProto n) {
        DType to = OnnxImporter.irDType(OnnxDataType.fromCode((int) c.attrInt(n, "to", 0))
                .orElseThrow(() -> new ModelFormatException(c.where() + ": attribute 'to' is not a known type")), c.where() + " 'to'");
        return List.of(c.builder().op(castOp(c, n, to), c.requiredInput(n, 0)));
    }

    /** Cast to {@code to} with the node's saturate and round_mode (opset 24+: "up", "down" or "nearest"). */
    private static PrimitiveOp.Cast castOp(OnnxImporter c, NodeProto n, DType to) {
        String roundMode = c.attrString(n, "round_mode", "up");
        FloatFormats.E8M0Rounding rounding = switch (roundMode) {
            case "up" -> FloatFormats.E8M0Rounding.UP;
            case "down" -> FloatFormats.E8M0Rounding.DOWN;
            case "nearest" -> FloatFormats.E8M0Rounding.NEAREST;
            default -> throw new ModelFormatException(c.where() + ": round_mode '" + roundMode
                    + "' is not one of up, down, nearest");
        };
        return new PrimitiveOp.Cast(to, c.attrInt(n, "saturate", 1) != 0, rounding);
    }

    interface ReduceFactory {
        Op make(List<Long> axes, boolean keepDims);
    }

    private static List<Node> reduce(OnnxImporter c, NodeProto n, long axesAsInputSince, ReduceFactory f) {
        List<Long> axes = c.opset() >= axesAsInputSince
                ? c.constantInts(n, 1).map(OnnxOps::boxed).orElse(List.of())
                : c.attrInts(n, "axes").orElse(List.of());
        Node x = c.requiredInput(n, 0);
        if (axes.isEmpty() && c.attrInt(n, "noop_with_empty_axes", 0) != 0) {
            return List.of(x);
        }
        return List.of(c.builder().op(f.make(axes, c.attrInt(n, "keepdims", 1) != 0), x));
    }

    private static List<Node> softmax(OnnxImporter c, NodeProto n, boolean log) {
        Node x = c.requiredInput(n, 0);
        GraphBuilder b = c.builder();
        long axis = c.attrInt(n, "axis", c.opset() >= 13 ? -1 : 1);
        if (c.opset() >= 13 || x.rank() == 0) {
            return List.of(b.op(log ? new PrimitiveOp.LogSoftmax(axis) : new PrimitiveOp.Softmax(axis), x));
        }
        // Before opset 13, softmax works on x coerced to 2-D [prod(dims[:axis]), prod(dims[axis:])].
        int ax = Shape.normalizeAxis(axis, x.rank());
        Dim outer = new Shape(x.shape().dims().subList(0, ax)).numElementsDim();
        Dim inner = new Shape(x.shape().dims().subList(ax, x.rank())).numElementsDim();
        Node flat = b.op(new PrimitiveOp.Reshape(false), x, b.dims(outer, inner));
        Node s = b.op(log ? new PrimitiveOp.LogSoftmax(1) : new PrimitiveOp.Softmax(1), flat);
        return List.of(b.op(new PrimitiveOp.Reshape(false), s, b.op(new PrimitiveOp.ShapeOf(0, x.rank()), x)));
    }

    private static List<Node> shape(OnnxImporter c, NodeProto n) {
        Node x = c.requiredInput(n, 0);
        int r = x.rank();
        long start = c.attrInt(n, "start", 0);
        long end = c.attrInt(n, "end", r);
        start = Math.clamp(start < 0 ? start + r : start, 0, r);
        end = Math.clamp(end < 0 ? end + r : end, 0, r);
        return List.of(c.builder().op(new PrimitiveOp.ShapeOf(start, Math.max(start, end)), x));
    }

    private static List<Node> flatten(OnnxImporter c, NodeProto n) {
        Node x = c.requiredInput(n, 0);
        int ax = (int) c.attrInt(n, "axis", 1);
        ax = ax < 0 ? ax + x.rank() : ax;
        Dim outer = new Shape(x.shape().dims().subList(0, ax)).numElementsDim();
        Dim inner = new Shape(x.shape().dims().subList(ax, x.rank())).numElementsDim();
        GraphBuilder b = c.builder();
        return List.of(b.op(new PrimitiveOp.Reshape(false), x, b.dims(outer, inner)));
    }

    private static List<Node> transpose(OnnxImporter c, NodeProto n) {
        Node x = c.requiredInput(n, 0);
        List<Long> perm = c.attrInts(n, "perm").orElseGet(() -> {
            List<Long> p = new ArrayList<>();
            for (int i = x.rank() - 1; i >= 0; i--) {
                p.add((long) i);
            }
            return p;
        });
        return List.of(c.builder().op(new PrimitiveOp.Transpose(perm), x));
    }

    /** Split becomes one Slice per output. Sizes from the 'split' input (opset 13+), attribute, or num_outputs. */
    private static List<Node> split(OnnxImporter c, NodeProto n) {
        Node x = c.requiredInput(n, 0);
        long axis = c.attrInt(n, "axis", 0);
        int ax = Shape.normalizeAxis(axis, x.rank());
        int outputs = n.getOutputCount();
        long[] sizes = c.opset() >= 13 ? c.constantInts(n, 1).orElse(null)
                : c.attrInts(n, "split").map(l -> l.stream().mapToLong(Long::longValue).toArray()).orElse(null);
        GraphBuilder b = c.builder();
        List<Node> out = new ArrayList<>();
        if (sizes != null) {
            long start = 0;
            for (long s : sizes) {
                out.add(slice(b, x, ax, b.i64(start), b.i64(start + s)));
                start += s;
            }
            return out;
        }
        // Equal parts (the last one smaller when not divisible, as opset 18 specifies).
        Dim total = x.shape().dim(ax);
        if (total.isConstant()) {
            long chunk = Math.ceilDiv(total.value(), outputs);
            for (int i = 0; i < outputs; i++) {
                long s = Math.min(i * chunk, total.value());
                out.add(slice(b, x, ax, b.i64(s), b.i64(Math.min(s + chunk, total.value()))));
            }
            return out;
        }
        Dim chunk = total.exactDiv(Dim.of(outputs)).orElseThrow(() -> new ModelFormatException(c.where()
                + ": cannot split dim " + total + " into " + outputs + " equal parts"));
        for (int i = 0; i < outputs; i++) {
            out.add(slice(b, x, ax, b.dims(chunk.times(i)), b.dims(chunk.times(i + 1))));
        }
        return out;
    }

    static Node slice(GraphBuilder b, Node x, int axis, Node start, Node end) {
        return b.op(new PrimitiveOp.Slice(), x, start, end, b.i64(axis), b.i64(1));
    }

    /** Slice: starts/ends/axes/steps as inputs (opset 10+) or attributes; missing axes/steps get their defaults. */
    private static List<Node> slice(OnnxImporter c, NodeProto n) {
        GraphBuilder b = c.builder();
        Node x = c.requiredInput(n, 0);
        Node starts;
        Node ends;
        Node axes;
        Node steps;
        if (c.opset() >= 10) {
            starts = c.requiredInput(n, 1);
            ends = c.requiredInput(n, 2);
            axes = c.input(n, 3);
            steps = c.input(n, 4);
        } else {
            starts = b.i64(longs(c.attrInts(n, "starts").orElseThrow()));
            ends = b.i64(longs(c.attrInts(n, "ends").orElseThrow()));
            axes = c.attrInts(n, "axes").map(a -> b.i64(longs(a))).orElse(null);
            steps = null;
        }
        int count = (int) starts.shape().dim(0).value();
        if (axes == null) {
            long[] a = new long[count];
            for (int i = 0; i < count; i++) {
                a[i] = i;
            }
            axes = b.i64(a);
        }
        if (steps == null) {
            long[] s = new long[count];
            Arrays.fill(s, 1);
            steps = b.i64(s);
        }
        return List.of(b.op(new PrimitiveOp.Slice(), x, toI64(b, starts), toI64(b, ends), toI64(b, axes), toI64(b, steps)));
    }

    static Node toI64(GraphBuilder b, Node n) {
        return n.dtype() == DType.I64 ? n : b.op(new PrimitiveOp.Cast(DType.I64, false), n);
    }

    private static List<Long> axes(OnnxImporter c, NodeProto n, long asInputSince) {
        if (c.opset() >= asInputSince) {
            return c.constantInts(n, 1).map(OnnxOps::boxed).orElse(List.of());
        }
        return c.attrInts(n, "axes").orElse(List.of());
    }

    private static List<Node> constantOfShape(OnnxImporter c, NodeProto n) {
        Tensor value = c.attr(n, "value").isPresent() ? c.attrTensor(n, "value")
                : Tensor.ofDoubles(DType.F32, new long[] {1}, new double[] {0});
        return List.of(c.builder().op(new PrimitiveOp.ConstantOfShape(value.reshape(1)), c.requiredInput(n, 0)));
    }

    private static List<Node> constant(OnnxImporter c, NodeProto n) {
        GraphBuilder b = c.builder();
        if (c.attr(n, "value").isPresent()) {
            return List.of(b.constant(c.attrTensor(n, "value")));
        }
        var f = c.attr(n, "value_float");
        if (f.isPresent()) {
            return List.of(b.constant(Tensor.scalar(DType.F32, f.get().getF())));
        }
        var fs = c.attr(n, "value_floats");
        if (fs.isPresent()) {
            List<Float> l = fs.get().getFloatsList();
            double[] d = new double[l.size()];
            for (int i = 0; i < d.length; i++) {
                d[i] = l.get(i);
            }
            return List.of(b.constant(Tensor.ofDoubles(DType.F32, new long[] {d.length}, d)));
        }
        var i = c.attr(n, "value_int");
        if (i.isPresent()) {
            return List.of(b.constant(Tensor.scalar(DType.I64, i.get().getI())));
        }
        var is = c.attr(n, "value_ints");
        if (is.isPresent()) {
            return List.of(b.i64(longs(is.get().getIntsList())));
        }
        throw new ModelFormatException(c.where() + ": Constant needs one of value, value_float(s), value_int(s)"
                + " (sparse and string constants are not supported)");
    }

    private static List<Node> layerNorm(OnnxImporter c, NodeProto n) {
        List<Node> in = new ArrayList<>();
        in.add(c.requiredInput(n, 0));
        in.add(c.requiredInput(n, 1));
        Node bias = c.input(n, 2);
        if (bias != null) {
            in.add(bias);
        }
        if (c.attrInt(n, "stash_type", 1) != 1) {
            throw new ModelFormatException(c.where() + ": stash_type other than 1 (float) is not supported");
        }
        double eps = c.attrFloat(n, "epsilon", 1e-5);
        long axis = c.attrInt(n, "axis", -1);
        Node y = c.builder().op(new ModelOp.LayerNorm(eps, axis), in);
        // Mean and InvStdDev (outputs 1 and 2, meant for training) in primitive ops, kept dims; they only reach the
        // graph when something uses them.
        GraphBuilder b = c.builder();
        Node x = in.getFirst();
        if (x.dtype() != DType.F32 && x.dtype() != DType.F64) {
            x = b.op(new PrimitiveOp.Cast(DType.F32, false), x); // stash_type 1: statistics in f32
        }
        List<Long> axes = new ArrayList<>();
        for (int a = Shape.normalizeAxis(axis, x.rank()); a < x.rank(); a++) {
            axes.add((long) a);
        }
        Node mean = b.op(new PrimitiveOp.ReduceMean(axes, true), x);
        Node centred = b.op(new PrimitiveOp.Sub(), x, mean);
        Node var = b.op(new PrimitiveOp.ReduceMean(axes, true), b.op(new PrimitiveOp.Mul(), centred, centred));
        Node invStd = b.op(new PrimitiveOp.Reciprocal(), b.op(new PrimitiveOp.Sqrt(),
                b.op(new PrimitiveOp.Add(), var, b.scalar(x.dtype(), eps))));
        return List.of(y, mean, invStd);
    }

    /** Size(x): the element count as an i64 scalar (symbolic when x's shape is). */
    private static List<Node> size(OnnxImporter c, NodeProto n) {
        Node x = c.requiredInput(n, 0);
        Dim count = x.shape().numElementsDim();
        if (count.isUnknown()) {
            throw new ModelFormatException(c.where() + ": the size of " + x.type() + " is only known at run time");
        }
        return List.of(scalarDim(c.builder(), count));
    }

    /** An i64 scalar holding {@code d}: a constant, or a {@code dims} vector reshaped to rank 0. */
    static Node scalarDim(GraphBuilder b, Dim d) {
        if (d.isConstant()) {
            return b.scalarI64(d.value());
        }
        return b.op(new PrimitiveOp.Reshape(false), b.dims(d), b.i64());
    }

    /**
     * GatherElements(data, indices, axis) as a GatherND over full coordinates: coordinate {@code axis} is the index
     * (negative ones counted from the end), every other coordinate k is its own position along dim k.
     */
    private static List<Node> gatherElements(OnnxImporter c, NodeProto n) {
        GraphBuilder b = c.builder();
        Node data = c.requiredInput(n, 0);
        Node idx = toI64(b, c.requiredInput(n, 1));
        int r = data.rank();
        int ax = Shape.normalizeAxis(c.attrInt(n, "axis", 0), r);
        if (idx.rank() != r) {
            throw new ModelFormatException(c.where() + ": indices " + idx.type() + " must have the rank of data " + data.type());
        }
        Node extent = scalarDim(b, data.shape().dim(ax));
        Node zero = b.scalarI64(0);
        Node wrapped = b.op(new PrimitiveOp.Where(), b.op(new PrimitiveOp.Less(), idx, zero),
                b.op(new PrimitiveOp.Add(), idx, extent), idx);
        Node idxShape = b.op(new PrimitiveOp.ShapeOf(0, r), idx);
        List<Node> coords = new ArrayList<>();
        for (int k = 0; k < r; k++) {
            Node coord;
            if (k == ax) {
                coord = wrapped;
            } else {
                Node iota = b.op(new PrimitiveOp.Range(), zero, scalarDim(b, idx.shape().dim(k)), b.scalarI64(1));
                Dim[] along = new Dim[r];
                Arrays.fill(along, Dim.of(1));
                along[k] = Dim.of(-1);
                coord = b.op(new PrimitiveOp.Expand(), b.op(new PrimitiveOp.Reshape(false), iota, b.dims(along)), idxShape);
            }
            coords.add(b.op(new PrimitiveOp.Unsqueeze(List.of(-1L)), coord));
        }
        Node full = b.op(new PrimitiveOp.Concat(-1), coords);
        return List.of(b.op(new PrimitiveOp.GatherND(0), data, full));
    }

    /**
     * Pad in constant mode: per padded axis a block of the pad value is concatenated before and after (negative pads
     * crop with a Slice). pads (opset 11+: an input, before: an attribute) must be constant; the pad value may be
     * computed.
     */
    private static List<Node> pad(OnnxImporter c, NodeProto n) {
        GraphBuilder b = c.builder();
        Node x = c.requiredInput(n, 0);
        String mode = c.attrString(n, "mode", "constant");
        if (!mode.equals("constant")) {
            throw new ModelFormatException(c.where() + ": Pad mode '" + mode + "' is not supported (only constant)");
        }
        int r = x.rank();
        long[] pads = c.opset() >= 11 ? c.constantInts(n, 1).orElseThrow()
                : longs(c.attrInts(n, "pads").orElseThrow(() -> new ModelFormatException(c.where() + ": pads are required")));
        long[] axes;
        if (c.opset() >= 18 && c.input(n, 3) != null) {
            axes = c.constantInts(n, 3).orElseThrow();
        } else {
            axes = new long[r];
            for (int i = 0; i < r; i++) {
                axes[i] = i;
            }
        }
        if (pads.length != 2 * axes.length) {
            throw new ModelFormatException(c.where() + ": " + pads.length + " pads for " + axes.length + " axes");
        }
        Node value = c.opset() >= 11 ? c.input(n, 2) : null;
        if (value == null) {
            value = b.constant(x.dtype().isFloat() ? Tensor.scalar(x.dtype(), c.attrFloat(n, "value", 0))
                    : Tensor.scalar(x.dtype(), 0));
        }
        value = b.op(new PrimitiveOp.Reshape(false), value, b.i64());
        Node y = x;
        for (int i = 0; i < axes.length; i++) {
            int ax = Shape.normalizeAxis(axes[i], r);
            long before = pads[i];
            long after = pads[i + axes.length];
            Dim len = y.shape().dim(ax);
            if (before < 0 || after < 0) {
                Node end = after < 0 ? b.dims(len.plus(after)) : b.dims(len);
                y = slice(b, y, ax, b.i64(Math.max(0, -before)), end);
                before = Math.max(0, before);
                after = Math.max(0, after);
            }
            List<Node> parts = new ArrayList<>();
            if (before > 0) {
                parts.add(b.op(new PrimitiveOp.Expand(), value, b.dims(y.shape().withDim(ax, Dim.of(before)).dims().toArray(Dim[]::new))));
            }
            parts.add(y);
            if (after > 0) {
                parts.add(b.op(new PrimitiveOp.Expand(), value, b.dims(y.shape().withDim(ax, Dim.of(after)).dims().toArray(Dim[]::new))));
            }
            if (parts.size() > 1) {
                y = b.op(new PrimitiveOp.Concat(ax), parts);
            }
        }
        return List.of(y);
    }

    /**
     * RMSNormalization (opset 23) as the model-level RmsNorm. RmsNorm normalises over the last axis with a 1-D
     * weight; for {@code axis} before the last, x is reshaped to {@code [x.shape[:axis], prod(x.shape[axis:])]}, the
     * scale broadcast to {@code x.shape[axis:]} and flattened, and the result reshaped back. {@code stash_type} only
     * sets the precision of the computation, which the IR leaves to the target (f32 or better).
     */
    private static List<Node> rmsNorm(OnnxImporter c, NodeProto n) {
        GraphBuilder b = c.builder();
        Node x = c.requiredInput(n, 0);
        Node w = c.requiredInput(n, 1);
        double eps = c.attrFloat(n, "epsilon", 1e-5);
        int r = x.rank();
        int ax = Shape.normalizeAxis(c.attrInt(n, "axis", -1), r);
        List<Dim> inner = x.shape().dims().subList(ax, r);
        ModelOp.RmsNorm op = new ModelOp.RmsNorm(eps, 0);
        if (ax == r - 1 && w.rank() == 1 && w.shape().dim(0).equals(inner.getFirst())) {
            return List.of(b.op(op, x, w));
        }
        Dim count = new Shape(inner).numElementsDim();
        List<Dim> flat = new ArrayList<>(x.shape().dims().subList(0, ax));
        flat.add(count);
        Node xr = b.op(new PrimitiveOp.Reshape(false), x, b.dims(flat.toArray(Dim[]::new)));
        Node wFull = w.shape().dims().equals(inner) ? w : b.op(new PrimitiveOp.Expand(), w, b.dims(inner.toArray(Dim[]::new)));
        Node wr = b.op(new PrimitiveOp.Reshape(false), wFull, b.dims(count));
        Node y = b.op(op, xr, wr);
        return List.of(b.op(new PrimitiveOp.Reshape(false), y, b.op(new PrimitiveOp.ShapeOf(0, r), x)));
    }

    /**
     * RotaryEmbedding (opset 23) as the model-level Rope in its cache form (x, positions, cos_cache, sin_cache).
     * ONNX's 4-D input is {@code [batch, heads, seq, head_size]} (transposed to the IR's {@code [batch, seq, heads,
     * head_size]} and back); a 3-D input {@code [batch, seq, hidden]} is split into {@code num_heads} heads. Without
     * position_ids the caches are per token ({@code [batch, seq, rot/2]}): they are flattened to a table of
     * {@code batch * seq} rows and the positions become the row numbers. Caches wider than
     * {@code rotary_embedding_dim / 2} are sliced to it.
     */
    private static List<Node> rotaryEmbedding(OnnxImporter c, NodeProto n) {
        GraphBuilder b = c.builder();
        Node x = c.requiredInput(n, 0);
        Node cos = c.requiredInput(n, 1);
        Node sin = c.requiredInput(n, 2);
        Node pos = c.input(n, 3);
        boolean interleaved = c.attrInt(n, "interleaved", 0) != 0;
        Node xi;
        if (x.rank() == 4) {
            xi = b.op(new PrimitiveOp.Transpose(List.of(0L, 2L, 1L, 3L)), x);
        } else if (x.rank() == 3) {
            long heads = c.attrInt(n, "num_heads", 0);
            if (heads <= 0) {
                throw new ModelFormatException(c.where() + ": a 3-D input needs the num_heads attribute");
            }
            xi = b.op(new PrimitiveOp.Reshape(false), x, b.dims(x.shape().dim(0), x.shape().dim(1), Dim.of(heads), Dim.of(-1)));
        } else {
            throw new ModelFormatException(c.where() + ": input must be 3-D or 4-D, got " + x.type());
        }
        Dim batch = xi.shape().dim(0);
        Dim seq = xi.shape().dim(1);
        if (pos == null) {
            // Per-token caches: row (b, s) of the flattened cache is the angle table entry for that token.
            Dim rows = batch.times(seq);
            cos = b.op(new PrimitiveOp.Reshape(false), cos, b.dims(rows, Dim.of(-1)));
            sin = b.op(new PrimitiveOp.Reshape(false), sin, b.dims(rows, Dim.of(-1)));
            Node iota = b.op(new PrimitiveOp.Range(), b.scalarI64(0), scalarDim(b, rows), b.scalarI64(1));
            pos = b.op(new PrimitiveOp.Reshape(false), iota, b.dims(batch, seq));
        }
        long rot = c.attrInt(n, "rotary_embedding_dim", 0);
        if (rot > 0 && !cos.shape().dim(1).equals(Dim.of(rot / 2))) {
            cos = slice(b, cos, 1, b.i64(0), b.i64(rot / 2));
            sin = slice(b, sin, 1, b.i64(0), b.i64(rot / 2));
        }
        Node y = b.op(new ModelOp.Rope(interleaved), xi, toI64(b, pos), cos, sin);
        if (x.rank() == 4) {
            return List.of(b.op(new PrimitiveOp.Transpose(List.of(0L, 2L, 1L, 3L)), y));
        }
        return List.of(b.op(new PrimitiveOp.Reshape(false), y, b.op(new PrimitiveOp.ShapeOf(0, 3), x)));
    }

    private static List<Long> boxed(long[] a) {
        List<Long> l = new ArrayList<>();
        for (long x : a) {
            l.add(x);
        }
        return l;
    }

    private static long[] longs(List<Long> l) {
        return l.stream().mapToLong(Long::longValue).toArray();
    }

}
