package dev.tokc.ir;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.WeakHashMap;

/**
 * Symbolic evaluation of integer shape computations: the value of an i64 scalar or vector node as a list of
 * {@link Dim}s, when it can be derived from constants, {@code dims} nodes and the (symbolic) shapes of other values
 * through the ops exporters use for shape arithmetic (ShapeOf, Gather, Concat, Slice, (Un)Squeeze, Reshape, Cast,
 * Add/Sub/Mul/Div, Where/Equal on decidable operands, ConstantOfShape, Range). This is what lets a Reshape whose
 * target is computed from {@code Shape(x)} keep {@code batch} and {@code seq} in its result type.
 *
 * <p>Scalars evaluate to a one-element list. Results are cached per node (nodes are immutable and interned).
 */
public final class SymbolicValues {
    private SymbolicValues() {}

    private static final Map<Node, Optional<List<Dim>>> CACHE = Collections.synchronizedMap(new WeakHashMap<>());
    private static final int MAX_ELEMENTS = 64;

    /** The node's value as dims, if it is a small integer tensor of rank <= 1 whose value is derivable. */
    public static Optional<List<Dim>> dims(Node n) {
        if (n.rank() > 1 || !(n.dtype().isInteger() || n.dtype().isBool())) {
            return Optional.empty();
        }
        Optional<List<Dim>> cached = CACHE.get(n);
        if (cached != null) {
            return cached;
        }
        Optional<List<Dim>> v;
        try {
            v = Optional.ofNullable(evaluate(n)).map(List::copyOf);
        } catch (RuntimeException e) {
            v = Optional.empty();
        }
        CACHE.put(n, v);
        return v;
    }

    /** The value of a scalar (or one-element) integer node. */
    public static Optional<Dim> scalar(Node n) {
        return dims(n).filter(d -> d.size() == 1).map(d -> d.get(0));
    }

    /** True when the value is fully known and every element is a constant. */
    public static Optional<long[]> constants(Node n) {
        return dims(n).filter(d -> d.stream().allMatch(Dim::isConstant))
                .map(d -> d.stream().mapToLong(Dim::value).toArray());
    }

