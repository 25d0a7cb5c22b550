package dev.tokc.ir.text;

import dev.tokc.ir.Graph;
import dev.tokc.ir.IrException;
import dev.tokc.ir.Node;
import dev.tokc.ir.Op;
import dev.tokc.ir.OpNames;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TensorType;
import dev.tokc.ir.text.IrTextParser.ConstantOpContext;
import dev.tokc.ir.text.IrTextParser.DimsOpContext;
import dev.tokc.ir.text.IrTextParser.GenericOpContext;
import dev.tokc.ir.text.IrTextParser.GraphContext;
import dev.tokc.ir.text.IrTextParser.OpContext;
import dev.tokc.ir.text.IrTextParser.ParamContext;
import dev.tokc.ir.text.IrTextParser.StatementContext;
import dev.tokc.ir.text.IrTextParser.TensorTypeContext;
import dev.tokc.ir.text.IrTextParser.WeightOpContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.antlr.v4.runtime.BaseErrorListener;
import org.antlr.v4.runtime.CharStreams;
import org.antlr.v4.runtime.CommonTokenStream;
import org.antlr.v4.runtime.RecognitionException;
import org.antlr.v4.runtime.Recognizer;
import org.antlr.v4.runtime.Token;
import org.antlr.v4.runtime.Vocabulary;
import org.antlr.v4.runtime.VocabularyImpl;
import org.antlr.v4.runtime.tree.TerminalNode;

/**
 * Reads the IR text form (grammar {@code IrText.g4}, layout in {@link IrPrinter}) back into graphs.
 *
 * <p>Nodes are built with {@link Node#of}, so their types are inferred, interned and equal to the nodes of the
 * graph that was printed; the type written after each op is then checked against the inferred one. Ops are found by
 * name in {@link OpNames#all()} and constructed reflectively from their attributes (see {@link AttributeReader}).
 * Values are scoped to their graph; {@code %3} (all digits) is an unnamed value, {@code %x} and {@code %"3"} are
 * named. A graph may be type-correct but fail the {@link dev.tokc.ir.Verifier} (no outputs, a weight key with two
 * types, an undeclared param): it still parses, so verifier tests can be written as text. {@code //} comments are
 * ignored.
 *
 * <p>The first error ends the parse with an {@link IrSyntaxException} {@code file:line:col: ...}: syntax errors
 * (reported by ANTLR, without writing to stderr), unknown ops or attributes, undefined or redefined values, bad
 * attribute values, failed type inference and printed types that differ from the inferred ones.
 */
public final class IrParser {
    private final SourceFile file;
    private final AttributeReader attributes;

    private IrParser(String fileName) {
        this.file = new SourceFile(fileName);
        this.attributes = new AttributeReader(file);
    }

    /** Every graph in {@code source}, in order. {@code fileName} only labels error messages. */
    public static List<Graph> parse(String source, String fileName) {
        IrParser p = new IrParser(fileName);
        List<Graph> graphs = new ArrayList<>();
        for (GraphContext g : p.syntaxTree(source).graph()) {
            graphs.add(p.graph(g));
        }
        return graphs;
    }

    /** Every graph in a UTF-8 file; errors are labelled with {@code path} as given. */
    public static List<Graph> parse(Path path) throws IOException {
        return parse(Files.readString(path), path.toString());
    }

    /** The one graph in {@code source}; an error when there are none or several. */
    public static Graph parseGraph(String source, String fileName) {
        List<Graph> graphs = parse(source, fileName);
        if (graphs.size() != 1) {
            throw new IrSyntaxException(fileName, 1, 1, "expected exactly one graph, found " + graphs.size());
        }
        return graphs.getFirst();
    }

    private IrTextParser.FileContext syntaxTree(String source) {
        ThrowingListener listener = new ThrowingListener(file.name());
        IrTextLexer lexer = new IrTextLexer(CharStreams.fromString(source, file.name()));
        lexer.removeErrorListeners();
        lexer.addErrorListener(listener);
        IrTextParser parser = new IrTextParser(new CommonTokenStream(lexer)) {
            @Override
            public Vocabulary getVocabulary() {
                return READABLE_TOKENS;
            }
        };
        parser.removeErrorListeners();
        parser.addErrorListener(listener);
        return parser.file();
    }

