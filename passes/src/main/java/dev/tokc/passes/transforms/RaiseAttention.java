package dev.tokc.passes.transforms;

import static dev.tokc.passes.rewrite.Pattern.op;
import static dev.tokc.passes.rewrite.Pattern.var;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp.Attention;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp.Add;
import dev.tokc.ir.PrimitiveOp.Div;
import dev.tokc.ir.PrimitiveOp.Expand;
import dev.tokc.ir.PrimitiveOp.IsNaN;
import dev.tokc.ir.PrimitiveOp.MatMul;
import dev.tokc.ir.PrimitiveOp.Mul;
import dev.tokc.ir.PrimitiveOp.Reshape;
import dev.tokc.ir.PrimitiveOp.ShapeOf;
import dev.tokc.ir.PrimitiveOp.Softmax;
import dev.tokc.ir.PrimitiveOp.Tanh;
import dev.tokc.ir.PrimitiveOp.Tile;
import dev.tokc.ir.PrimitiveOp.Transpose;
import dev.tokc.ir.PrimitiveOp.Unsqueeze;
import dev.tokc.ir.PrimitiveOp.Where;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.SymbolicValues;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.passes.rewrite.Match;
import dev.tokc.passes.rewrite.Rule;
import dev.tokc.passes.rewrite.RuleSet;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.TreeSet;

/**
 * Raising rule for the attention soup {@code softmax(Q K^T * scale + mask) V} over heads-first operands
 * ({@code Q [b, h, s, d]}, keys and values {@code [b, h, t, d]}), as exporters write it:
 * <ul>
 *   <li>the scale as constant factors (or divisors) on Q, on K^T or on the scores, multiplied together (a product
 *       within 1e-6 of {@code 1/sqrt(head_dim)} is taken to be exactly that);</li>
 *   <li>logit soft-capping {@code c * tanh(scores * scale / c)} (Gemma 2) as {@code softcap = c};</li>
 *   <li>K^T as {@code transpose(K, [0, 1, 3, 2])} or as the dynamo chain
 *       {@code reshape(transpose(reshape(K, [-1, t, d]), [0, 2, 1]), [b, h, d, t])};</li>
 *   <li>GQA's repeat_kv on K and V: {@code reshape(expand(unsqueeze(kv, [2]), [b, kvh, rep, t, d]), [b, h, t, d])}
 *       (Tile instead of Expand too), which the Attention op makes unnecessary: it reads kv head h / rep;</li>
 *   <li>the softmax optionally guarded by {@code where(isnan(p), 0, p)} (Attention's rows without a visible key are
 *       zero already).</li>
 * </ul>
 * The mask (additive, {@code where(cond, 0, -big)}, or any additive tensor) is dropped and the Attention made
 * {@code causal} only when it is <em>proven causal</em>: its subgraph reads nothing but constants and symbolic dims
 * (no weight, no input's data), its query and key lengths are one symbol, and evaluated by the reference
 * interpreter for every batch in 1..2 and seq in 1..{@value #MAX_SEQ_CHECKED} it is exactly 0 where
 * {@code j <= i} and below -1e30 elsewhere, for every batch row and head (other symbols, batch, bound to 1..2).
 * This is a proof for the sizes checked; for longer sequences it rests on the mask being built from shape arithmetic
 * and integer constants smaller than the sizes checked (slice sentinels aside), so that no comparison in it can
 * change outcome at a larger size. A mask with exactly one larger scalar constant W is a sliding window when, with W
 * replaced by 2, 3 and 4, it evaluates to the causal window of that size plus one fixed k in -1..1 (a {@code <} or
 * {@code <=} comparison): {@code causal = true, sliding_window = W + k}. Any other mask is not taken for causal. Any other mask stays as the Attention's
 * fourth input with {@code causal = false}. The replacement is {@code transpose(attention(...), [0, 2, 1, 3])}
 * (Attention is sequence-first); canonicalisation cancels it against the exporter's transposes. Used by
 * {@link Raise}.
 */
final class RaiseAttention {
    private RaiseAttention() {}

    static final int MAX_SEQ_CHECKED = 9;
    private static final List<Long> SWAP_1_2 = List.of(0L, 2L, 1L, 3L);

    static final RuleSet RULES = RuleSet.of(
            new Rule("attention", op(MatMul.class, var("p"), var("v")), RaiseAttention::attention)); // softmax(Q K^T * c + mask) V -> attention(Q, K, V) {causal}