    private static List<Dim> evaluate(Node n) {
        Op op = n.op();
        List<Node> in = n.inputs();
        return switch (op) {
            case SourceOp.Constant c -> {
                Tensor t = c.value();
                if (t.size() > MAX_ELEMENTS || t.isFloat()) {
                    yield null;
                }
                List<Dim> out = new ArrayList<>();
                for (int i = 0; i < t.size(); i++) {
                    out.add(Dim.of(t.getLong(i)));
                }
                yield out;
            }
            case SourceOp.Dims d -> d.dims();
            case PrimitiveOp.ShapeOf s -> in.get(0).shape().dims().subList((int) s.start(), (int) s.end());
            case PrimitiveOp.Cast c when c.to().isInteger() -> operand(in.get(0));
            case PrimitiveOp.Reshape r -> operand(in.get(0));
            case PrimitiveOp.Squeeze s -> operand(in.get(0));
            case PrimitiveOp.Unsqueeze u -> operand(in.get(0));
            case PrimitiveOp.Concat c -> {
                List<Dim> out = new ArrayList<>();
                for (Node x : in) {
                    List<Dim> v = operand(x);
                    if (v == null) {
                        yield null;
                    }
                    out.addAll(v);
                }
                yield out;
            }
            case PrimitiveOp.Gather g -> {
                List<Dim> data = operand(in.get(0));
                List<Dim> idx = operand(in.get(1));
                if (data == null || idx == null) {
                    yield null;
                }
                List<Dim> out = new ArrayList<>();
                for (Dim i : idx) {
                    if (!i.isConstant()) {
                        yield null;
                    }
                    long k = i.value() < 0 ? i.value() + data.size() : i.value();
                    out.add(data.get((int) k));
                }
                yield out;
            }
            case PrimitiveOp.Slice s -> {
                List<Dim> data = operand(in.get(0));
                var st = constants(in.get(1));
                var en = constants(in.get(2));
                var sp = constants(in.get(4));
                if (data == null || st.isEmpty() || en.isEmpty() || sp.isEmpty() || st.get().length != 1) {
                    yield null;
                }
                int size = data.size();
                long step = sp.get()[0];
                long len = SliceMath.constantLength(size, st.get()[0], en.get()[0], step);
                long start = st.get()[0] < 0 ? st.get()[0] + size : st.get()[0];
                start = step > 0 ? Math.clamp(start, 0, size) : Math.clamp(start, -1, size - 1);
                List<Dim> out = new ArrayList<>();
                for (long i = 0; i < len; i++) {
                    out.add(data.get((int) (start + i * step)));
                }
                yield out;
            }
            case PrimitiveOp.Add a -> elementwise(in, Dim::plus);
            case PrimitiveOp.Sub s -> elementwise(in, Dim::minus);
            case PrimitiveOp.Mul m -> elementwise(in, Dim::times);
            case PrimitiveOp.Div d -> elementwise(in, (x, y) -> {
                if (x.isConstant() && y.isConstant()) {
                    return Dim.of(x.value() / y.value());
                }
                return x.exactDiv(y).orElse(Dim.UNKNOWN);
            });
            case PrimitiveOp.Max m -> elementwise(in, (x, y) -> x.isConstant() && y.isConstant()
                    ? Dim.of(Math.max(x.value(), y.value())) : Dim.UNKNOWN);
            case PrimitiveOp.Min m -> elementwise(in, (x, y) -> x.isConstant() && y.isConstant()
                    ? Dim.of(Math.min(x.value(), y.value())) : Dim.UNKNOWN);
            case PrimitiveOp.Neg ng -> {
                List<Dim> v = operand(in.get(0));
                yield v == null ? null : v.stream().map(Dim::negate).toList();
            }
            case PrimitiveOp.Equal e -> elementwise(in, (x, y) -> {
                if (x.provablyEqual(y)) {
                    return Dim.of(1);
                }
                return x.mayEqual(y) ? Dim.UNKNOWN : Dim.of(0);
            });
            case PrimitiveOp.Where w -> {
                List<Dim> c = operand(in.get(0));
                List<Dim> x = operand(in.get(1));
                List<Dim> y = operand(in.get(2));
                if (c == null || x == null || y == null) {
                    yield null;
                }
                int len = Math.max(c.size(), Math.max(x.size(), y.size()));
                List<Dim> out = new ArrayList<>();
                for (int i = 0; i < len; i++) {
                    Dim ci = c.get(c.size() == 1 ? 0 : i);
                    if (!ci.isConstant()) {
                        out.add(Dim.UNKNOWN);
                    } else {
                        out.add(ci.value() != 0 ? x.get(x.size() == 1 ? 0 : i) : y.get(y.size() == 1 ? 0 : i));
                    }
                }
                yield out;
            }
            case PrimitiveOp.ConstantOfShape c -> {
                var shape = constants(in.get(0));
                if (shape.isEmpty() || c.value().isFloat() || (shape.get().length == 1 && shape.get()[0] > MAX_ELEMENTS)) {
                    yield null;
                }
                long count = 1;
                for (long s : shape.get()) {
                    count *= s;
                }
                yield Collections.nCopies((int) count, Dim.of(c.value().getLong(0)));
            }
            case PrimitiveOp.Range r -> {
                var start = scalar(in.get(0));
                var limit = scalar(in.get(1));
                var delta = scalar(in.get(2));
                if (start.isEmpty() || limit.isEmpty() || delta.isEmpty() || !start.get().isConstant()
                        || !limit.get().isConstant() || !delta.get().isConstant()) {
                    yield null;
                }
                long s = start.get().value();
                long d = delta.get().value();
                long len = Math.max(0, Math.ceilDiv(limit.get().value() - s, d));
                if (len > MAX_ELEMENTS) {
                    yield null;
                }
                List<Dim> out = new ArrayList<>();
                for (long i = 0; i < len; i++) {
                    out.add(Dim.of(s + i * d));
                }
                yield out;
            }
            default -> null;
        };
    }

    private static List<Dim> operand(Node n) {
        return dims(n).orElse(null);
    }

    private static List<Dim> elementwise(List<Node> in, java.util.function.BinaryOperator<Dim> f) {
        List<Dim> a = operand(in.get(0));
        List<Dim> b = operand(in.get(1));
        if (a == null || b == null || (a.size() != b.size() && a.size() != 1 && b.size() != 1)) {
            return null;
        }
        int len = Math.max(a.size(), b.size());
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < len; i++) {
            out.add(f.apply(a.get(a.size() == 1 ? 0 : i), b.get(b.size() == 1 ? 0 : i)));
        }
        return out;
    }
}
