package dev.tokc.ir.text;

import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.ir.SourceOp;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Prints graphs in the IR text form that {@link IrParser} reads back ({@code parse(print(g))} equals {@code g}):
 * <pre>
 * graph @block0(%x: f32[batch, seq, 192], %pos: i64[batch, seq]) -> (f32[batch, seq, 192], f32[6, 32*batch*seq]) {
 *   %g = weight "model.layers.0.input_layernorm.weight" : f32[192]
 *   %h = rms_norm(%x, %g) {eps = 1.0e-05, weight_offset = 0.0} : f32[batch, seq, 192]
 *   %0 = add(%h, %x) : f32[batch, seq, 192]
 *   %d = dims [batch, seq, 6, 32]
 *   %1 = reshape(%h, %d) {allow_zero = false} : f32[batch, seq, 6, 32]
 *   %s = constant i64[2] [6, -1]
 *   %2 = reshape(%1, %s) {allow_zero = false} : f32[6, 32*batch*seq]
 *   return %0, %2
 * }
 * </pre>
 * (the graph of {@code IrPrinterTest.printsTheDesignExample}). Parameters go in the header (with
 * {@code {param_name = "..."}} after the type when it differs from the value's name), every other node on its own line in the graph's topological order, each with its result type so the
 * reader can check what it infers. Weights, constants and dims have short forms; every other op prints
 * generically from {@link dev.tokc.ir.Op#attributes()}, so a new op needs no printer change. Unnamed values get
 * fresh numbers that no real name in the graph uses; real names that are all digits print quoted ({@code %"7"}).
 *
 * <p>A graph in which two different values share a name (which the {@link dev.tokc.ir.Verifier} rejects) prints
 * with that name twice and does not parse back.
 */
public final class IrPrinter {
    private final IndentWriter out = new IndentWriter();

    private IrPrinter() {}

    /** The text of one graph, ending with a newline. */
    public static String print(Graph graph) {
        return print(List.of(graph));
    }

    /** The text of a sequence of graphs, separated by blank lines. */
    public static String print(List<Graph> graphs) {
        IrPrinter p = new IrPrinter();
        for (int i = 0; i < graphs.size(); i++) {
            if (i > 0) {
                p.out.blankLine();
            }
            p.graph(graphs.get(i));
        }
        return p.out.toString();
    }

    private void graph(Graph g) {
        List<Node> nodes = g.nodes();
        Map<Node, String> names = names(g, nodes);
        StringBuilder header = new StringBuilder("graph @").append(g.name()).append('(');
        for (int i = 0; i < g.inputs().size(); i++) {
            Node p = g.inputs().get(i);
            header.append(i > 0 ? ", " : "").append(names.get(p)).append(": ").append(p.type());
            String paramName = ((SourceOp.Param) p.op()).paramName();
            if (!paramName.equals(p.name())) {
                header.append(" {param_name = ").append(Literals.quote(paramName)).append('}');
            }
        }
        header.append(") -> (");
        for (int i = 0; i < g.outputs().size(); i++) {
            header.append(i > 0 ? ", " : "").append(g.outputs().get(i).type());
        }
        out.line(header.append(") {"));
        out.indent();
        Set<Node> inputs = Collections.newSetFromMap(new IdentityHashMap<>());
        inputs.addAll(g.inputs());
        for (Node n : nodes) {
            if (!inputs.contains(n)) {
                out.line(statement(n, names));
            }
        }
        StringBuilder ret = new StringBuilder("return");
        for (int i = 0; i < g.outputs().size(); i++) {
            ret.append(i > 0 ? ", " : " ").append(names.get(g.outputs().get(i)));
        }
        out.line(ret);
        out.outdent();
        out.line("}");
    }

    /** The printed {@code %name} of every node: its real name, or a fresh number no real name uses. */
    private static Map<Node, String> names(Graph g, List<Node> nodes) {
        Set<String> real = new HashSet<>();
        for (Node n : nodes) {
            if (n.name() != null) {
                real.add(n.name());
            }
        }
        NameAllocator fresh = new NameAllocator(real);
        Map<Node, String> names = new IdentityHashMap<>();
        for (Node n : nodes) {
            names.put(n, n.name() != null ? Literals.valueName(n.name()) : "%" + fresh.newName());
        }
        return names;
    }

    private static String statement(Node n, Map<Node, String> names) {
        StringBuilder s = new StringBuilder(names.get(n)).append(" = ");
        switch (n.op()) {
            case SourceOp.Weight w ->
                    s.append("weight ").append(Literals.quote(w.key())).append(" : ").append(w.type());
            case SourceOp.Constant c -> AttributePrinter.printTensor(c.value(), s.append("constant "));
            case SourceOp.Dims d -> AttributePrinter.print(d.dims(), s.append("dims "));
            default -> {
                s.append(n.op().name()).append('(');
                for (int i = 0; i < n.inputs().size(); i++) {
                    s.append(i > 0 ? ", " : "").append(names.get(n.input(i)));
                }
                s.append(')');
                // Attributes holding their declared default are left out (see Op.defaultsOf).
                Map<String, Object> defaults = dev.tokc.ir.Op.defaultsOf(n.op().getClass());
                Map<String, Object> attributes = new java.util.LinkedHashMap<>();
                n.op().attributes().forEach((k, v) -> {
                    if (!v.equals(defaults.get(k))) {
                        attributes.put(k, v);
                    }
                });
                if (!attributes.isEmpty()) {
                    AttributePrinter.printAttributes(attributes, s.append(' '));
                }
                s.append(" : ").append(n.type());
            }
        }
        return s.toString();
    }
}