    private static Node attention(Match m) {
        Node p = m.node("p");
        // where(isnan(sm), 0, sm) -> sm
        if (p.op() instanceof Where && p.input(0).op() instanceof IsNaN && p.input(0).input(0) == p.input(2)
                && RaiseSupport.isScalar(p.input(1), 0, 0)) {
            p = p.input(2);
        }
        if (!(p.op() instanceof Softmax sm) || p.rank() != 4 || (sm.axis() != -1 && sm.axis() != 3)) {
            return null;
        }
        Node s = p.input(0);
        Node mask = null;
        if (s.op() instanceof Add) {
            int qk = isScores(s.input(0)) ? 0 : isScores(s.input(1)) ? 1 : -1;
            if (qk < 0) {
                return null;
            }
            mask = s.input(1 - qk);
            s = s.input(qk);
        }
        Scaled scores = peelScale(s);
        double softcap = 0;
        if (scores.node.op() instanceof Tanh) {
            // softcap * tanh(s * scale / softcap): the outer factor is the cap, the inner one scale / cap
            Scaled inner = peelScale(scores.node.input(0));
            softcap = scores.factor;
            scores = new Scaled(inner.node, inner.factor * softcap);
            if (!(softcap > 0)) {
                return null;
            }
        }
        if (!(scores.node.op() instanceof MatMul)) {
            return null;
        }
        Scaled q = peelScale(scores.node.input(0));
        Scaled kt = peelScale(scores.node.input(1));
        Node k = keysFromTransposed(kt.node);
        if (k == null) {
            return null;
        }
        Node kv = repeatedKv(k);
        Node vv = repeatedKv(m.node("v"));
        Node qn = q.node;
        if (qn.rank() != 4 || kv.rank() != 4 || vv.rank() != 4 || !qn.shape().dim(1).isConstant()
                || !kv.shape().dim(1).isConstant() || !kv.shape().dim(1).equals(vv.shape().dim(1))
                || !kv.shape().dim(2).equals(vv.shape().dim(2)) || !qn.shape().dim(3).equals(kv.shape().dim(3))) {
            return null;
        }
        int heads = (int) qn.shape().dim(1).value();
        int kvHeads = (int) kv.shape().dim(1).value();
        if (kvHeads == 0 || heads % kvHeads != 0) {
            return null;
        }
        double scale = scores.factor * q.factor * kt.factor;
        if (qn.shape().dim(3).isConstant()) {
            // Factors read from f32 constants (sqrt(sqrt(1/d)) on Q and on K) land within f32 rounding of 1/sqrt(d):
            // take the exact value a checkpoint config gives.
            double exact = 1.0 / Math.sqrt(qn.shape().dim(3).value());
            if (Math.abs(scale - exact) <= 1e-6 * exact) {
                scale = exact;
            }
        }
        if (softcap > 0 && (q.factor != 1 || kt.factor != 1)) {
            return null; // a cap applied after scaling Q or K separately: keep it simple, leave the soup
        }
        List<Node> in = new ArrayList<>(List.of(swap(qn), swap(kv), swap(vv)));
        boolean causal = false;
        long window = 0;
        if (mask != null) {
            long proven = provenWindow(mask, qn.shape().dim(2), kv.shape().dim(2));
            if (proven >= 0) {
                causal = true;
                window = proven;
            } else if (mask.dtype() == qn.dtype()) {
                in.add(mask);
            } else {
                return null;
            }
        }
        Node attn;
        try {
            attn = Node.of(new Attention(heads, kvHeads, causal, scale, softcap, window), in);
        } catch (RuntimeException e) {
            return null; // operands the Attention op does not accept: leave the soup
        }
        return RaiseSupport.sameType(m.root(), swap(attn));
    }

    private static Node swap(Node n) {
        return Node.of(new Transpose(SWAP_1_2), n);
    }

    /** Q K^T, scaled, possibly soft-capped. */
    private static boolean isScores(Node n) {
        Node core = peelScale(n).node;
        if (core.op() instanceof Tanh) {
            core = peelScale(core.input(0)).node;
        }
        return core.op() instanceof MatMul;
    }

    /** A node with the constant factor peeled off it. */
    private record Scaled(Node node, double factor) {}

    /** x * c, c * x, x / c, repeatedly: (x, product of the c). */
    private static Scaled peelScale(Node n) {
        double f = 1;
        Node cur = n;
        while (true) {
            if (cur.op() instanceof Mul) {
                OptionalDouble c0 = RaiseSupport.scalar(cur.input(0));
                OptionalDouble c1 = RaiseSupport.scalar(cur.input(1));
                if (c1.isPresent() && cur.input(0).type().equals(cur.type())) {
                    f *= c1.getAsDouble();
                    cur = cur.input(0);
                    continue;
                }
                if (c0.isPresent() && cur.input(1).type().equals(cur.type())) {
                    f *= c0.getAsDouble();
                    cur = cur.input(1);
                    continue;
                }
            } else if (cur.op() instanceof Div) {
                OptionalDouble c1 = RaiseSupport.scalar(cur.input(1));
                if (c1.isPresent() && cur.input(0).type().equals(cur.type())) {
                    f /= c1.getAsDouble();
                    cur = cur.input(0);
                    continue;
                }
            }
            return new Scaled(cur, f);
        }
    }

