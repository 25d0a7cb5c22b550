package dev.tokc.passes;

import dev.tokc.ir.Graph;
import dev.tokc.ir.IrException;
import dev.tokc.ir.Verifier;
import dev.tokc.ir.text.IrPrinter;
import dev.tokc.passes.rewrite.RewriteDriver;
import dev.tokc.passes.transforms.Canonicalize;
import dev.tokc.passes.transforms.ConstantFold;
import dev.tokc.passes.transforms.Cse;
import dev.tokc.passes.transforms.Dce;
import dev.tokc.passes.transforms.LowerToPagedAttention;
import dev.tokc.passes.transforms.Raise;
import dev.tokc.passes.transforms.FuseElementwise;
import dev.tokc.passes.transforms.FuseGateUp;
import dev.tokc.passes.transforms.FuseLinearActivation;
import dev.tokc.passes.transforms.FuseLinearResidual;
import dev.tokc.passes.transforms.FuseQkv;
import dev.tokc.passes.transforms.FuseResidualNorm;
import dev.tokc.passes.transforms.FuseRopeKvWrite;
import dev.tokc.passes.transforms.ShapeInfer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The optimiser: named phases run in order, each a list of passes. {@link #standard()} is the one place that says
 * which passes run and why in that order.
 *
 * <p>Options (each returns a new pipeline): {@link #verifyEach} runs {@link Verifier} on the input and after every
 * pass and names the pass that broke the graph; {@link #dumpAfter} hands the IR text after a pass (or after a
 * whole phase) to a sink; {@link #failOnNonConvergence} makes
 * rule-based passes throw instead of giving up when their rules do not reach a fixed point (tests turn it on).
 */
public final class Pipeline {

    /** A step of the pipeline: a name, why it is there, and its passes in order. */
    public record Phase(String name, String comment, List<Pass> passes) {
        public Phase {
            Objects.requireNonNull(name);
            Objects.requireNonNull(comment);
            passes = List.copyOf(passes);
        }

        public static Phase of(String name, String comment, Pass... passes) {
            return new Phase(name, comment, List.of(passes));
        }
    }

    /** What one pass did: its phase, its name, its counters and whether it changed the graph. */
    public record PassRun(String phase, String pass, Map<String, Long> counters, boolean changed) {
        public PassRun {
            counters = Map.copyOf(new LinkedHashMap<>(counters));
        }
    }

    /** The optimised graph and one {@link PassRun} per pass run, in order. */
    public record Result(Graph graph, List<PassRun> runs, List<String> counterLines) {
        public Result {
            runs = List.copyOf(runs);
            counterLines = List.copyOf(counterLines);
        }

        /** One line per pass: {@code simplify/constant-fold: folded=3}, as the manifest and {@code -v} show it. */
        public String report() {
            return String.join("\n", counterLines);
        }

        /** Sum of a counter over every run of the named pass. */
        public long counter(String pass, String counter) {
            return runs.stream().filter(r -> r.pass().equals(pass))
                    .mapToLong(r -> r.counters().getOrDefault(counter, 0L)).sum();
        }
    }

    private final List<Phase> phases;
    private final boolean verifyEach;
    private final boolean failOnNonConvergence;
    private final Function<Graph, String> printer;
    private final Map<String, List<Consumer<String>>> dumps;

    private Pipeline(List<Phase> phases, boolean verifyEach, boolean failOnNonConvergence,
                     Function<Graph, String> printer, Map<String, List<Consumer<String>>> dumps) {
        this.phases = List.copyOf(phases);
        this.verifyEach = verifyEach;
        this.failOnNonConvergence = failOnNonConvergence;
        this.printer = printer;
        this.dumps = dumps;
        Set<String> names = new LinkedHashSet<>();
        for (Phase p : this.phases) {
            if (!names.add(p.name())) {
                throw new IllegalArgumentException("two phases named " + p.name());
            }
        }
    }

    public static Pipeline of(Phase... phases) {
        return new Pipeline(List.of(phases), false, false, IrPrinter::print, Map.of());
    }

    /** A one-phase pipeline, what {@code tokc ir-opt --passes=a,b,c} runs. */
    public static Pipeline of(List<Pass> passes) {
        return of(new Phase("passes", "the passes named on the command line, in that order", passes));
    }

    /** The pipeline of a {@code --passes} value. */
    public static Pipeline parse(String passList, PassRegistry registry) {
        return of(registry.parse(passList));
    }

    /**
     * The target-independent part: the optimised model-level graph, still the full forward
     * {@code @forward(%input_ids: i64[batch, seq])}. ONNX and checkpoint imports of one model agree after it.
     */
    public static Pipeline modelLevel() {
        return of(modelLevelPhases().toArray(Phase[]::new));
    }

    /** The default optimisation pipeline, phase by phase: {@link #modelLevel()}, then the step program. */
    public static Pipeline standard() {
        List<Phase> phases = new ArrayList<>(modelLevelPhases());
        // Phase 4. Step program: the full forward becomes one step over a ragged batch and a paged KV cache
        // (kv_write + paged_attention per layer, positions/slots/block tables as inputs, logits only at
        // logits_indices). Order: after raising (it needs model-level attention) and before fusion (RoPE
        // into the KV write fuses the kv_write made here) and memory planning. The shape plumbing of the old
        // [batch, seq] input folds away again before they see the step program.
        phases.add(Phase.of("step-program", "lower attention to a paged KV cache, then fold the old input's shape plumbing",
                new LowerToPagedAttention(), new ShapeInfer(), new Canonicalize(), new Cse(), new Dce()));
        // Phase 5. Fuse: merge what a kernel can do in one pass over memory. Gate/up first (it claims the MLP's
        // sibling projections, which fuse-qkv would otherwise stack without the activation), then the remaining
        // siblings (q, k, v); the residual norm before the residual epilogue (it takes only the add whose sole reader
        // is a norm: the final norm); activations into GEMM epilogues; RoPE into the paged KV write; generic
        // elementwise chains last, since the other fusions match the individual ops it would absorb.
        phases.add(Phase.of("fuse", "gate/up + activation, qkv, residual+norm, residual and activation epilogues, "
                        + "rope into kv write, elementwise chains",
                new FuseGateUp(), new FuseQkv(), new FuseResidualNorm(), new FuseLinearResidual(),
                new FuseLinearActivation(), new FuseRopeKvWrite(), new FuseElementwise()));
        return of(phases.toArray(Phase[]::new));
    }

    private static List<Phase> modelLevelPhases() {
        return List.of(
                // Phase 1. Simplify: resolve shape computations to dims and constants first, so every later pattern
                // sees `dims [batch, seq, 6, 32]` instead of a shape(x)/gather/concat soup; then fold what became
                // constant and apply the algebraic identities, which may expose more of both.
                Phase.of("simplify", "resolve shapes, fold constants, apply algebraic identities",
                        new ShapeInfer(), new ConstantFold(), new Canonicalize()),
                // Phase 2. Clean up: merge the duplicates the rewrites left behind (two equal reshapes of one value),
                // then state that nothing unreachable is left, before raising and fusion match on the graph.
                Phase.of("cleanup", "merge duplicate computations, drop dead nodes", new Cse(), new Dce()),
                // Phase 3. Raise: match primitive-op soups (ONNX imports) into model ops, then let canonicalize cancel
                // the exporters' transposes around them and drop the dead soup; a no-op on checkpoint imports.
                Phase.of("raise", "primitive ops -> model ops (rms_norm, rope, attention, linear, ...)",
                        new Raise(), new Canonicalize(), new Cse(), new Dce()));
    }

    public List<Phase> phases() {
        return phases;
    }

    /** Every pass name in run order. */
    public List<String> passNames() {
        List<String> out = new ArrayList<>();
        phases.forEach(ph -> ph.passes().forEach(p -> out.add(p.name())));
        return out;
    }

    public Pipeline verifyEach(boolean on) {
        return new Pipeline(phases, on, failOnNonConvergence, printer, dumps);
    }

    public Pipeline failOnNonConvergence(boolean on) {
        return new Pipeline(phases, verifyEach, on, printer, dumps);
    }

    /** The printer used for dumps; the IR text form ({@link IrPrinter}) unless replaced. */
    public Pipeline withPrinter(Function<Graph, String> irPrinter) {
        return new Pipeline(phases, verifyEach, failOnNonConvergence, Objects.requireNonNull(irPrinter), dumps);
    }

    /**
     * Sends the printed IR to {@code sink} after every run of the pass named {@code name}, or after the last pass
     * of the phase of that name. Throws listing the pipeline's passes and phases when the name is neither.
     */
    public Pipeline dumpAfter(String name, Consumer<String> sink) {
        boolean known = passNames().contains(name) || phases.stream().anyMatch(p -> p.name().equals(name));
        if (!known) {
            throw new IllegalArgumentException("--dump-after=" + name + ": no such pass or phase in this pipeline; passes: "
                    + String.join(", ", new LinkedHashSet<>(passNames())) + "; phases: "
                    + String.join(", ", phases.stream().map(Phase::name).toList()));
        }
        Map<String, List<Consumer<String>>> m = new LinkedHashMap<>(dumps);
        List<Consumer<String>> sinks = new ArrayList<>(m.getOrDefault(name, List.of()));
        sinks.add(Objects.requireNonNull(sink));
        m.put(name, List.copyOf(sinks));
        return new Pipeline(phases, verifyEach, failOnNonConvergence, printer, Map.copyOf(m));
    }

    public Result run(Graph input) {
        RewriteDriver.Options rw = failOnNonConvergence ? RewriteDriver.Options.STRICT : RewriteDriver.Options.DEFAULT;
        if (verifyEach) {
            verify(input, "on the pipeline's input");
        }
        Graph g = input;
        List<PassRun> runs = new ArrayList<>();
        List<String> lines = new ArrayList<>();
        for (Phase phase : phases) {
            for (Pass pass : phase.passes()) {
                PassContext ctx = new PassContext(pass.name(), rw);
                Graph out;
                try {
                    out = pass.run(g, ctx);
                } catch (RuntimeException e) {
                    throw new IllegalStateException("pass " + pass.name() + " (phase " + phase.name() + ") failed on @"
                            + g.name() + ": " + e.getMessage(), e);
                }
                if (verifyEach) {
                    verify(out, "after pass " + pass.name() + " (phase " + phase.name() + ")");
                }
                runs.add(new PassRun(phase.name(), pass.name(), ctx.counters(), !out.equals(g)));
                lines.add(phase.name() + "/" + pass.name() + ": " + ctx.report());
                g = out;
                dump(pass.name(), "pass " + pass.name(), g);
            }
            dump(phase.name(), "phase " + phase.name(), g);
        }
        return new Result(g, runs, lines);
    }

    private void dump(String name, String what, Graph g) {
        List<Consumer<String>> sinks = dumps.get(name);
        if (sinks == null) {
            return;
        }
        String text = "// -----// IR dump after " + what + " //----- //\n" + printer.apply(g);
        sinks.forEach(s -> s.accept(text));
    }

    private static void verify(Graph g, String where) {
        List<String> problems = Verifier.verify(g);
        if (!problems.isEmpty()) {
            throw new IrException("verification failed " + where + ": graph @" + g.name() + " is invalid:\n  "
                    + String.join("\n  ", problems));
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Phase p : phases) {
            sb.append(p.name()).append(": ").append(String.join(", ", p.passes().stream().map(Pass::name).toList()))
                    .append("  // ").append(p.comment()).append('\n');
        }
        return sb.toString();
    }
}