    /** One graph: its own scope of value names, checked header types. */
    private Graph graph(GraphContext g) {
        Scope scope = new Scope();
        List<Node> inputs = new ArrayList<>();
        for (ParamContext p : g.param()) {
            inputs.add(param(p, scope));
        }
        List<TensorType> resultTypes = new ArrayList<>();
        for (TensorTypeContext t : g.tensorType()) {
            resultTypes.add(attributes.tensorType(t));
        }
        for (StatementContext s : g.statement()) {
            ValueName v = valueName(s.VALUE());
            scope.define(v, s.VALUE(), op(s.op(), v.realName(), scope));
        }
        List<Node> outputs = new ArrayList<>();
        for (TerminalNode r : g.returnStmt().VALUE()) {
            outputs.add(scope.use(r));
        }
        if (outputs.size() != resultTypes.size()) {
            throw file.error(g.returnStmt(), "graph " + g.GRAPH_NAME().getText() + " declares " + resultTypes.size()
                    + " result(s) but returns " + outputs.size());
        }
        for (int i = 0; i < outputs.size(); i++) {
            if (!outputs.get(i).type().equals(resultTypes.get(i))) {
                throw file.error(g.returnStmt().VALUE(i), "result " + i + " " + g.returnStmt().VALUE(i).getText()
                        + " has type " + outputs.get(i).type() + " but the graph declares " + resultTypes.get(i));
            }
        }
        try {
            return new Graph(g.GRAPH_NAME().getText().substring(1), inputs, outputs);
        } catch (IrException e) {
            throw file.error(g.GRAPH_NAME().getSymbol(), e.getMessage(), e);
        }
    }

    /** {@code %x: f32[...]}, or {@code %0: f32[...] {param_name = "x"}} when the name is not the param name. */
    private Node param(ParamContext p, Scope scope) {
        ValueName v = valueName(p.VALUE());
        TensorType type = attributes.tensorType(p.tensorType());
        String paramName = v.realName();
        if (p.attributes() != null) {
            paramName = attributes.record(ParamAttributes.class, "parameter " + p.VALUE().getText(), p.attributes(),
                    p.attributes().getStart()).paramName();
        } else if (paramName == null) {
            throw file.error(p.VALUE(), "unnamed parameter " + p.VALUE().getText()
                    + " needs {param_name = \"...\"} after its type");
        }
        Node n = make(new SourceOp.Param(paramName, type), List.of(), v.realName(), p.VALUE().getSymbol());
        scope.defineParam(v, p.VALUE(), n);
        return n;
    }

    /** The attributes a parameter may carry in the header. */
    record ParamAttributes(String paramName) {}

    private Node op(OpContext ctx, String name, Scope scope) {
        return switch (ctx) {
            case WeightOpContext w -> make(new SourceOp.Weight(Literals.unquote(w.STRING().getText()),
                    attributes.tensorType(w.tensorType())), List.of(), name, w.getStart());
            case ConstantOpContext c -> make(
                    new SourceOp.Constant(attributes.tensor(c.tensorType(), c.tensorElements())),
                    List.of(), name, c.getStart());
            case DimsOpContext d -> make(new SourceOp.Dims(attributes.dims(d.shape())), List.of(), name, d.getStart());
            case GenericOpContext g -> generic(g, name, scope);
            default -> throw new IllegalStateException("unexpected op syntax " + ctx.getClass().getSimpleName());
        };
    }

    /** {@code op_name(%a, %b) {attr = value, ...} : type}, checked in the order it reads. */
    private Node generic(GenericOpContext g, String name, Scope scope) {
        String opName = g.ident().getText();
        Class<? extends Op> opClass = OpNames.all().get(opName);
        if (opClass == null) {
            String hint = closestOpName(opName);
            throw file.error(g.ident(),
                    "unknown op '" + opName + "'" + (hint == null ? "" : "; did you mean '" + hint + "'?"));
        }
        List<Node> inputs = new ArrayList<>();
        for (TerminalNode v : g.VALUE()) {
            inputs.add(scope.use(v));
        }
        Op op = attributes.record(opClass, opName, g.attributes(), g.ident().getStart());
        Node n = make(op, inputs, name, g.ident().getStart());
        TensorType written = attributes.tensorType(g.tensorType());
        if (!written.equals(n.type())) {
            throw file.error(g.tensorType(), "type mismatch: " + opName + " infers " + n.type()
                    + " but the text says " + written);
        }
        return n;
    }

