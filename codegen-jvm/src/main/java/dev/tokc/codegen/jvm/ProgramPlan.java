package dev.tokc.codegen.jvm;

import com.palantir.javapoet.NameAllocator;
import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.ir.SourceOp;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The program both emitters render: the graph's nodes in topological order, each lowered through the
 * {@link KernelTable}, with the run-time sources of its symbolic dims, the Java names of its buffers and the engine
 * tensors it reads (name and storage dtype).
 *
 * <p>Storage dtypes: a tensor used as a GEMM or embedding matrix is stored in the engine dtype ({@code f32},
 * {@code bf16}, {@code f16}); everything else the kernels read as f32 (norm weights, biases, rotary frequencies)
 * or i64 (integer constants).
 *
 * @param className  binary name of the generated class
 * @param graph      the lowered graph (after {@link WeightPlan})
 * @param symbols    each dim symbol and where its value comes from: {input index, axis}
 * @param steps      one entry per node that produces code or aliases a buffer, in order
 * @param localNames Java identifier of each node's buffer (inputs and invoke results)
 * @param tensors    the stored tensors the program reads, by engine name, in first-use order
 * @param kernels    the elementwise kernels generated into the class, one per distinct expression and arity
 */
public record ProgramPlan(String className, Graph graph, Map<String, int[]> symbols, List<Step> steps,
        Map<Node, String> localNames, Map<String, StoredTensor> tensors, List<GeneratedKernel> kernels) {

    /** A generated kernel method: its name, expression and number of input buffers. */
    public record GeneratedKernel(String name, dev.tokc.ir.ElementwiseExpr expr, int inputs) {}

    /** The generated method of an elementwise step. */
    public GeneratedKernel kernel(Lowering.Generated g) {
        return kernels.stream().filter(k -> k.expr().equals(g.expr()) && k.inputs() == g.inputs().size()).findFirst()
                .orElseThrow(() -> new IllegalStateException("no kernel for " + g.expr()));
    }

    /** One node and what it became. */
    public record Step(Node node, Lowering lowering) {}

    /** A tensor the engine must store: its graph node, engine name, and the dtype the kernels read it in. */
    public record StoredTensor(Node node, String name, DType dtype) {}

    /** Lowers every node of {@code g} (already prepared by {@link WeightPlan}) through {@code table}. */
    public static ProgramPlan of(String className, Graph g, KernelTable table) {
        Map<String, int[]> symbols = new LinkedHashMap<>();
        for (int i = 0; i < g.inputs().size(); i++) {
            List<Dim> dims = g.inputs().get(i).shape().dims();
            for (int a = 0; a < dims.size(); a++) {
                Optional<String> s = dims.get(a).symbol();
                if (s.isPresent() && !symbols.containsKey(s.get())) {
                    symbols.put(s.get(), new int[] {i, a});
                }
            }
        }
        NameAllocator names = new NameAllocator();
        names.newName("c");
        symbols.keySet().forEach(s -> names.newName(s, "dim:" + s));
        Map<Node, String> locals = new IdentityHashMap<>();
        for (Node p : g.inputs()) {
            locals.put(p, names.newName(suggest(p), p));
        }
        List<Step> lowered = new ArrayList<>();
        Map<Node, String> stored = new IdentityHashMap<>();
        int constants = 0;
        for (Node n : g.nodes()) {
            if (n.op() instanceof SourceOp.Param) {
                continue;
            }
            if (KernelTable.isStored(n)) {
                String name = n.op() instanceof SourceOp.Weight w ? w.key() : "const." + constants++;
                stored.put(n, name);
                continue;
            }
            lowered.add(new Step(n, table.lower(n)));
        }
        List<Step> steps = live(lowered, g.outputs());
        Map<String, StoredTensor> tensors = new LinkedHashMap<>();
        List<GeneratedKernel> kernels = new ArrayList<>();
        int temps = 0;
        for (Step step : steps) {
            if (step.lowering() instanceof Lowering.Generated gen) {
                Node n = step.node();
                String suggestion = n.name() == null || n.name().isEmpty() || Character.isDigit(n.name().charAt(0))
                        ? "t" + temps++ : n.name();
                locals.put(n, names.newName(suggestion, n));
                if (kernels.stream().noneMatch(k -> k.expr().equals(gen.expr()) && k.inputs() == gen.inputs().size())) {
                    kernels.add(new GeneratedKernel(names.newName("elementwise" + kernels.size()), gen.expr(), gen.inputs().size()));
                }
                for (Node in : gen.inputs()) {
                    record(new Arg.Value(in), stored, tensors, symbols, n, steps);
                }
                record(gen.count(), stored, tensors, symbols, n, steps);
            }
            if (step.lowering() instanceof Lowering.Invoke inv) {
                Node n = step.node();
                String suggestion = n.name() == null || n.name().isEmpty() || Character.isDigit(n.name().charAt(0))
                        ? "t" + temps++ : n.name();
                locals.put(n, names.newName(suggestion, n));
                for (Arg a : inv.call().args()) {
                    record(a, stored, tensors, symbols, n, steps);
                }
            }
        }
        for (Node out : g.outputs()) {
            checkSymbols(out.shape().dims(), symbols, out);
            Node root = resolve(out, steps);
            if (stored.containsKey(root)) {
                tensors.putIfAbsent(stored.get(root), new StoredTensor(root, stored.get(root), plainDtype(root)));
            }
        }
        return new ProgramPlan(className, g, symbols, List.copyOf(steps), locals, tensors, List.copyOf(kernels));
    }

    private static void record(Arg a, Map<Node, String> stored, Map<String, StoredTensor> tensors, Map<String, int[]> symbols,
            Node user, List<Step> steps) {
        switch (a) {
            case Arg.Matrix m -> {
                Node root = resolve(m.weight(), steps);
                String name = storedName(root, stored, user);
                // null dtype: stored in the engine's dtype; a matrix use wins over a plain one (same bytes then).
                tensors.merge(name, new StoredTensor(root, name, null), (x, y) -> new StoredTensor(x.node(), name, null));
            }
            case Arg.Floats f -> {
                Node root = resolve(f.constant(), steps);
                tensors.putIfAbsent(storedName(root, stored, user), new StoredTensor(root, storedName(root, stored, user), DType.F32));
            }
            case Arg.Value v -> {
                Node root = resolve(v.node(), steps);
                if (stored.containsKey(root)) {
                    tensors.putIfAbsent(stored.get(root), new StoredTensor(root, stored.get(root), plainDtype(root)));
                }
            }
            case Arg.Size s -> checkSymbols(s.factors(), symbols, user);
            case Arg.Sizes s -> s.sizes().forEach(x -> checkSymbols(x.factors(), symbols, user));
            default -> { }
        }
    }

    private static String storedName(Node n, Map<Node, String> stored, Node user) {
        String name = stored.get(n);
        if (name == null) {
            throw new CodegenException("node " + user.describe() + " needs " + n.describe() + " to be a stored tensor");
        }
        return name;
    }

    private static void checkSymbols(List<Dim> dims, Map<String, int[]> symbols, Node user) {
        for (Dim d : dims) {
            for (String s : d.symbols()) {
                if (!symbols.containsKey(s)) {
                    throw new CodegenException("node " + user.describe() + " uses dimension '" + s
                            + "', which no program input's shape provides");
                }
            }
        }
    }

    /** How a stored tensor read as plain data is kept: f32 for floats, i64 for integers, packed bytes (u8) when quantized. */
    private static DType plainDtype(Node n) {
        if (n.type().isQuantized()) {
            return DType.U8;
        }
        return n.dtype().isFloat() ? DType.F32 : DType.I64;
    }

    private static String suggest(Node n) {
        String s = n.name();
        return s == null || s.isEmpty() || Character.isDigit(s.charAt(0)) ? "in" + (s == null ? "" : s) : s;
    }

    /**
     * The steps the outputs need. An alias depends only on its source (a reshape's shape operand is not read at run
     * time), so the {@code dims} nodes that only feed reshapes produce no code.
     */
    private static List<Step> live(List<Step> steps, List<Node> outputs) {
        Map<Node, Step> byNode = new IdentityHashMap<>();
        steps.forEach(s -> byNode.put(s.node(), s));
        java.util.Set<Node> needed = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        java.util.ArrayDeque<Node> work = new java.util.ArrayDeque<>(outputs);
        while (!work.isEmpty()) {
            Node n = work.pop();
            if (!needed.add(n)) {
                continue;
            }
            Step s = byNode.get(n);
            if (s == null) {
                continue;
            }
            switch (s.lowering()) {
                case Lowering.Alias a -> work.push(a.source());
                case Lowering.Generated gen -> gen.inputs().forEach(work::push);
                case Lowering.Invoke inv -> {
                    for (Arg arg : inv.call().args()) {
                        switch (arg) {
                            case Arg.Value v -> work.push(v.node());
                            case Arg.Matrix m -> work.push(m.weight());
                            case Arg.Floats f -> work.push(f.constant());
                            default -> { }
                        }
                    }
                }
            }
        }
        return steps.stream().filter(s -> needed.contains(s.node())).toList();
    }

    /** The node whose buffer holds {@code n}'s value (following aliases). */
    public Node root(Node n) {
        return resolve(n, steps);
    }

    private static Node resolve(Node n, List<Step> steps) {
        Node cur = n;
        while (true) {
            Node c = cur;
            Optional<Step> s = steps.stream().filter(x -> x.node() == c).findFirst();
            if (s.isPresent() && s.get().lowering() instanceof Lowering.Alias a) {
                cur = a.source();
            } else {
                return cur;
            }
        }
    }

    /** The engine name of a stored node, if it is one. */
    public Optional<String> storedName(Node n) {
        return tensors.values().stream().filter(t -> t.node() == n).map(StoredTensor::name).findFirst();
    }
}