    /** K [b, h, t, d] from K^T [b, h, d, t], or null. */
    private static Node keysFromTransposed(Node kt) {
        if (kt.rank() != 4) {
            return null;
        }
        if (kt.op() instanceof Transpose t && t.perm().equals(List.of(0L, 1L, 3L, 2L))) {
            return kt.input(0);
        }
        // reshape(transpose(reshape(K, [-1, t, d]), [0, 2, 1]), [b, h, d, t])
        if (kt.op() instanceof Reshape && kt.input(0).op() instanceof Transpose t
                && t.perm().equals(List.of(0L, 2L, 1L)) && kt.input(0).input(0).op() instanceof Reshape) {
            Node flat = kt.input(0).input(0);
            Node k = flat.input(0);
            List<Dim> kd = k.shape().dims();
            List<Dim> out = kt.shape().dims();
            int r = kd.size();
            if (r < 4 || flat.rank() != 3 || !kd.get(r - 1).equals(out.get(2)) || !kd.get(r - 2).equals(out.get(3))
                    || !flat.shape().dim(1).equals(out.get(3)) || !flat.shape().dim(2).equals(out.get(2))) {
                return null;
            }
            if (r == 4) {
                return kd.get(0).equals(out.get(0)) && kd.get(1).equals(out.get(1)) ? k : null;
            }
            // [b, kvh, rep, t, d] flattened: heads = kvh * rep, row-major, the repeat_kv order.
            if (r == 5 && kd.get(0).equals(out.get(0)) && kd.get(1).times(kd.get(2)).equals(out.get(1))) {
                return Node.of(new Reshape(false), k, RaiseSupport.dims(List.of(out.get(0), out.get(1), out.get(3), out.get(2))));
            }
        }
        return null;
    }

    /** kv [b, kvh, t, d] under repeat_kv (a [b, kvh*rep, t, d] view of expand(unsqueeze(kv, [2]))), else x. */
    private static Node repeatedKv(Node x) {
        if (!(x.op() instanceof Reshape) || x.rank() != 4) {
            return x;
        }
        Node e = x.input(0);
        if (e.rank() != 5 || !(e.op() instanceof Expand || e.op() instanceof Tile)) {
            return x;
        }
        Node u = e.input(0);
        if (!(u.op() instanceof Unsqueeze un) || !un.axes().equals(List.of(2L)) || u.input(0).rank() != 4) {
            return x;
        }
        if (e.op() instanceof Tile) {
            long[] reps = SymbolicValues.constants(e.input(1)).orElse(null);
            if (reps == null || reps[0] != 1 || reps[1] != 1 || reps[3] != 1 || reps[4] != 1) {
                return x;
            }
        }
        Node kv = u.input(0);
        List<Dim> ed = e.shape().dims();
        List<Dim> xd = x.shape().dims();
        boolean ok = ed.get(0).equals(xd.get(0)) && ed.get(1).times(ed.get(2)).equals(xd.get(1))
                && ed.get(3).equals(xd.get(2)) && ed.get(4).equals(xd.get(3)) && kv.shape().dim(1).equals(ed.get(1));
        return ok ? kv : x;
    }

    // ---- causality ----

    /**
     * What the additive mask provably is: -1 nothing known, 0 causal, w > 0 causal with a sliding window of w (see
     * the class comment). {@code seq} and {@code kvSeq} must be the same symbol.
     */
    static long provenWindow(Node mask, Dim seq, Dim kvSeq) {
        if (!seq.equals(kvSeq)) {
            return -1;
        }
        return PROVEN.computeIfAbsent(mask, k -> prove(mask, seq));
    }

    /** Proofs by mask node (nodes are immutable and interned): the driver offers the same soup once per sweep. */
    private static final Map<Node, Long> PROVEN = Collections.synchronizedMap(new java.util.WeakHashMap<>());

