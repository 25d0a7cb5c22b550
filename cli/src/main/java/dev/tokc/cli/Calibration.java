package dev.tokc.cli;

import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.QuantType;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.ir.interp.WeightSource;
import dev.tokc.passes.quant.ActivationStats;
import dev.tokc.passes.quant.ScaleSearch;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The input scales of {@code quantize-weights} from calibration text (issue 7): activation statistics of every
 * projection ({@link ActivationStats}, the reference interpreter over the step program), then per projection either
 * the AWQ search (int4 / nf4) or SmoothQuant migration (w8a8) on its dense weight ({@link ScaleSearch}).
 */
final class Calibration {
    private Calibration() {}

    /** Tokens per interpreter run: the statistics are per token, the window only bounds the run's cost. */
    static final int WINDOW = 128;

    /**
     * @param smoothAlpha SmoothQuant migration strength, or NaN for AWQ
     */
    static Function<Graph, Map<String, double[]>> scales(QuantType type, double smoothAlpha, int[] ids, WeightSource weights,
            PrintStream log) {
        return g -> {
            long t0 = System.nanoTime();
            ActivationStats stats = ActivationStats.collect(g, weights, ids, WINDOW);
            Map<String, double[]> out = new LinkedHashMap<>();
            int searched = 0;
            for (Node p : g.nodes()) {
                boolean transposed = p.op() instanceof ModelOp.Linear l ? l.transposeWeight()
                        : p.op() instanceof TargetOp.FusedLinear f && f.transposeWeight();
                if (p.name() == null || !stats.meanAbs().containsKey(p.name()) || transposed
                        || !p.input(1).shape().dim(0).isConstant() || !p.input(1).shape().dim(1).isConstant()) {
                    continue;
                }
                int rows = Math.toIntExact(p.input(1).shape().dim(0).value());
                int cols = Math.toIntExact(p.input(1).shape().dim(1).value());
                if (type.format().groupWise() && cols % type.groupSize() != 0) {
                    continue;
                }
                double[] w;
                try {
                    w = Interpreter.run(new Graph("w", List.of(), List.of(p.input(1))), Map.of(), weights).getFirst().toDoubleArray();
                } catch (RuntimeException e) {
                    continue; // not a weight-only operand: the pass will not quantize it either
                }
                double[] s = Double.isNaN(smoothAlpha)
                        ? ScaleSearch.awq(type, w, rows, cols, stats.meanAbs().get(p.name()), stats.meanSq().get(p.name()))
                        : ScaleSearch.smoothQuant(w, rows, cols, stats.maxAbs().get(p.name()), smoothAlpha);
                searched++;
                if (s != null) {
                    out.put(p.name(), s);
                }
            }
            log.printf(Locale.ROOT, "calibration: %d tokens, %s scales for %d of %d projections in %.1f s%n", stats.tokens(),
                    Double.isNaN(smoothAlpha) ? "AWQ" : "SmoothQuant (alpha " + smoothAlpha + ")", out.size(), searched,
                    (System.nanoTime() - t0) / 1e9);
            return out;
        };
    }
}
