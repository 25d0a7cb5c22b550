package dev.tokc.codegen.jvm;

import dev.tokc.ir.Dim;
import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.interp.WeightSource;
import dev.tokc.runtime.exec.CompiledProgram;
import dev.tokc.runtime.exec.ProgramInfo;
import java.util.List;
import java.util.Map;

/**
 * The JVM backend's entry point: optimised graph in, generated program out.
 *
 * <ol>
 *   <li>{@link WeightPlan}: evaluate weight-only subgraphs now, re-lay out transposed weights;</li>
 *   <li>{@link ProgramPlan}: lower every node through the {@link KernelTable} (an op without a binding fails here,
 *       naming the node);</li>
 *   <li>{@link BytecodeEmitter} and {@link SourceEmitter}: the same program as a class file and as Java source.</li>
 * </ol>
 */
public final class JvmBackend {
    /** Package of generated classes. */
    public static final String PACKAGE = "dev.tokc.generated";

    /**
     * A compiled program.
     *
     * @param weights   the folded weights and the graph the program was lowered from
     * @param plan      the lowered program
     * @param classFile its bytecode
     * @param source    its Java source
     */
    public record Output(WeightPlan weights, ProgramPlan plan, byte[] classFile, String source) {
        /** The binary name of the generated class. */
        public String className() {
            return plan.className();
        }

        /** The path of the class file inside a jar. */
        public String classEntry() {
            return plan.className().replace('.', '/') + ".class";
        }

        /** The path of the source file under {@code src/}. */
        public String sourceEntry() {
            return plan.className().replace('.', '/') + ".java";
        }

        /** The program's signature for {@code program.json}. */
        public ProgramInfo info() {
            Graph g = plan.graph();
            return new ProgramInfo(className(), g.name(), g.inputs().stream().map(JvmBackend::tensor).toList(),
                    g.outputs().stream().map(JvmBackend::tensor).toList(), gatheredWeights(g));
        }

        /** Defines the class in a fresh loader and instantiates it (tests, and running straight after compiling). */
        public CompiledProgram instantiate() {
            ClassLoader loader = new ClassLoader(CompiledProgram.class.getClassLoader()) {
                @Override
                protected Class<?> findClass(String name) throws ClassNotFoundException {
                    if (name.equals(className())) {
                        return defineClass(name, classFile, 0, classFile.length);
                    }
                    throw new ClassNotFoundException(name);
                }
            };
            try {
                return (CompiledProgram) loader.loadClass(className()).getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("generated class does not load: " + e, e);
            }
        }
    }

    private JvmBackend() {}

    /**
     * The stored weights whose every user is an {@code embedding}: a step reads one row of them per token rather
     * than all of them, which is what {@code tokc bench} needs to count the bytes a decode step moves. A tied
     * embedding table that is also the LM head is not among them; one whose LM head was quantized into its own
     * tensor ({@code --quant-lm-head}) is.
     */
    static List<String> gatheredWeights(Graph g) {
        Map<Node, List<Node>> users = g.users();
        List<String> out = new java.util.ArrayList<>();
        for (Node n : g.nodes()) {
            if (n.op() instanceof SourceOp.Weight w) {
                List<Node> u = users.getOrDefault(n, List.of());
                if (!u.isEmpty() && u.stream().allMatch(x -> x.op() instanceof ModelOp.Embedding)) {
                    out.add(w.key());
                }
            }
        }
        return out;
    }

    /**
     * Compiles {@code graph}, reading weights that feed weight-only subgraphs from {@code weights}.
     *
     * @param checked run the bytecode through {@code CheckClassAdapter} (tests; costs little)
     */
    public static Output compile(Graph graph, WeightSource weights, boolean checked) {
        WeightPlan wp = WeightPlan.prepare(graph, weights);
        ProgramPlan plan = ProgramPlan.of(PACKAGE + "." + className(graph.name()), wp.graph(), KernelTable.standard());
        return new Output(wp, plan, BytecodeEmitter.emit(plan, checked), SourceEmitter.emit(plan));
    }

    /** {@code forward} -> {@code ForwardProgram}. */
    static String className(String graphName) {
        StringBuilder sb = new StringBuilder();
        boolean up = true;
        for (char ch : graphName.toCharArray()) {
            if (!Character.isLetterOrDigit(ch)) {
                up = true;
            } else {
                sb.append(up ? Character.toUpperCase(ch) : ch);
                up = false;
            }
        }
        if (sb.isEmpty() || !Character.isLetter(sb.charAt(0))) {
            sb.insert(0, "G");
        }
        return sb + "Program";
    }

    private static ProgramInfo.Tensor tensor(Node n) {
        return new ProgramInfo.Tensor(n.name(), n.dtype().toString(), n.shape().dims().stream().map(Dim::toString).toList());
    }
}
