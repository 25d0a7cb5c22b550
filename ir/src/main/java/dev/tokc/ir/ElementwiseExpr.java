package dev.tokc.ir;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The expression of a {@link TargetOp.Elementwise}: a small tree of scalar float functions over the op's inputs,
 * written in prefix form so that it is an ordinary string attribute of the generic text form:
 * <pre>
 *   expr  := '$' index                       the op's input #index, broadcast to the result shape
 *          | number                          a literal (Java double syntax: 2.0, -0.5, 1.0E-5, Infinity, NaN)
 *          | fn '(' expr (',' expr)* ')'      a function of its arguments
 *   fn    := add sub mul div max min pow      (binary)
 *          | neg abs relu sqrt reciprocal exp log sin cos tanh sigmoid erf floor ceil round silu gelu gelu_tanh
 * </pre>
 * Example: {@code mul(tanh(div($0, 30.0)), 30.0)} is logit soft-capping at 30.
 *
 * <p><b>Meaning.</b> Element i of the result evaluates the tree on element i of each input (numpy broadcasting);
 * every function node is computed in double and <em>rounded to the result dtype</em>, exactly as the primitive op
 * it stands for would round its own result. A fused chain therefore gives bit-for-bit the values of the unfused
 * ops it replaces (the property the fusion tests check); a kernel may keep intermediates in registers at higher
 * precision, within the usual float tolerance. Functions have the reference interpreter's scalar definitions.
 *
 * <p>Immutable; {@link #parse} and {@link #toString} round-trip.
 */
public sealed interface ElementwiseExpr {

    /** The input {@code index}. */
    record Input(int index) implements ElementwiseExpr {
        public Input {
            if (index < 0) {
                throw new IrException("input index must be >= 0, got " + index);
            }
        }

        @Override
        public String toString() {
            return "$" + index;
        }
    }

    /** A literal. */
    record Literal(double value) implements ElementwiseExpr {
        @Override
        public String toString() {
            return Double.toString(value);
        }
    }

    /** A function of its arguments. */
    record Apply(Fn fn, List<ElementwiseExpr> args) implements ElementwiseExpr {
        public Apply {
            Objects.requireNonNull(fn);
            args = List.copyOf(args);
            if (args.size() != fn.arity) {
                throw new IrException(fn.text + " takes " + fn.arity + " argument(s), got " + args.size());
            }
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder(fn.text).append('(');
            for (int i = 0; i < args.size(); i++) {
                sb.append(i > 0 ? ", " : "").append(args.get(i));
            }
            return sb.append(')').toString();
        }
    }

    /** The scalar functions, with their text names and arities. */
    enum Fn {
        ADD("add", 2), SUB("sub", 2), MUL("mul", 2), DIV("div", 2), MAX("max", 2), MIN("min", 2), POW("pow", 2),
        NEG("neg", 1), ABS("abs", 1), RELU("relu", 1), SQRT("sqrt", 1), RECIPROCAL("reciprocal", 1), EXP("exp", 1),
        LOG("log", 1), SIN("sin", 1), COS("cos", 1), TANH("tanh", 1), SIGMOID("sigmoid", 1), ERF("erf", 1),
        FLOOR("floor", 1), CEIL("ceil", 1), ROUND("round", 1), SILU("silu", 1), GELU("gelu", 1),
        GELU_TANH("gelu_tanh", 1);

        final String text;
        final int arity;

        Fn(String text, int arity) {
            this.text = text;
            this.arity = arity;
        }

        public String text() {
            return text;
        }

        public int arity() {
            return arity;
        }

        private static final Map<String, Fn> BY_TEXT = byText();

        private static Map<String, Fn> byText() {
            Map<String, Fn> m = new java.util.HashMap<>();
            for (Fn f : values()) {
                m.put(f.text, f);
            }
            return Map.copyOf(m);
        }

        public static Fn byText(String s) {
            Fn f = BY_TEXT.get(s);
            if (f == null) {
                throw new IrException("unknown elementwise function '" + s + "'; known: " + BY_TEXT.keySet());
            }
            return f;
        }
    }

    static ElementwiseExpr input(int i) {
        return new Input(i);
    }

    static ElementwiseExpr literal(double v) {
        return new Literal(v);
    }

    static ElementwiseExpr apply(Fn fn, ElementwiseExpr... args) {
        return new Apply(fn, List.of(args));
    }

    /** One more than the largest input index used (0 for an expression of literals only). */
    default int inputCount() {
        return switch (this) {
            case Input in -> in.index() + 1;
            case Literal l -> 0;
            case Apply a -> a.args().stream().mapToInt(ElementwiseExpr::inputCount).max().orElse(0);
        };
    }

    /** Function nodes in the tree: how many unfused ops it stands for. */
    default int functionCount() {
        return switch (this) {
            case Input in -> 0;
            case Literal l -> 0;
            case Apply a -> 1 + a.args().stream().mapToInt(ElementwiseExpr::functionCount).sum();
        };
    }

    /** The value for scalar inputs {@code in}, each function's result rounded to {@code dtype}. */
    default double evaluate(double[] in, DType dtype) {
        return switch (this) {
            case Input i -> in[i.index()];
            case Literal l -> l.value();
            case Apply a -> {
                double x = a.args().get(0).evaluate(in, dtype);
                double y = a.fn().arity == 2 ? a.args().get(1).evaluate(in, dtype) : 0;
                yield FloatFormats.round(dtype, ScalarFunctions.apply(a.fn(), x, y));
            }
        };
    }

    /** Parses the text form; throws {@link IrException} pointing at the offending character. */
    static ElementwiseExpr parse(String text) {
        return new Reader(text).whole();
    }

    /** A recursive-descent reader of the grammar above. */
    final class Reader {
        private final String s;
        private int pos;

        private Reader(String s) {
            this.s = s;
        }

        ElementwiseExpr whole() {
            ElementwiseExpr e = expr();
            skipBlanks();
            if (pos != s.length()) {
                throw error("unexpected '" + s.charAt(pos) + "'");
            }
            return e;
        }

        private ElementwiseExpr expr() {
            skipBlanks();
            if (pos >= s.length()) {
                throw error("expected an expression");
            }
            char c = s.charAt(pos);
            if (c == '$') {
                int start = ++pos;
                while (pos < s.length() && Character.isDigit(s.charAt(pos))) {
                    pos++;
                }
                if (start == pos) {
                    throw error("expected an input index after '$'");
                }
                return new Input(Integer.parseInt(s.substring(start, pos)));
            }
            int start = pos;
            while (pos < s.length() && (Character.isLetterOrDigit(s.charAt(pos)) || "_.+-".indexOf(s.charAt(pos)) >= 0)) {
                pos++;
            }
            String word = s.substring(start, pos);
            skipBlanks();
            if (pos < s.length() && s.charAt(pos) == '(') {
                Fn fn = Fn.byText(word);
                pos++;
                List<ElementwiseExpr> args = new ArrayList<>();
                while (true) {
                    args.add(expr());
                    skipBlanks();
                    if (pos < s.length() && s.charAt(pos) == ',') {
                        pos++;
                    } else if (pos < s.length() && s.charAt(pos) == ')') {
                        pos++;
                        break;
                    } else {
                        throw error("expected ',' or ')'");
                    }
                }
                return new Apply(fn, args);
            }
            try {
                return new Literal(Double.parseDouble(word));
            } catch (NumberFormatException e) {
                throw error("expected a number, an input $i or a function call, got '" + word + "'");
            }
        }

        private void skipBlanks() {
            while (pos < s.length() && s.charAt(pos) == ' ') {
                pos++;
            }
        }

        private IrException error(String what) {
            return new IrException("elementwise expression '" + s + "' at " + pos + ": " + what);
        }
    }
}
