package dev.tokc.passes.quant;

import dev.tokc.ir.DType;
import dev.tokc.ir.Graph;
import dev.tokc.ir.KvCacheSpec;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.interp.ExecutionContext;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.ir.interp.ReferenceKvCache;
import dev.tokc.ir.interp.WeightSource;
import dev.tokc.passes.transforms.LowerToPagedAttention;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Calibration statistics for activation-aware quantization (AWQ, SmoothQuant): for the input {@code x [.., in]} of
 * every named projection ({@code linear}, {@code fused_linear}) of a step program, per input channel the mean of
 * {@code |x|}, the mean of {@code x^2} and the max of {@code |x|} over the calibration tokens.
 *
 * <p>Collected with the reference interpreter: the step program is run on each calibration window as one fresh
 * sequence over a {@link ReferenceKvCache}, with the projections' inputs as extra outputs. Slow (float64 scalar) but
 * obviously the model's own activations; meant for a few hundred to a few thousand tokens of a small model.
 *
 * @param meanAbs per projection name: mean |x| per input channel
 * @param meanSq  per projection name: mean x^2 per input channel
 * @param maxAbs  per projection name: max |x| per input channel
 * @param tokens  calibration tokens seen
 */
public record ActivationStats(Map<String, double[]> meanAbs, Map<String, double[]> meanSq, Map<String, double[]> maxAbs,
        long tokens) {

    /** The projections of {@code g} whose activation statistics are collected: named linear / fused_linear nodes. */
    static boolean isProjection(Node n) {
        return (n.op() instanceof ModelOp.Linear || n.op() instanceof TargetOp.FusedLinear) && n.name() != null
                && !n.name().isEmpty();
    }

    /**
     * Runs the step program {@code program} over {@code ids} in windows of {@code window} tokens and accumulates the
     * statistics of every projection input.
     */
    public static ActivationStats collect(Graph program, WeightSource weights, int[] ids, int window) {
        if (!program.name().equals(LowerToPagedAttention.GRAPH_NAME)) {
            throw new IllegalArgumentException("calibration runs a step program, got @" + program.name());
        }
        Map<String, Node> inputsOf = new LinkedHashMap<>();
        for (Node n : program.nodes()) {
            if (isProjection(n)) {
                inputsOf.put(n.name(), n.input(0));
            }
        }
        List<Node> outs = new ArrayList<>(program.outputs());
        List<String> names = new ArrayList<>(inputsOf.keySet());
        names.forEach(name -> outs.add(inputsOf.get(name)));
        Graph probe = program.withOutputs(outs);
        KvCacheSpec spec = program.nodes().stream().filter(n -> n.op() instanceof TargetOp.PagedAttention)
                .map(n -> ((TargetOp.PagedAttention) n.op()).spec()).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("step program without paged_attention"));
        Map<String, double[]> sumAbs = new HashMap<>();
        Map<String, double[]> sumSq = new HashMap<>();
        Map<String, double[]> max = new HashMap<>();
        long tokens = 0;
        for (int from = 0; from < ids.length; from += window) {
            int n = Math.min(window, ids.length - from);
            List<Tensor> values = run(probe, spec, weights, java.util.Arrays.copyOfRange(ids, from, from + n));
            for (int i = 0; i < names.size(); i++) {
                Tensor x = values.get(program.outputs().size() + i);
                int in = (int) x.dim(x.rank() - 1);
                double[] sa = sumAbs.computeIfAbsent(names.get(i), k -> new double[in]);
                double[] sq = sumSq.computeIfAbsent(names.get(i), k -> new double[in]);
                double[] mx = max.computeIfAbsent(names.get(i), k -> new double[in]);
                double[] v = x.toDoubleArray();
                for (int j = 0; j < v.length; j++) {
                    int c = j % in;
                    double a = Math.abs(v[j]);
                    sa[c] += a;
                    sq[c] += a * a;
                    mx[c] = Math.max(mx[c], a);
                }
            }
            tokens += n;
        }
        final long count = tokens;
        Map<String, double[]> meanAbs = new LinkedHashMap<>();
        Map<String, double[]> meanSq = new LinkedHashMap<>();
        for (String name : names) {
            meanAbs.put(name, java.util.Arrays.stream(sumAbs.get(name)).map(s -> s / count).toArray());
            meanSq.put(name, java.util.Arrays.stream(sumSq.get(name)).map(s -> s / count).toArray());
        }
        return new ActivationStats(meanAbs, meanSq, max, tokens);
    }

    /** One window as a fresh sequence: slots 0..n-1 in blocks 1.. of a private cache (block 0 is the null block). */
    private static List<Tensor> run(Graph probe, KvCacheSpec spec, WeightSource weights, int[] ids) {
        int n = ids.length;
        int bs = spec.blockSize();
        int blocks = Math.ceilDiv(n, bs);
        long[] tokens = new long[n];
        long[] positions = new long[n];
        long[] slots = new long[n];
        for (int t = 0; t < n; t++) {
            tokens[t] = ids[t];
            positions[t] = t;
            slots[t] = (long) (1 + t / bs) * bs + t % bs;
        }
        long[] table = new long[blocks];
        for (int b = 0; b < blocks; b++) {
            table[b] = 1 + b;
        }
        Map<String, Tensor> in = new HashMap<>();
        in.put(LowerToPagedAttention.TOKENS, Tensor.ofLongs(DType.I64, new long[] {n}, tokens));
        in.put(LowerToPagedAttention.POSITIONS, Tensor.ofLongs(DType.I64, new long[] {n}, positions));
        in.put(LowerToPagedAttention.SLOTS, Tensor.ofLongs(DType.I64, new long[] {n}, slots));
        in.put(LowerToPagedAttention.BLOCK_TABLES, Tensor.ofLongs(DType.I32, new long[] {1, blocks}, table));
        in.put(LowerToPagedAttention.CONTEXT_LENS, Tensor.ofLongs(DType.I32, new long[] {1}, new long[] {n}));
        in.put(LowerToPagedAttention.QUERY_STARTS, Tensor.ofLongs(DType.I32, new long[] {2}, new long[] {0, n}));
        in.put(LowerToPagedAttention.LOGITS_INDICES, Tensor.ofLongs(DType.I64, new long[] {1}, new long[] {n - 1}));
        ReferenceKvCache cache = new ReferenceKvCache(spec, blocks + 1);
        return Interpreter.run(probe, in, weights, ExecutionContext.withKvCache(cache));
    }
}