    /** The op name nearest to a misspelt one (within two edits, or one a prefix of the other), or null. */
    private static String closestOpName(String wrong) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String op : OpNames.all().keySet()) {
            int d = editDistance(wrong, op);
            boolean prefix = Math.min(op.length(), wrong.length()) >= 3
                    && (op.startsWith(wrong) || wrong.startsWith(op));
            if ((d <= 2 || prefix) && d < bestDistance) {
                best = op;
                bestDistance = d;
            }
        }
        return best;
    }

    private static int editDistance(String a, String b) {
        int[] row = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            row[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int above = row[j];
                int substitute = diagonal + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                row[j] = Math.min(Math.min(row[j] + 1, row[j - 1] + 1), substitute);
                diagonal = above;
            }
        }
        return row[b.length()];
    }

    private Node make(Op op, List<Node> inputs, String name, Token at) {
        try {
            return Node.of(op, inputs, name);
        } catch (IrException e) {
            throw file.error(at, e.getMessage(), e);
        }
    }

    /** A {@code %...} token: its real name (null for the unnamed {@code %3}) and its key in the scope. */
    private record ValueName(String realName, String key) {}

    private static ValueName valueName(TerminalNode token) {
        String text = token.getText().substring(1);
        if (text.startsWith("\"")) {
            String name = Literals.unquote(text);
            return new ValueName(name, name);
        }
        return Literals.isNumeric(text) ? new ValueName(null, "#" + text) : new ValueName(text, text);
    }

    /** Values defined so far in one graph, with where they were defined for redefinition errors. */
    private final class Scope {
        private record Definition(Node node, Token at) {}

        private final Map<String, Definition> values = new HashMap<>();

        void define(ValueName v, TerminalNode at, Node n) {
            Definition prev = values.putIfAbsent(v.key(), new Definition(n, at.getSymbol()));
            if (prev != null) {
                throw file.error(at, "redefinition of " + at.getText() + " (first defined at " + prev.at().getLine()
                        + ":" + (prev.at().getCharPositionInLine() + 1) + ")");
            }
        }

        /** Like {@link #define}, but repeating a parameter exactly (the same value) is allowed. */
        void defineParam(ValueName v, TerminalNode at, Node n) {
            Definition prev = values.get(v.key());
            if (prev == null || prev.node() != n) {
                define(v, at, n);
            }
        }

        Node use(TerminalNode ref) {
            Definition d = values.get(valueName(ref).key());
            if (d == null) {
                throw file.error(ref, "undefined value " + ref.getText());
            }
            return d.node();
        }
    }

    /** Turns the first lexer or parser error into an exception instead of ANTLR's stderr report and recovery. */
    private static final class ThrowingListener extends BaseErrorListener {
        private final String fileName;

        ThrowingListener(String fileName) {
            this.fileName = fileName;
        }

        @Override
        public void syntaxError(Recognizer<?, ?> recognizer, Object offendingSymbol, int line, int charPositionInLine,
                String msg, RecognitionException e) {
            throw new IrSyntaxException(fileName, line, charPositionInLine + 1, msg, e);
        }
    }

    /** Token names as a reader would say them in "expecting ..." messages. */
    private static final Vocabulary READABLE_TOKENS = readableTokens();

    private static Vocabulary readableTokens() {
        Vocabulary v = IrTextParser.VOCABULARY;
        Map<Integer, String> readable = Map.of(
                IrTextParser.GRAPH_NAME, "@name",
                IrTextParser.VALUE, "%value",
                IrTextParser.STRING, "a string",
                IrTextParser.FLOAT, "a float",
                IrTextParser.INT, "an integer",
                IrTextParser.IDENT, "a name");
        String[] display = new String[v.getMaxTokenType() + 1];
        String[] literal = new String[display.length];
        String[] symbolic = new String[display.length];
        for (int t = 0; t < display.length; t++) {
            literal[t] = v.getLiteralName(t);
            symbolic[t] = v.getSymbolicName(t);
            display[t] = readable.getOrDefault(t, v.getDisplayName(t));
        }
        return new VocabularyImpl(literal, symbolic, display);
    }
}
