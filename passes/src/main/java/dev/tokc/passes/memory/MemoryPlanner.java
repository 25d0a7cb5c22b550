package dev.tokc.passes.memory;

import dev.tokc.ir.Dim;
import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TargetOp;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Liveness-based memory planning: assigns every activation of a graph an offset in one arena per batch bucket, so
 * that values live at the same time never overlap and values that are not share bytes.
 *
 * <p><b>Schedule and liveness.</b> The program runs its nodes in {@link Graph#nodes()} order (the order every
 * backend emits). A value is live from the step that computes it to the last step that reads it; graph outputs stay
 * live to the end. Which values are activations: see {@link MemoryPlan}.
 *
 * <p><b>In place.</b> A value may take over the bytes of an input that dies at its step when its op writes element
 * i after reading only element i of that input (elementwise primitive ops, silu/gelu, fused {@code elementwise},
 * and the reshapes that only relabel dims: reshape, squeeze, unsqueeze), and the two have the same dtype and the
 * same size in every bucket. Such chains form one buffer.
 *
 * <p><b>Placement.</b> Per bucket, sizes are evaluated at the bucket's symbol values, buffers are taken largest
 * first (ties: earliest, then schedule order) and each goes to the lowest {@link #ALIGNMENT}-aligned offset where it
 * overlaps no already-placed buffer live at the same time ("greedy by size", as TFLite's arena planner). The result
 * is deterministic: it depends only on the graph and the buckets.
 */
public final class MemoryPlanner {
    /** Offsets and the arena are multiples of this (a cache line; what vector loads and CUDA want). */
    public static final long ALIGNMENT = 64;

    /** The token counts of the default buckets. */
    public static final long[] DEFAULT_TOKENS = {1, 16, 64, 256, 512};

    /** The symbols that count tokens: a bucket binds them to its token count. */
    public static final Set<String> TOKEN_SYMBOLS = Set.of("tokens", "seq", "num_tokens");

    private MemoryPlanner() {}

    /**
     * One bucket per token count: the token symbols ({@link #TOKEN_SYMBOLS}) of the graph take that count and every
     * other symbol ({@code batch}, {@code seqs}, ...) takes 1 (one sequence of {@code tokens} tokens; a ragged batch
     * of n sequences shares the same activation sizes, which depend on the total tokens only).
     */
    public static List<BatchBucket> tokenBuckets(Graph g, long... tokens) {
        Set<String> symbols = new TreeSet<>();
        for (Node n : g.nodes()) {
            for (Dim d : n.shape().dims()) {
                symbols.addAll(d.symbols());
            }
        }
        List<BatchBucket> out = new ArrayList<>();
        for (long t : tokens) {
            Map<String, Long> b = new LinkedHashMap<>();
            for (String s : symbols) {
                b.put(s, TOKEN_SYMBOLS.contains(s) ? t : 1L);
            }
            out.add(new BatchBucket("tokens=" + t, b));
        }
        return out;
    }

    /** The plan for {@link #tokenBuckets} at {@link #DEFAULT_TOKENS}. */
    public static MemoryPlan plan(Graph g) {
        return plan(g, tokenBuckets(g, DEFAULT_TOKENS));
    }

    /**
     * Plans {@code g} for {@code buckets}. Throws {@link IllegalArgumentException} naming the value when an
     * activation's size cannot be evaluated (an unknown dim {@code ?}, or a symbol the bucket does not bind).
     */
    public static MemoryPlan plan(Graph g, List<BatchBucket> buckets) {
        List<Node> order = g.nodes();
        Map<Node, Integer> step = new IdentityHashMap<>();
        for (int i = 0; i < order.size(); i++) {
            step.put(order.get(i), i);
        }
        Map<Node, Integer> lastUse = new IdentityHashMap<>();
        for (int i = 0; i < order.size(); i++) {
            for (Node in : order.get(i).inputs()) {
                lastUse.put(in, i);
            }
        }
        Set<Node> outputs = Collections.newSetFromMap(new IdentityHashMap<>());
        outputs.addAll(g.outputs());
        Set<Node> compileTime = compileTimeValues(order);

        // Activations, their liveness and sizes.
        List<Node> acts = new ArrayList<>();
        for (Node n : order) {
            if (!(n.op() instanceof SourceOp) && !compileTime.contains(n)) {
                acts.add(n);
            }
        }
        int end = order.size();
        Map<Node, Integer> last = new IdentityHashMap<>();
        Map<Node, long[]> sizes = new IdentityHashMap<>();
        for (Node n : acts) {
            last.put(n, outputs.contains(n) ? end : lastUse.getOrDefault(n, step.get(n)));
            long[] s = new long[buckets.size()];
            for (int b = 0; b < s.length; b++) {
                s[b] = bytes(n, buckets.get(b));
            }
            sizes.put(n, s);
        }

        // In-place chains: each activation joins the buffer of an input that dies at its step, when it may.
        Map<Node, Node> inPlaceOf = new IdentityHashMap<>();
        Map<Node, Integer> buffer = new IdentityHashMap<>();
        List<List<Node>> buffers = new ArrayList<>();
        for (Node n : acts) {
            Node donor = null;
            if (mayWriteOverInput(n)) {
                for (Node in : n.inputs()) {
                    if (sizes.containsKey(in) && !outputs.contains(in) && last.get(in).equals(step.get(n))
                            && in.dtype() == n.dtype() && java.util.Arrays.equals(sizes.get(in), sizes.get(n))
                            && !inPlaceOf.containsValue(in)) {
                        donor = in;
                        break;
                    }
                }
            }
            if (donor != null) {
                inPlaceOf.put(n, donor);
                int id = buffer.get(donor);
                buffer.put(n, id);
                buffers.get(id).add(n);
            } else {
                buffer.put(n, buffers.size());
                buffers.add(new ArrayList<>(List.of(n)));
            }
        }

        // Placement per bucket.
        int nb = buckets.size();
        long[][] offsetOf = new long[buffers.size()][nb];
        for (int b = 0; b < nb; b++) {
            int bucket = b;
            int[] from = new int[buffers.size()];
            int[] to = new int[buffers.size()];
            long[] size = new long[buffers.size()];
            for (int i = 0; i < buffers.size(); i++) {
                List<Node> members = buffers.get(i);
                from[i] = step.get(members.getFirst());
                to[i] = last.get(members.getLast());
                for (Node m : members) {
                    size[i] = Math.max(size[i], sizes.get(m)[bucket]);
                }
            }
            List<Integer> byPriority = new ArrayList<>();
            for (int i = 0; i < buffers.size(); i++) {
                byPriority.add(i);
            }
            byPriority.sort(Comparator.<Integer>comparingLong(i -> -size[i]).thenComparingInt(i -> from[i])
                    .thenComparingInt(i -> i));
            List<Integer> placed = new ArrayList<>();
            for (int i : byPriority) {
                List<long[]> taken = new ArrayList<>();
                for (int p : placed) {
                    if (from[i] <= to[p] && from[p] <= to[i] && size[p] > 0) {
                        taken.add(new long[] {offsetOf[p][bucket], offsetOf[p][bucket] + size[p]});
                    }
                }
                taken.sort(Comparator.comparingLong(r -> r[0]));
                long offset = 0;
                for (long[] r : taken) {
                    if (offset + size[i] <= r[0] || size[i] == 0) {
                        break;
                    }
                    offset = Math.max(offset, align(r[1]));
                }
                offsetOf[i][bucket] = offset;
                placed.add(i);
            }
        }

        List<MemoryPlan.Value> values = new ArrayList<>();
        for (Node n : acts) {
            values.add(new MemoryPlan.Value(n, step.get(n), last.get(n), offsetOf[buffer.get(n)], sizes.get(n),
                    inPlaceOf.get(n)));
        }
        return new MemoryPlan(g.name(), buckets, values, ALIGNMENT);
    }

    /** Values that no graph input reaches (weights, constants and expressions over them): not activations. */
    static Set<Node> compileTimeValues(List<Node> order) {
        Set<Node> out = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Node n : order) {
            boolean fixed = switch (n.op()) {
                case SourceOp.Param p -> false;
                case SourceOp s -> true;
                case TargetOp t -> false; // cache reads/writes, collectives: run-time effects
                default -> n.inputs().stream().allMatch(out::contains);
            };
            if (fixed) {
                out.add(n);
            }
        }
        return out;
    }

    /** Whether n's op reads element i of each same-typed input only to write element i of the result. */
    static boolean mayWriteOverInput(Node n) {
        return switch (n.op()) {
            case PrimitiveOp.Binary b -> true;
            case PrimitiveOp.Cast c -> false;
            case PrimitiveOp.Unary u -> true;
            case PrimitiveOp.Pow p -> true;
            case PrimitiveOp.Where w -> true;
            case PrimitiveOp.Reshape r -> true;
            case PrimitiveOp.Squeeze s -> true;
            case PrimitiveOp.Unsqueeze u -> true;
            case ModelOp.Silu s -> true;
            case ModelOp.Gelu g -> true;
            case ModelOp.Swiglu s -> true;
            case TargetOp.Elementwise e -> true;
            default -> false;
        };
    }

    /** The value's bytes in {@code bucket}. */
    static long bytes(Node n, BatchBucket bucket) {
        if (n.type().isQuantized()) {
            throw new IllegalArgumentException(n.describe() + " is a packed quantized value; only weights may be");
        }
        long elements = 1;
        for (Dim d : n.shape().dims()) {
            if (d.isUnknown() || !bucket.bindings().keySet().containsAll(d.symbols())) {
                throw new IllegalArgumentException("cannot size " + n + " in bucket " + bucket.name()
                        + ": dim " + d + " is not known there");
            }
            long extent = d.evaluate(bucket.bindings());
            if (extent < 0) {
                throw new IllegalArgumentException("cannot size " + n + " in bucket " + bucket.name() + ": dim " + d
                        + " is " + extent + " there");
            }
            elements = Math.multiplyExact(elements, extent);
        }
        return Math.ceilDiv(Math.multiplyExact(elements, n.dtype().bits()), 8);
    }

    static long align(long n) {
        return Math.ceilDiv(n, ALIGNMENT) * ALIGNMENT;
    }
}
