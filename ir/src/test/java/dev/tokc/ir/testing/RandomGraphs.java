package dev.tokc.ir.testing;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.ElementType;
import dev.tokc.ir.Epilogue;
import dev.tokc.ir.FloatFormats;
import dev.tokc.ir.Graph;
import dev.tokc.ir.IrException;
import dev.tokc.ir.KvCacheSpec;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.Op;
import dev.tokc.ir.OpNames;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.QuantFormat;
import dev.tokc.ir.QuantType;
import dev.tokc.ir.Shape;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Random well-typed graphs for property tests (text round trip, and any other pass or backend that must accept
 * every op). There is one recipe per op name in {@link #RECIPES}; a recipe builds operands of types the op accepts
 * (fresh params, weights, constants, or values already in the graph) and applies the op with random attributes.
 * A graph of {@code size} ops cycles through every recipe in a seeded shuffled order, so any graph with at least
 * {@link #recipeCount()} ops applies every op; {@code RoundTripTest} asserts that the recipes cover
 * {@code OpNames.all()}, so a new op fails that test until it has a recipe here.
 *
 * <p>Shapes mix constant dims with the symbols {@code batch}, {@code seq} and {@code ctx} (and polynomials of them
 * in {@code dims}); constants of every dtype include NaN, infinities, -0.0 and subnormals; value names mix real
 * names (some all-digit, some with {@code .} and {@code $}) and unnamed values. The graphs also pass the
 * {@link dev.tokc.ir.Verifier}: names are unique, every reachable param is an input, and every symbol a
 * {@code dims} node uses is bound by some input's shape.
 */
public final class RandomGraphs {
    private static final List<Dim> SYMBOLS = List.of(Dim.sym("batch"), Dim.sym("seq"), Dim.sym("ctx"));
    private static final DType[] FLOATS = {DType.F32, DType.F16, DType.BF16, DType.F64};
    private static final DType[] NARROW_FLOATS = {DType.FP8E4M3, DType.FP8E5M2, DType.FP8E4M3FNUZ, DType.FP8E5M2FNUZ,
        DType.FP8E8M0, DType.FP4E2M1};
    private static final DType[] INTEGERS = {DType.I64, DType.I32, DType.I16, DType.I8, DType.U8, DType.U32};
    private static final double[] SPECIAL_DOUBLES = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY,
        -0.0, 0.0, Double.MIN_VALUE, Double.MAX_VALUE, 1e-5, 1e-6, 65504.0, 448.0, 240.0, 6.0, 1.0 / 3, 6e-8, -2.5e-39,
        0x1p-127};

    /**
     * Op name to recipe. Recipes apply exactly that op (making other nodes for its operands as needed). They are
     * declared by op class and named through {@link OpNames#all()}, so renaming an op needs no change here.
     */
    private static final Map<String, Function<RandomGraphs, Node>> RECIPES = byName(recipes());

    private final Random rnd;
    private final List<Node> params = new ArrayList<>();
    private final List<Node> results = new ArrayList<>();
    private int counter;

    private RandomGraphs(long seed) {
        this.rnd = new Random(seed);
    }

    /** A random graph applying {@code size} ops, every op when {@code size >= recipeCount()}; the same per seed. */
    public static Graph graph(long seed, int size) {
        return graph(seed, size, RECIPES.keySet());
    }

    /**
     * A random graph applying {@code size} ops drawn from {@code ops} (op names), for a consumer that supports only
     * some ops. The operands of those ops may still be computed by others: reshape targets by shape_of and concat,
     * paged_attention's token by kv_write, symbolic range limits by squeeze.
     */
    public static Graph graph(long seed, int size, Set<String> ops) {
        RandomGraphs r = new RandomGraphs(seed);
        List<String> order = new ArrayList<>(new TreeSet<>(ops));
        if (order.isEmpty() || !RECIPES.keySet().containsAll(order)) {
            throw new IllegalArgumentException("no recipe for some of " + ops);
        }
        Collections.shuffle(order, r.rnd);
        for (int i = 0; i < size; i++) {
            String op = order.get(i % order.size());
            try {
                RECIPES.get(op).apply(r);
            } catch (IrException e) {
                throw new IllegalStateException("recipe for " + op + " built an ill-typed node (seed " + seed + ")", e);
            }
        }
        return r.finish(seed % 3 == 0 ? "block." + seed + "$" : "g" + seed);
    }

    /** The op names that have recipes: must equal {@code OpNames.all().keySet()}. */
    public static Set<String> recipeOps() {
        return new TreeSet<>(RECIPES.keySet());
    }

    public static int recipeCount() {
        return RECIPES.size();
    }

    /** The names of the ops applied in {@code g}. */
    public static Set<String> opsIn(Graph g) {
        Set<String> ops = new TreeSet<>();
        g.nodes().forEach(n -> ops.add(n.op().name()));
        return ops;
    }

    // ---- assembling the graph ----

    private Graph finish(String name) {
        Set<Node> used = Collections.newSetFromMap(new IdentityHashMap<>());
        results.forEach(n -> used.addAll(n.inputs()));
        List<Node> outputs = new ArrayList<>();
        for (Node n : results) {
            if (!used.contains(n) || rnd.nextInt(8) == 0) {
                outputs.add(n);
            }
        }
        List<Node> inputs = new ArrayList<>(params);
        Set<String> bound = new HashSet<>();
        params.forEach(p -> p.shape().dims().forEach(d -> d.symbol().ifPresent(bound::add)));
        Set<String> needed = new TreeSet<>();
        Graph draft = new Graph(name, inputs, outputs);
        for (Node n : draft.nodes()) {
            if (n.op() instanceof SourceOp.Dims d) {
                d.dims().forEach(dim -> needed.addAll(dim.symbols()));
            }
        }
        needed.removeAll(bound);
        if (!needed.isEmpty()) {
            // A dims node uses a symbol no input's shape binds: add an input that binds it, as an importer would.
            List<Dim> dims = needed.stream().map(Dim::sym).toList();
            inputs.add(param(new TensorType(DType.I64, new Shape(dims))));
        }
        return new Graph(name, inputs, outputs);
    }

    private Node apply(Op op, Node... inputs) {
        Node n = Node.of(op, List.of(inputs), maybeName());
        results.add(n);
        return n;
    }

    private String maybeName() {
        return rnd.nextInt(5) < 2 ? null : realName();
    }

    private String realName() {
        int k = counter++;
        return switch (rnd.nextInt(20)) {
            case 0 -> Integer.toString(k);
            case 1 -> "v." + k + "$";
            default -> "v" + k;
        };
    }

    private Node param(TensorType t) {
        String name = realName();
        String paramName = switch (rnd.nextInt(12)) {
            case 0 -> "input ids \"" + name + "\"";
            default -> name;
        };
        Node p = Node.of(new SourceOp.Param(paramName, t), List.of(), rnd.nextInt(12) == 0 ? null : name);
        params.add(p);
        return p;
    }

    private Node weight(TensorType t) {
        String key = rnd.nextInt(6) == 0 ? "model.\"odd\"\\key\t" + counter++ : "model.layers." + counter++ + ".weight";
        return Node.of(new SourceOp.Weight(key, t), List.of(), maybeName());
    }

    private Node constant(Tensor t) {
        return Node.of(new SourceOp.Constant(t), List.of(), maybeName());
    }

    /** A value of type {@code t}: one already in the graph, or a fresh param, weight or constant. */
    private Node value(TensorType t) {
        if (rnd.nextInt(3) == 0) {
            for (Node n : results) {
                if (n.type().equals(t)) {
                    return n;
                }
            }
        }
        int kind = rnd.nextInt(10);
        if (kind < 2 && t.shape().isStatic() && t.shape().numElements() <= 64 && t.elementType() instanceof DType d) {
            return constant(tensor(d, staticShape(t.shape())));
        }
        return kind < 4 ? weight(t) : param(t);
    }

    private Node value(DType d, List<Dim> dims) {
        return value(new TensorType(d, new Shape(dims)));
    }

    // ---- random types, shapes and values ----

    private <T> T pick(T[] options) {
        return options[rnd.nextInt(options.length)];
    }

    private <T> T pick(List<T> options) {
        return options.get(rnd.nextInt(options.size()));
    }

    private double specialDouble() {
        return SPECIAL_DOUBLES[rnd.nextInt(SPECIAL_DOUBLES.length)];
    }

    private DType floatType() {
        return rnd.nextInt(10) == 0 ? pick(NARROW_FLOATS) : pick(FLOATS);
    }

    private DType intType() {
        return pick(INTEGERS);
    }

    private DType numericType() {
        return rnd.nextBoolean() ? floatType() : intType();
    }

    private DType anyType() {
        return pick(DType.values());
    }

    private Dim dim() {
        return rnd.nextInt(3) == 0 ? pick(SYMBOLS) : Dim.of(1 + rnd.nextInt(4));
    }

    private Dim staticDim() {
        return Dim.of(1 + rnd.nextInt(4));
    }

    private List<Dim> shape(int minRank, int maxRank) {
        int rank = minRank + rnd.nextInt(maxRank - minRank + 1);
        List<Dim> dims = new ArrayList<>();
        for (int i = 0; i < rank; i++) {
            dims.add(dim());
        }
        return dims;
    }

    private static long[] staticShape(Shape s) {
        long[] out = new long[s.rank()];
        for (int i = 0; i < out.length; i++) {
            out[i] = s.dim(i).value();
        }
        return out;
    }

    private long[] smallShape() {
        long[] shape = new long[rnd.nextInt(3)];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = rnd.nextInt(4);
        }
        return shape;
    }

    /** A tensor of {@code d}, floats drawn partly from the special values, integers over the dtype's whole range. */
    private Tensor tensor(DType d, long[] shape) {
        return d.isFloat()
                ? Tensor.ofDoubles(d, shape, doubles((int) Tensor.count(shape)))
                : Tensor.ofLongs(d, shape, longs((int) Tensor.count(shape)));
    }

    private double[] doubles(int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = switch (rnd.nextInt(3)) {
                case 0 -> specialDouble();
                case 1 -> rnd.nextGaussian() * Math.pow(10, rnd.nextInt(20) - 10);
                default -> rnd.nextInt(200) - 100;
            };
        }
        return v;
    }

    private long[] longs(int n) {
        long[] v = new long[n];
        for (int i = 0; i < n; i++) {
            v[i] = rnd.nextBoolean() ? rnd.nextLong() : rnd.nextInt(21) - 10;
        }
        return v;
    }

    private double anyDouble() {
        return rnd.nextBoolean() ? specialDouble() : rnd.nextGaussian();
    }

    private long anyLong() {
        return switch (rnd.nextInt(4)) {
            case 0 -> Long.MAX_VALUE;
            case 1 -> Long.MIN_VALUE;
            default -> rnd.nextInt(4096) - 64;
        };
    }

    private Node i64Vector(long... values) {
        DType d = rnd.nextBoolean() ? DType.I64 : DType.I32;
        return constant(Tensor.vector(d, values));
    }

    /** A 1-D integer operand whose value is {@code dims}: a dims node, or a constant when static. */
    private Node shapeOperand(List<Dim> dims) {
        if (dims.stream().allMatch(Dim::isConstant) && rnd.nextBoolean()) {
            return i64Vector(dims.stream().mapToLong(Dim::value).toArray());
        }
        return Node.of(new SourceOp.Dims(dims), List.of(), maybeName());
    }

    /** Two shapes that broadcast: b is a suffix of a with some dims set to 1, possibly swapped. */
    private List<List<Dim>> broadcastPair() {
        List<Dim> a = shape(0, 3);
        List<Dim> b = new ArrayList<>(a.subList(rnd.nextInt(a.size() + 1), a.size()));
        for (int i = 0; i < b.size(); i++) {
            if (rnd.nextInt(3) == 0) {
                b.set(i, Dim.of(1));
            }
        }
        return rnd.nextBoolean() ? List.of(a, b) : List.of(b, a);
    }

    private long axis(int rank) {
        int a = rnd.nextInt(rank);
        return rnd.nextBoolean() ? a : a - rank;
    }

    // ---- recipes ----

    private Node binary(Op op, DType d) {
        List<List<Dim>> s = broadcastPair();
        return apply(op, value(d, s.get(0)), value(d, s.get(1)));
    }

    private Node unary(Op op, DType d) {
        return apply(op, value(d, shape(0, 3)));
    }

    private Node reduce(Function<List<Long>, Op> make) {
        List<Dim> s = shape(1, 3);
        List<Long> axes = new ArrayList<>();
        for (int i = 0; i < s.size(); i++) {
            if (rnd.nextBoolean()) {
                axes.add(rnd.nextBoolean() ? (long) i : (long) (i - s.size()));
            }
        }
        return apply(make.apply(axes), value(numericType(), s));
    }

    private Node matMul() {
        Dim k = dim();
        List<Dim> batch = shape(0, 2);
        List<Dim> a = new ArrayList<>(batch);
        if (!batch.isEmpty() || rnd.nextInt(5) > 0) {
            a.add(dim()); // rows; only a batch-free lhs may be a vector, or its last batch dim would become rows
        }
        a.add(k);
        List<Dim> b = new ArrayList<>(batch.subList(rnd.nextInt(batch.size() + 1), batch.size()));
        b.add(k);
        if (rnd.nextInt(5) > 0 || b.size() > 1) {
            b.add(dim());
        }
        DType d = numericType();
        return apply(new PrimitiveOp.MatMul(), value(d, a), value(d, b));
    }

    private Node gemm() {
        boolean ta = rnd.nextBoolean();
        boolean tb = rnd.nextBoolean();
        Dim m = dim();
        Dim k = dim();
        Dim n = dim();
        DType d = floatType();
        Node a = value(d, ta ? List.of(k, m) : List.of(m, k));
        Node b = value(d, tb ? List.of(n, k) : List.of(k, n));
        PrimitiveOp.Gemm op = new PrimitiveOp.Gemm(anyDouble(), anyDouble(), ta, tb);
        if (rnd.nextBoolean()) {
            return apply(op, a, b);
        }
        List<Dim> c = pick(List.of(List.of(n), List.of(m, n), List.of(Dim.of(1), n), List.<Dim>of()));
        return apply(op, a, b, value(d, c));
    }

    private Node reshape() {
        List<Dim> s = shape(1, 3);
        Node x = value(anyType(), s);
        if (rnd.nextInt(3) == 0) {
            // Shape arithmetic as ONNX exporters write it: Concat(Shape(x)[0:k], [-1]).
            int k = rnd.nextInt(s.size());
            Node head = apply(new PrimitiveOp.ShapeOf(0, k), x);
            Node target = apply(new PrimitiveOp.Concat(0), head, constant(Tensor.vector(DType.I64, -1)));
            return apply(new PrimitiveOp.Reshape(false), x, target);
        }
        List<Dim> target = new ArrayList<>(s);
        if (target.size() > 1 && rnd.nextBoolean()) {
            int i = rnd.nextInt(target.size() - 1);
            target.set(i, target.get(i).times(target.remove(i + 1)));
        }
        if (rnd.nextBoolean()) {
            target.set(rnd.nextInt(target.size()), Dim.of(-1));
        }
        return apply(new PrimitiveOp.Reshape(rnd.nextBoolean()), x, shapeOperand(target));
    }

    private Node transpose() {
        List<Dim> s = shape(0, 4);
        List<Long> perm = new ArrayList<>();
        for (long i = 0; i < s.size(); i++) {
            perm.add(i);
        }
        Collections.shuffle(perm, rnd);
        return apply(new PrimitiveOp.Transpose(perm), value(anyType(), s));
    }

    private Node concat() {
        List<Dim> s = shape(1, 3);
        long axis = axis(s.size());
        int ax = (int) (axis < 0 ? axis + s.size() : axis);
        DType d = anyType();
        Node[] in = new Node[1 + rnd.nextInt(3)];
        for (int i = 0; i < in.length; i++) {
            List<Dim> si = new ArrayList<>(s);
            si.set(ax, dim());
            in[i] = value(d, si);
        }
        return apply(new PrimitiveOp.Concat(axis), in);
    }

    private Node slice() {
        List<Dim> s = shape(1, 3);
        int n = 1 + rnd.nextInt(s.size());
        List<Long> axes = new ArrayList<>();
        for (long i = 0; i < s.size(); i++) {
            axes.add(rnd.nextBoolean() ? i : i - s.size());
        }
        Collections.shuffle(axes, rnd);
        long[] starts = new long[n];
        long[] ends = new long[n];
        long[] steps = new long[n];
        long[] ax = new long[n];
        for (int i = 0; i < n; i++) {
            ax[i] = axes.get(i);
            starts[i] = rnd.nextInt(7) - 3;
            ends[i] = rnd.nextInt(5) == 0 ? Long.MAX_VALUE : rnd.nextInt(9) - 4;
            steps[i] = rnd.nextInt(4) == 0 ? -1 - rnd.nextInt(2) : 1 + rnd.nextInt(2);
        }
        return apply(new PrimitiveOp.Slice(), value(anyType(), s), i64Vector(starts), i64Vector(ends), i64Vector(ax),
                i64Vector(steps));
    }

    private Node gatherNd() {
        int rank = 2 + rnd.nextInt(2);
        List<Dim> data = shape(rank, rank);
        int b = rnd.nextInt(rank - 1);
        int k = 1 + rnd.nextInt(rank - b);
        List<Dim> idx = new ArrayList<>(data.subList(0, b));
        idx.addAll(shape(0, 1));
        idx.add(Dim.of(k));
        return apply(new PrimitiveOp.GatherND(b), value(anyType(), data), value(intType(), idx));
    }

    private Node expand() {
        List<Dim> target = shape(0, 3);
        List<Dim> x = new ArrayList<>(target.subList(rnd.nextInt(target.size() + 1), target.size()));
        for (int i = 0; i < x.size(); i++) {
            if (rnd.nextBoolean()) {
                x.set(i, Dim.of(1));
            }
        }
        return apply(new PrimitiveOp.Expand(), value(anyType(), x), shapeOperand(target));
    }

    private Node tile() {
        List<Dim> s = shape(1, 3);
        long[] reps = new long[s.size()];
        for (int i = 0; i < reps.length; i++) {
            reps[i] = 1 + rnd.nextInt(3);
        }
        return apply(new PrimitiveOp.Tile(), value(anyType(), s), i64Vector(reps));
    }

    private Node squeeze() {
        List<Dim> s = shape(0, 2);
        List<Long> axes = new ArrayList<>();
        int ones = 1 + rnd.nextInt(2);
        for (int i = 0; i < ones; i++) {
            int at = rnd.nextInt(s.size() + 1);
            s.add(at, Dim.of(1));
        }
        if (rnd.nextBoolean()) {
            for (int i = 0; i < s.size(); i++) {
                if (s.get(i).equals(Dim.of(1)) && rnd.nextBoolean()) {
                    axes.add(rnd.nextBoolean() ? (long) i : (long) (i - s.size()));
                }
            }
        }
        return apply(new PrimitiveOp.Squeeze(axes), value(anyType(), s));
    }

    private Node unsqueeze() {
        List<Dim> s = shape(0, 3);
        int rank = s.size() + 1 + rnd.nextInt(2);
        List<Long> all = new ArrayList<>();
        for (long i = 0; i < rank; i++) {
            all.add(rnd.nextBoolean() ? i : i - rank);
        }
        Collections.shuffle(all, rnd);
        return apply(new PrimitiveOp.Unsqueeze(all.subList(0, rank - s.size())), value(anyType(), s));
    }

    private Node range() {
        if (rnd.nextBoolean()) {
            DType d = floatType();
            return apply(new PrimitiveOp.Range(), constant(Tensor.scalar(d, 0.5)), constant(Tensor.scalar(d, 7)),
                    constant(Tensor.scalar(d, rnd.nextBoolean() ? 1.5 : -0.25)));
        }
        Node limit;
        if (rnd.nextBoolean()) {
            // A symbolic scalar: Squeeze(dims [seq]) has the value seq, so the range has length seq.
            Node seq = Node.of(new SourceOp.Dims(List.of(pick(SYMBOLS))), List.of(), maybeName());
            limit = apply(new PrimitiveOp.Squeeze(List.of(0L)), seq);
        } else {
            limit = constant(Tensor.scalar(DType.I64, rnd.nextInt(20) - 5));
        }
        long delta = rnd.nextBoolean() ? 1 + rnd.nextInt(3) : -1;
        return apply(new PrimitiveOp.Range(), constant(Tensor.scalar(DType.I64, rnd.nextInt(5))), limit,
                constant(Tensor.scalar(DType.I64, delta)));
    }

    private Node constantOfShape() {
        long[] valueShape = rnd.nextBoolean() ? new long[0] : new long[] {1};
        Tensor value = tensor(anyType(), valueShape);
        return apply(new PrimitiveOp.ConstantOfShape(value), shapeOperand(shape(0, 3)));
    }

    private Node layerNorm() {
        List<Dim> s = shape(1, 3);
        long axis = axis(s.size());
        int ax = (int) (axis < 0 ? axis + s.size() : axis);
        DType d = floatType();
        List<Dim> norm = s.subList(ax, s.size());
        Node x = value(d, s);
        Node w = value(d, norm.subList(rnd.nextInt(norm.size()), norm.size()));
        ModelOp.LayerNorm op = new ModelOp.LayerNorm(anyDouble(), axis);
        return rnd.nextBoolean() ? apply(op, x, w) : apply(op, x, w, value(d, norm));
    }

    private Node rope() {
        Dim batch = dim();
        Dim seq = dim();
        int headDim = 2 * (1 + rnd.nextInt(4));
        Node x = value(floatType(), List.of(batch, seq, dim(), Dim.of(headDim)));
        Node pos = value(intType(), List.of(batch, seq));
        Node invFreq = value(floatType(), List.of(Dim.of(1 + rnd.nextInt(headDim / 2))));
        return apply(new ModelOp.Rope(rnd.nextBoolean()), x, pos, invFreq);
    }

    /** q, k, v (and maybe a mask) for attention with {@code heads} query heads over {@code kvHeads}. */
    private Node[] attentionOperands(int heads, int kvHeads, boolean mask) {
        DType d = floatType();
        Dim batch = dim();
        Dim seq = dim();
        Dim kvSeq = rnd.nextBoolean() ? seq : dim();
        Dim headDim = staticDim();
        Node q = value(d, List.of(batch, seq, Dim.of(heads), headDim));
        Node k = value(d, List.of(batch, kvSeq, Dim.of(kvHeads), headDim));
        Node v = value(d, List.of(batch, kvSeq, Dim.of(kvHeads), headDim));
        if (!mask) {
            return new Node[] {q, k, v};
        }
        Node m = value(d, List.of(Dim.of(1), rnd.nextBoolean() ? Dim.of(1) : Dim.of(heads), seq, kvSeq));
        return new Node[] {q, k, v, m};
    }

    private Node linear() {
        boolean transpose = rnd.nextBoolean();
        DType d = floatType();
        List<Dim> x = shape(1, 3);
        Dim in = x.getLast();
        Dim out = dim();
        Node w = value(d, transpose ? List.of(in, out) : List.of(out, in));
        ModelOp.Linear op = new ModelOp.Linear(transpose);
        return rnd.nextBoolean() ? apply(op, value(d, x), w) : apply(op, value(d, x), w, value(d, List.of(out)));
    }

    private Node fusedLinear() {
        Epilogue e = pick(Epilogue.values());
        boolean bias = rnd.nextBoolean();
        boolean transpose = rnd.nextBoolean();
        DType d = floatType();
        List<Dim> x = shape(1, 3);
        Dim in = x.getLast();
        boolean gated = e == Epilogue.SILU_MUL || e == Epilogue.GELU_MUL;
        Dim out = gated ? dim().times(2) : dim();
        Node w = value(d, transpose ? List.of(in, out) : List.of(out, in));
        List<Node> operands = new ArrayList<>(List.of(value(d, x), w));
        if (bias) {
            operands.add(value(d, List.of(out)));
        }
        if (e == Epilogue.RESIDUAL_ADD) {
            List<Dim> result = new ArrayList<>(x);
            result.set(result.size() - 1, out);
            operands.add(value(d, result));
        }
        return apply(new TargetOp.FusedLinear(e, bias, transpose), operands.toArray(Node[]::new));
    }

    private KvCacheSpec kvCacheSpec() {
        return new KvCacheSpec(1 + rnd.nextInt(4), 1 + rnd.nextInt(2), 2 * (1 + rnd.nextInt(4)), 16,
                pick(new DType[] {DType.F16, DType.BF16, DType.FP8E4M3, DType.I8}));
    }

    private Node kvWrite(KvCacheSpec spec, int layer) {
        Dim tokens = dim();
        DType d = floatType();
        List<Dim> kv = List.of(tokens, Dim.of(spec.kvHeads()), Dim.of(spec.headDim()));
        return apply(new TargetOp.KvWrite(spec, layer), value(d, kv), value(d, kv), value(intType(), List.of(tokens)));
    }

    private Node pagedAttention() {
        KvCacheSpec spec = kvCacheSpec();
        int layer = rnd.nextInt(spec.layers());
        int heads = spec.kvHeads() * (1 + rnd.nextInt(3));
        Node write = kvWrite(spec, layer);
        Dim seqs = dim();
        Node q = value(floatType(), List.of(dim(), Dim.of(heads), Dim.of(spec.headDim())));
        return apply(new TargetOp.PagedAttention(spec, layer, heads, anyDouble(), anyDouble(), anyLong()), q, write,
                value(DType.I32, List.of(seqs, dim())), value(DType.I32, List.of(seqs)),
                value(DType.I32, List.of(seqs.plus(1))));
    }

    private Node quantizedLinear() {
        QuantType qt = pick(List.of(new QuantType(QuantFormat.INT4, 32), new QuantType(QuantFormat.NF4, 64),
                new QuantType(QuantFormat.INT8, 0), new QuantType(QuantFormat.FP8, 0)));
        List<Dim> x = shape(1, 3);
        Dim out = dim();
        DType d = floatType();
        Node w = weight(new TensorType(qt, new Shape(List.of(out, x.getLast()))));
        Epilogue e = pick(List.of(Epilogue.NONE, Epilogue.GELU, Epilogue.RESIDUAL_ADD));
        List<Node> operands = new ArrayList<>(List.of(value(d, x), w));
        if (rnd.nextBoolean()) {
            operands.add(value(d, List.of(out)));
        }
        if (e == Epilogue.RESIDUAL_ADD) {
            List<Dim> y = new ArrayList<>(x);
            y.set(y.size() - 1, out);
            operands.add(value(d, y));
        }
        return apply(new TargetOp.QuantizedLinear(e), operands.toArray(Node[]::new));
    }

    private Node quantizeWeight() {
        QuantType qt = pick(List.of(new QuantType(QuantFormat.INT4, 32), new QuantType(QuantFormat.NF4, 64),
                new QuantType(QuantFormat.INT8, 0), new QuantType(QuantFormat.FP8, 0)));
        Dim cols = qt.format().groupWise() ? Dim.of(qt.groupSize()) : dim();
        return apply(new TargetOp.QuantizeWeight(qt), value(floatType(), List.of(dim(), cols)));
    }

    private TensorType anyTensorType() {
        ElementType e = rnd.nextInt(8) == 0 ? new QuantType(QuantFormat.INT4, 32) : anyType();
        return new TensorType(e, new Shape(shape(0, 3)));
    }

    private static Map<String, Function<RandomGraphs, Node>> byName(
            Map<Class<? extends Op>, Function<RandomGraphs, Node>> byClass) {
        Map<String, Function<RandomGraphs, Node>> out = new TreeMap<>();
        OpNames.all().forEach((name, c) -> {
            if (byClass.containsKey(c)) {
                out.put(name, byClass.get(c));
            }
        });
        return Collections.unmodifiableMap(out);
    }

    private static Map<Class<? extends Op>, Function<RandomGraphs, Node>> recipes() {
        Map<Class<? extends Op>, Function<RandomGraphs, Node>> m = new LinkedHashMap<>();
        // sources
        m.put(SourceOp.Param.class, r -> r.keep(r.param(r.anyTensorType())));
        m.put(SourceOp.Weight.class, r -> r.keep(r.weight(r.anyTensorType())));
        m.put(SourceOp.Constant.class, r -> r.keep(r.constant(r.tensor(r.anyType(), r.smallShape()))));
        m.put(SourceOp.Dims.class, r -> r.keep(Node.of(new SourceOp.Dims(r.dimsValues()), List.of(), r.maybeName())));
        // elementwise binary
        m.put(PrimitiveOp.Add.class, r -> r.binary(new PrimitiveOp.Add(), r.numericType()));
        m.put(PrimitiveOp.Sub.class, r -> r.binary(new PrimitiveOp.Sub(), r.numericType()));
        m.put(PrimitiveOp.Mul.class, r -> r.binary(new PrimitiveOp.Mul(), r.numericType()));
        m.put(PrimitiveOp.Div.class, r -> r.binary(new PrimitiveOp.Div(), r.numericType()));
        m.put(PrimitiveOp.Max.class, r -> r.binary(new PrimitiveOp.Max(), r.numericType()));
        m.put(PrimitiveOp.Min.class, r -> r.binary(new PrimitiveOp.Min(), r.numericType()));
        m.put(PrimitiveOp.Mod.class, r -> r.binary(new PrimitiveOp.Mod(r.rnd.nextBoolean()), r.numericType()));
        m.put(PrimitiveOp.And.class, r -> r.binary(new PrimitiveOp.And(), DType.BOOL));
        m.put(PrimitiveOp.Or.class, r -> r.binary(new PrimitiveOp.Or(), DType.BOOL));
        m.put(PrimitiveOp.Xor.class, r -> r.binary(new PrimitiveOp.Xor(), DType.BOOL));
        m.put(PrimitiveOp.Equal.class, r -> r.binary(new PrimitiveOp.Equal(), r.anyType()));
        m.put(PrimitiveOp.Greater.class, r -> r.binary(new PrimitiveOp.Greater(), r.numericType()));
        m.put(PrimitiveOp.GreaterOrEqual.class, r -> r.binary(new PrimitiveOp.GreaterOrEqual(), r.numericType()));
        m.put(PrimitiveOp.Less.class, r -> r.binary(new PrimitiveOp.Less(), r.numericType()));
        m.put(PrimitiveOp.LessOrEqual.class, r -> r.binary(new PrimitiveOp.LessOrEqual(), r.numericType()));
        m.put(PrimitiveOp.Pow.class, r -> {
            List<List<Dim>> s = r.broadcastPair();
            return r.apply(new PrimitiveOp.Pow(), r.value(r.floatType(), s.get(0)), r.value(r.numericType(), s.get(1)));
        });
        // elementwise unary
        m.put(PrimitiveOp.Neg.class, r -> r.unary(new PrimitiveOp.Neg(), r.numericType()));
        m.put(PrimitiveOp.Abs.class, r -> r.unary(new PrimitiveOp.Abs(), r.numericType()));
        m.put(PrimitiveOp.Sign.class, r -> r.unary(new PrimitiveOp.Sign(), r.numericType()));
        m.put(PrimitiveOp.Relu.class, r -> r.unary(new PrimitiveOp.Relu(), r.numericType()));
        m.put(PrimitiveOp.Sqrt.class, r -> r.unary(new PrimitiveOp.Sqrt(), r.floatType()));
        m.put(PrimitiveOp.Reciprocal.class, r -> r.unary(new PrimitiveOp.Reciprocal(), r.floatType()));
        m.put(PrimitiveOp.Exp.class, r -> r.unary(new PrimitiveOp.Exp(), r.floatType()));
        m.put(PrimitiveOp.Log.class, r -> r.unary(new PrimitiveOp.Log(), r.floatType()));
        m.put(PrimitiveOp.Sin.class, r -> r.unary(new PrimitiveOp.Sin(), r.floatType()));
        m.put(PrimitiveOp.Cos.class, r -> r.unary(new PrimitiveOp.Cos(), r.floatType()));
        m.put(PrimitiveOp.Tanh.class, r -> r.unary(new PrimitiveOp.Tanh(), r.floatType()));
        m.put(PrimitiveOp.Sigmoid.class, r -> r.unary(new PrimitiveOp.Sigmoid(), r.floatType()));
        m.put(PrimitiveOp.Erf.class, r -> r.unary(new PrimitiveOp.Erf(), r.floatType()));
        m.put(PrimitiveOp.Floor.class, r -> r.unary(new PrimitiveOp.Floor(), r.floatType()));
        m.put(PrimitiveOp.Ceil.class, r -> r.unary(new PrimitiveOp.Ceil(), r.floatType()));
        m.put(PrimitiveOp.Round.class, r -> r.unary(new PrimitiveOp.Round(), r.floatType()));
        m.put(PrimitiveOp.Not.class, r -> r.unary(new PrimitiveOp.Not(), DType.BOOL));
        m.put(PrimitiveOp.IsNaN.class, r -> r.unary(new PrimitiveOp.IsNaN(), r.floatType()));
        m.put(PrimitiveOp.IsInf.class, r -> r.unary(new PrimitiveOp.IsInf(r.rnd.nextBoolean(), r.rnd.nextBoolean()), r.floatType()));
        m.put(PrimitiveOp.Cast.class, r -> r.unary(new PrimitiveOp.Cast(r.anyType(), r.rnd.nextBoolean(),
                r.pick(FloatFormats.E8M0Rounding.values())), r.anyType()));
        m.put(PrimitiveOp.Where.class, r -> {
            List<List<Dim>> s = r.broadcastPair();
            DType d = r.anyType();
            return r.apply(new PrimitiveOp.Where(), r.value(DType.BOOL, s.get(0)), r.value(d, s.get(1)),
                    r.value(d, s.get(r.rnd.nextInt(2))));
        });
        // linear algebra, reductions
        m.put(PrimitiveOp.MatMul.class, RandomGraphs::matMul);
        m.put(PrimitiveOp.Gemm.class, RandomGraphs::gemm);
        m.put(PrimitiveOp.ReduceMean.class, r -> r.reduce(axes -> new PrimitiveOp.ReduceMean(axes, r.rnd.nextBoolean())));
        m.put(PrimitiveOp.ReduceSum.class, r -> r.reduce(axes -> new PrimitiveOp.ReduceSum(axes, r.rnd.nextBoolean())));
        m.put(PrimitiveOp.ReduceMax.class, r -> r.reduce(axes -> new PrimitiveOp.ReduceMax(axes, r.rnd.nextBoolean())));
        m.put(PrimitiveOp.ReduceMin.class, r -> r.reduce(axes -> new PrimitiveOp.ReduceMin(axes, r.rnd.nextBoolean())));
        m.put(PrimitiveOp.Softmax.class, r -> {
            List<Dim> s = r.shape(1, 3);
            return r.apply(new PrimitiveOp.Softmax(r.axis(s.size())), r.value(r.floatType(), s));
        });
        m.put(PrimitiveOp.LogSoftmax.class, r -> {
            List<Dim> s = r.shape(1, 3);
            return r.apply(new PrimitiveOp.LogSoftmax(r.axis(s.size())), r.value(r.floatType(), s));
        });
        m.put(PrimitiveOp.CumSum.class, r -> {
            List<Dim> s = r.shape(1, 3);
            return r.apply(new PrimitiveOp.CumSum(r.axis(s.size()), r.rnd.nextBoolean(), r.rnd.nextBoolean()),
                    r.value(r.numericType(), s));
        });
        // shapes and data movement
        m.put(PrimitiveOp.ShapeOf.class, r -> {
            List<Dim> s = r.shape(0, 3);
            int start = r.rnd.nextInt(s.size() + 1);
            int end = start + r.rnd.nextInt(s.size() - start + 1);
            return r.apply(new PrimitiveOp.ShapeOf(start, end), r.value(r.anyType(), s));
        });
        m.put(PrimitiveOp.Reshape.class, RandomGraphs::reshape);
        m.put(PrimitiveOp.Transpose.class, RandomGraphs::transpose);
        m.put(PrimitiveOp.Concat.class, RandomGraphs::concat);
        m.put(PrimitiveOp.Slice.class, RandomGraphs::slice);
        m.put(PrimitiveOp.Gather.class, r -> {
            List<Dim> s = r.shape(1, 3);
            return r.apply(new PrimitiveOp.Gather(r.axis(s.size())), r.value(r.anyType(), s),
                    r.value(r.intType(), r.shape(0, 2)));
        });
        m.put(PrimitiveOp.GatherND.class, RandomGraphs::gatherNd);
        m.put(PrimitiveOp.Expand.class, RandomGraphs::expand);
        m.put(PrimitiveOp.Tile.class, RandomGraphs::tile);
        m.put(PrimitiveOp.Squeeze.class, RandomGraphs::squeeze);
        m.put(PrimitiveOp.Unsqueeze.class, RandomGraphs::unsqueeze);
        m.put(PrimitiveOp.Range.class, RandomGraphs::range);
        m.put(PrimitiveOp.ConstantOfShape.class, RandomGraphs::constantOfShape);
        m.put(PrimitiveOp.Trilu.class, r -> r.apply(new PrimitiveOp.Trilu(r.rnd.nextBoolean(), r.anyLong()),
                r.value(r.anyType(), r.shape(2, 4))));
        // model ops
        m.put(ModelOp.RmsNorm.class, r -> {
            List<Dim> s = r.shape(1, 3);
            return r.apply(new ModelOp.RmsNorm(r.anyDouble(), r.anyDouble()), r.value(r.floatType(), s),
                    r.value(r.floatType(), List.of(s.getLast())));
        });
        m.put(ModelOp.LayerNorm.class, RandomGraphs::layerNorm);
        m.put(ModelOp.Rope.class, RandomGraphs::rope);
        m.put(ModelOp.Attention.class, r -> {
            int kv = 1 + r.rnd.nextInt(2);
            int heads = kv * (1 + r.rnd.nextInt(3));
            return r.apply(new ModelOp.Attention(heads, kv, r.rnd.nextBoolean(), r.anyDouble(), r.anyDouble(),
                    r.anyLong()), r.attentionOperands(heads, kv, r.rnd.nextBoolean()));
        });
        m.put(ModelOp.Swiglu.class, r -> {
            TensorType t = new TensorType(r.floatType(), new Shape(r.shape(0, 3)));
            return r.apply(new ModelOp.Swiglu(), r.value(t), r.value(t));
        });
        m.put(ModelOp.Silu.class, r -> r.unary(new ModelOp.Silu(), r.floatType()));
        m.put(ModelOp.MoeRouting.class, r -> r.apply(new ModelOp.MoeRouting(1, r.rnd.nextBoolean()), r.value(r.floatType(), r.shape(1, 3))));
        m.put(ModelOp.Gelu.class, r -> r.unary(new ModelOp.Gelu(r.rnd.nextBoolean()), r.floatType()));
        m.put(ModelOp.Embedding.class, r -> r.apply(new ModelOp.Embedding(), r.value(r.anyType(), r.shape(2, 2)),
                r.value(r.intType(), r.shape(0, 2))));
        m.put(ModelOp.Linear.class, RandomGraphs::linear);
        // target ops
        m.put(TargetOp.FusedLinear.class, RandomGraphs::fusedLinear);
        m.put(TargetOp.FlashAttention.class, r -> {
            int kv = 1 + r.rnd.nextInt(2);
            int heads = kv * (1 + r.rnd.nextInt(3));
            return r.apply(new TargetOp.FlashAttention(heads, kv, r.anyDouble(), r.anyDouble(), r.anyLong()),
                    r.attentionOperands(heads, kv, false));
        });
        m.put(TargetOp.KvWriteRope.class, r -> {
            KvCacheSpec spec = r.kvCacheSpec();
            Dim tokens = r.dim();
            DType d = r.floatType();
            List<Dim> kv = List.of(tokens, Dim.of(spec.kvHeads()), Dim.of(spec.headDim()));
            Node freq = r.value(r.floatType(), List.of(Dim.of(1 + r.rnd.nextInt(Math.max(1, spec.headDim() / 2)))));
            return r.apply(new TargetOp.KvWriteRope(spec, r.rnd.nextInt(spec.layers()), r.rnd.nextBoolean()),
                    r.value(d, kv), r.value(d, kv), r.value(r.intType(), List.of(tokens)),
                    r.value(r.intType(), List.of(tokens)), freq);
        });
        m.put(TargetOp.AddRmsNorm.class, r -> {
            List<Dim> s = r.shape(1, 3);
            TensorType t = new TensorType(r.floatType(), new Shape(s));
            return r.apply(new TargetOp.AddRmsNorm(r.anyDouble(), r.anyDouble()), r.value(t), r.value(t),
                    r.value(r.floatType(), List.of(s.getLast())));
        });
        m.put(TargetOp.Elementwise.class, r -> {
            TensorType t = new TensorType(r.floatType(), new Shape(r.shape(0, 3)));
            String expr = r.pick(List.of("mul($0, sigmoid($1))", "add(mul($0, 2.0), tanh(div($1, 30.0)))",
                    "silu($0)", "max(neg($0), -0.5)", "gelu_tanh(sub($1, $0))"));
            Node a = r.value(t);
            return expr.contains("$1") ? r.apply(new TargetOp.Elementwise(expr), a, r.value(t))
                    : r.apply(new TargetOp.Elementwise(expr), a);
        });
        m.put(TargetOp.KvWrite.class, r -> {
            KvCacheSpec spec = r.kvCacheSpec();
            return r.kvWrite(spec, r.rnd.nextInt(spec.layers()));
        });
        m.put(TargetOp.PagedAttention.class, RandomGraphs::pagedAttention);
        m.put(TargetOp.QuantizedLinear.class, RandomGraphs::quantizedLinear);
        m.put(TargetOp.QuantizeWeight.class, RandomGraphs::quantizeWeight);
        m.put(TargetOp.QuantizeActivations.class, r -> r.apply(new TargetOp.QuantizeActivations(2 + r.rnd.nextInt(15)),
                r.value(r.floatType(), r.shape(1, 3))));
        m.put(TargetOp.AllReduce.class, r -> r.unary(new TargetOp.AllReduce(1 + r.rnd.nextInt(8)), r.anyType()));
        m.put(TargetOp.AllGather.class, r -> {
            List<Dim> s = r.shape(1, 3);
            return r.apply(new TargetOp.AllGather(r.axis(s.size()), 1 + r.rnd.nextInt(8)), r.value(r.anyType(), s));
        });
        m.put(TargetOp.Send.class, r -> r.unary(new TargetOp.Send(r.rnd.nextInt(4)), r.anyType()));
        m.put(TargetOp.Recv.class, r -> r.apply(new TargetOp.Recv(r.rnd.nextInt(4), r.anyTensorType())));
        return m;
    }

    /** Registers a source node made by a recipe as a result, so it is reachable (an output if nothing uses it). */
    private Node keep(Node n) {
        results.add(n);
        return n;
    }

    /** Values for a dims node: constants (negative ones too), symbols, polynomials and unknown dims. */
    private List<Dim> dimsValues() {
        List<Dim> dims = new ArrayList<>();
        int n = rnd.nextInt(5);
        for (int i = 0; i < n; i++) {
            dims.add(switch (rnd.nextInt(6)) {
                case 0 -> Dim.of(rnd.nextInt(9) - 4);
                case 1 -> pick(SYMBOLS).times(pick(SYMBOLS)).times(2).plus(1);
                case 2 -> pick(SYMBOLS).minus(pick(SYMBOLS)).plus(-1);
                case 3 -> Dim.UNKNOWN;
                default -> dim();
            });
        }
        return dims;
    }
}
