package dev.tokc.passes;

import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp.Linear;
import dev.tokc.ir.Node;
import dev.tokc.ir.Op;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.Tensor;
import dev.tokc.passes.rewrite.Pattern;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Structural comparison of two graphs up to value names and weight storage: what "the ONNX import and the checkpoint
 * import reach the same graph" means.
 *
 * <p>Two nodes correspond when they have the same op class, equal attributes (doubles equal to {@link
 * Options#relTol} relative: an epsilon read from an f32 initializer, {@code 9.9999997e-06}, is the config's
 * {@code 1e-05}), the same type, and corresponding inputs; the correspondence must be one-to-one (two distinct
 * nodes of one graph never map to one node of the other, so sharing is compared too). Parameters correspond by
 * position. Commutative binary ops ({@link Pattern#COMMUTATIVE}) may have their operands swapped. Weights correspond
 * by type whatever their keys (unless {@link Options#compareWeightKeys}); a {@code linear} whose weight is stored
 * transposed ({@code [in, out]}, {@code transpose_weight = true}) corresponds to one with the {@code [out, in]}
 * weight and {@code transpose_weight = false}. The result lists the weight pairs so that a caller can check the
 * stored values (transposed where the pair says so).
 *
 * <p>On a difference, {@link Result#report} names the first differing node pair in a readable text form (the
 * innermost pair whose own op, attributes or type differ, reached from the outputs in order), and the op histogram
 * differences of the two graphs.
 */
public final class GraphComparison {

    /** @param relTol relative tolerance for double attributes; @param compareWeightKeys require equal weight keys */
    public record Options(double relTol, boolean compareWeightKeys) {
        public static final Options DEFAULT = new Options(1e-6, false);
    }

    /** Weights that correspond: {@code transposed} when one is stored as the other's transpose. */
    public record WeightPair(String left, String right, boolean transposed) {}

    /** Equal or not; on a difference, where; the weight pairs found. */
    public record Result(String difference, List<WeightPair> weights, Map<String, Integer> leftHistogram,
                         Map<String, Integer> rightHistogram) {
        public boolean equal() {
            return difference == null;
        }

        /** The op counts that differ, {@code op: left vs right}, or an empty string. */
        public String histogramDifference() {
            StringBuilder sb = new StringBuilder();
            for (String op : new TreeSet<>(union(leftHistogram.keySet(), rightHistogram.keySet()))) {
                int l = leftHistogram.getOrDefault(op, 0);
                int r = rightHistogram.getOrDefault(op, 0);
                if (l != r) {
                    sb.append(sb.isEmpty() ? "" : ", ").append(op).append(": ").append(l).append(" vs ").append(r);
                }
            }
            return sb.toString();
        }

        public String report() {
            if (equal()) {
                return "graphs are equal (" + weights.size() + " weight pairs)";
            }
            String h = histogramDifference();
            return difference + "\n  op histogram: " + (h.isEmpty() ? "identical" : h);
        }

        private static List<String> union(java.util.Set<String> a, java.util.Set<String> b) {
            List<String> u = new ArrayList<>(a);
            u.addAll(b);
            return u;
        }
    }

    private final Options options;
    private final Map<Node, Node> leftToRight = new IdentityHashMap<>();
    private final Map<Node, Node> rightToLeft = new IdentityHashMap<>();
    private final List<Node> undo = new ArrayList<>();
    private final Map<Node, Integer> leftParams = new IdentityHashMap<>();
    private final Map<Node, Integer> rightParams = new IdentityHashMap<>();
    private final Map<Node, Boolean> transposedWeights = new IdentityHashMap<>();

    private GraphComparison(Options options) {
        this.options = options;
    }

    public static Result compare(Graph left, Graph right) {
        return compare(left, right, Options.DEFAULT);
    }

    public static Result compare(Graph left, Graph right, Options options) {
        GraphComparison c = new GraphComparison(options);
        String diff = c.run(left, right);
        List<WeightPair> pairs = new ArrayList<>();
        if (diff == null) {
            for (Node l : left.nodes()) {
                if (l.op() instanceof SourceOp.Weight lw && c.leftToRight.get(l) instanceof Node r
                        && r.op() instanceof SourceOp.Weight rw) {
                    pairs.add(new WeightPair(lw.key(), rw.key(), c.transposedWeights.getOrDefault(l, false)));
                }
            }
        }
        return new Result(diff, pairs, left.opHistogram(), right.opHistogram());
    }

    private String run(Graph left, Graph right) {
        if (left.inputs().size() != right.inputs().size()) {
            return "the graphs have " + left.inputs().size() + " and " + right.inputs().size() + " inputs";
        }
        if (left.outputs().size() != right.outputs().size()) {
            return "the graphs have " + left.outputs().size() + " and " + right.outputs().size() + " outputs";
        }
        for (int i = 0; i < left.inputs().size(); i++) {
            leftParams.put(left.inputs().get(i), i);
            rightParams.put(right.inputs().get(i), i);
        }
        for (int i = 0; i < left.outputs().size(); i++) {
            String d = same(left.outputs().get(i), right.outputs().get(i));
            if (d != null) {
                return "output " + i + ": " + d;
            }
        }
        return null;
    }

    /** null when l and r correspond (recording it), else the first difference found under them. */
    private String same(Node l, Node r) {
        Node mapped = leftToRight.get(l);
        if (mapped != null) {
            return mapped == r ? null : differ(l, r, "the left node already corresponds to " + line(mapped));
        }
        if (rightToLeft.containsKey(r)) {
            return differ(l, r, "the right node already corresponds to " + line(rightToLeft.get(r)));
        }
        String local = localDifference(l, r);
        if (local != null) {
            return differ(l, r, local);
        }
        String d;
        if (l.op() instanceof Linear ll && r.op() instanceof Linear rl && ll.transposeWeight() != rl.transposeWeight()) {
            d = sameLinearTransposed(l, r);
        } else if (Pattern.COMMUTATIVE.contains(l.op().getClass()) && l.inputs().size() == 2) {
            int mark = undo.size();
            d = sameInputs(l.inputs(), r.inputs());
            if (d != null) {
                rollback(mark);
                if (sameInputs(l.inputs(), List.of(r.input(1), r.input(0))) == null) {
                    d = null;
                } else {
                    rollback(mark);
                }
            }
        } else {
            d = sameInputs(l.inputs(), r.inputs());
        }
        if (d == null) {
            record(l, r);
        }
        return d;
    }

    /** linear(x, W[in, out]) {transpose_weight} against linear(x, W'[out, in]): the weights are transposes. */
    private String sameLinearTransposed(Node l, Node r) {
        if (l.inputs().size() != r.inputs().size()) {
            return differ(l, r, "one linear has a bias and the other not");
        }
        Node lw = l.input(1);
        Node rw = r.input(1);
        if (!(lw.op() instanceof SourceOp.Weight) || !(rw.op() instanceof SourceOp.Weight) || lw.rank() != 2
                || rw.rank() != 2 || lw.type().elementType() != rw.type().elementType()
                || !lw.shape().dim(0).equals(rw.shape().dim(1)) || !lw.shape().dim(1).equals(rw.shape().dim(0))) {
            return differ(l, r, "transpose_weight differs and the weights are not stored transposes of each other");
        }
        if (leftToRight.containsKey(lw) || rightToLeft.containsKey(rw)) {
            if (leftToRight.get(lw) != rw || !transposedWeights.getOrDefault(lw, false)) {
                return differ(lw, rw, "weight shared differently");
            }
        } else {
            record(lw, rw);
            transposedWeights.put(lw, true);
        }
        String d = same(l.input(0), r.input(0));
        return d != null || l.inputs().size() < 3 ? d : same(l.input(2), r.input(2));
    }

    private String sameInputs(List<Node> ls, List<Node> rs) {
        for (int i = 0; i < ls.size(); i++) {
            String d = same(ls.get(i), rs.get(i));
            if (d != null) {
                return d;
            }
        }
        return null;
    }

    private void record(Node l, Node r) {
        leftToRight.put(l, r);
        rightToLeft.put(r, l);
        undo.add(l);
    }

    private void rollback(int mark) {
        while (undo.size() > mark) {
            Node l = undo.removeLast();
            rightToLeft.remove(leftToRight.remove(l));
            transposedWeights.remove(l);
        }
    }

    /** What differs between the two nodes themselves (not their inputs), or null. */
    private String localDifference(Node l, Node r) {
        if (l.op().getClass() != r.op().getClass()) {
            return "ops differ";
        }
        if (!l.type().equals(r.type())) {
            return "types differ";
        }
        if (l.inputs().size() != r.inputs().size()) {
            return "input counts differ";
        }
        switch (l.op()) {
            case SourceOp.Param p -> {
                return Objects.equals(leftParams.get(l), rightParams.get(r)) ? null : "different parameters";
            }
            case SourceOp.Weight w -> {
                return !options.compareWeightKeys() || w.key().equals(((SourceOp.Weight) r.op()).key()) ? null : "weight keys differ";
            }
            case Linear lin -> {
                return null; // transpose_weight is compared with the weights, in sameLinearTransposed
            }
            default -> {
                return sameAttributes(l.op(), r.op()) ? null : "attributes differ";
            }
        }
    }

    private boolean sameAttributes(Op a, Op b) {
        Map<String, Object> x = a.attributes();
        Map<String, Object> y = b.attributes();
        for (Map.Entry<String, Object> e : x.entrySet()) {
            Object u = e.getValue();
            Object v = y.get(e.getKey());
            if (u instanceof Double du && v instanceof Double dv) {
                if (!(du.equals(dv) || Math.abs(du - dv) <= options.relTol() * Math.max(Math.abs(du), Math.abs(dv)))) {
                    return false;
                }
            } else if (u instanceof Tensor tu && v instanceof Tensor tv) {
                if (!tu.equals(tv)) {
                    return false;
                }
            } else if (!Objects.equals(u, v)) {
                return false;
            }
        }
        return true;
    }

    private static String differ(Node l, Node r, String why) {
        return why + "\n  left:  " + line(l) + "\n  right: " + line(r);
    }

    /** {@code %name = op(%a, %b) {attrs} : type}, unnamed values as {@code %#id}. */
    public static String line(Node n) {
        StringBuilder sb = new StringBuilder(ref(n)).append(" = ").append(n.op().name()).append('(');
        for (int i = 0; i < n.inputs().size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(ref(n.input(i)));
        }
        sb.append(')');
        Map<String, Object> attrs = new TreeMap<>(n.op().attributes());
        attrs.remove("type");
        if (!attrs.isEmpty()) {
            sb.append(' ').append(n.op().attributes());
        }
        return sb.append(" : ").append(n.type()).toString();
    }

    private static String ref(Node n) {
        return n.name() != null ? "%" + n.name() : "%#" + n.id();
    }
}