    private static long prove(Node mask, Dim seq) {
        if (seq.symbol().isEmpty() || !mask.dtype().isFloat() || mask.rank() != 4) {
            return -1;
        }
        String seqSym = seq.symbol().get();
        Set<String> symbols = new TreeSet<>();
        List<Node> large = new ArrayList<>();
        if (!closedOverShapes(mask, symbols, large)) {
            return -1;
        }
        List<Node> inputs = new ArrayList<>();
        for (String sym : symbols) {
            inputs.add(Node.of(new SourceOp.Param("sym_" + sym, TensorType.of(DType.I64, Dim.sym(sym))), List.of(), "sym_" + sym));
        }
        if (large.isEmpty()) {
            return evaluatesTo(mask, inputs, seqSym, 0) ? 0 : -1;
        }
        if (large.size() != 1 || !(large.get(0).op() instanceof SourceOp.Constant c) || c.value().size() != 1) {
            return -1;
        }
        // One large constant: a window. Replaced by 2, 3 and 4, the mask must be the window w' + k for one k.
        long w = c.value().getLong(0);
        for (long k = -1; k <= 1; k++) {
            boolean all = true;
            for (long small = 2; small <= 4 && all; small++) {
                Node sub = substitute(mask, inputs, large.get(0), small);
                all = small + k > 0 && evaluatesTo(sub, inputs, seqSym, small + k);
            }
            if (all) {
                return w + k > 0 ? w + k : -1;
            }
        }
        return -1;
    }

    private static Node substitute(Node mask, List<Node> inputs, Node constant, long value) {
        Tensor t = ((SourceOp.Constant) constant.op()).value();
        Node replacement = Node.of(new SourceOp.Constant(Tensor.ofLongs(t.dtype(), t.shape(), new long[] {value})));
        return new Graph("mask", inputs, List.of(mask)).transform(n -> n == constant ? replacement : n).outputs().get(0);
    }

    /**
     * Evaluates the mask with seq = 1..{@value #MAX_SEQ_CHECKED} and every other symbol (batch) = 1..2: 0 where
     * {@code j <= i} (and {@code i - j < window} when window > 0), below -1e30 elsewhere.
     */
    private static boolean evaluatesTo(Node mask, List<Node> inputs, String seqSym, long window) {
        Graph g = new Graph("mask", inputs, List.of(mask));
        for (long b = 1; b <= 2; b++) {
            for (long n = 1; n <= MAX_SEQ_CHECKED; n++) {
                Map<String, Tensor> feed = new LinkedHashMap<>();
                for (Node p : inputs) {
                    String sym = p.name().substring("sym_".length());
                    long v = sym.equals(seqSym) ? n : b;
                    feed.put(p.name(), Tensor.ofLongs(DType.I64, new long[] {v}, new long[(int) v]));
                }
                Tensor t;
                try {
                    t = Interpreter.run(g, feed, (key, type) -> {
                        throw new IllegalStateException("mask reads weight " + key);
                    }).get(0);
                } catch (RuntimeException e) {
                    return false;
                }
                if (!isCausal(t, n, window)) {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean isCausal(Tensor t, long n, long window) {
        long[] sh = t.shape();
        if (sh[2] != n || sh[3] != n) {
            return false;
        }
        int rows = (int) (sh[0] * sh[1]);
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double v = t.getDouble((int) ((r * n + i) * n + j));
                    boolean visible = j <= i && (window == 0 || i - j < window);
                    if (visible ? v != 0 : !(v <= -1e30)) {
                        return false;
                    }
                }
            }
        }
        return true;
    }

    /**
     * Integer constants below {@value #MAX_SEQ_CHECKED} in magnitude, or slice sentinels (|v| >= 2^62): a mask built
     * from those and the sequence length cannot change its shape of visibility beyond the sizes evaluated (a sliding
     * window of 4096 would show up here as a constant, and is not taken for causal).
     */
    private static boolean smallOrSentinel(Tensor t) {
        if (!t.dtype().isInteger()) {
            return true;
        }
        for (int i = 0; i < t.size(); i++) {
            long v = Math.abs(t.getLong(i));
            if (v >= MAX_SEQ_CHECKED && v < (1L << 62)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether the subgraph under {@code root} reads no weight and no parameter's data (shape_of of a parameter is
     * fine only if shape inference left it, which it should not), collecting the symbols of its dims and its large
     * integer constants.
     */
    private static boolean closedOverShapes(Node root, Set<String> symbols, List<Node> large) {
        Deque<Node> todo = new ArrayDeque<>();
        Set<Node> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        todo.push(root);
        while (!todo.isEmpty()) {
            Node n = todo.pop();
            if (!seen.add(n)) {
                continue;
            }
            for (Dim d : n.shape().dims()) {
                if (d.isUnknown()) {
                    return false;
                }
                symbols.addAll(d.symbols());
            }
            switch (n.op()) {
                case SourceOp.Weight w -> {
                    return false;
                }
                case SourceOp.Param prm -> {
                    return false;
                }
                case SourceOp.Dims dims -> dims.dims().forEach(d -> symbols.addAll(d.symbols()));
                case SourceOp.Constant c -> {
                    if (!smallOrSentinel(c.value())) {
                        large.add(n);
                    }
                }
                case ShapeOf so -> {
                    return false;
                }
                default -> n.inputs().forEach(todo::push);
            }
        }
        return true;
    }
}
