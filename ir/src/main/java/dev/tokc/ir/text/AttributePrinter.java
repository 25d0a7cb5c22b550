package dev.tokc.ir.text;

import dev.tokc.ir.Dim;
import dev.tokc.ir.ElementType;
import dev.tokc.ir.OpNames;
import dev.tokc.ir.Shape;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import java.lang.reflect.RecordComponent;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Prints attribute values by their runtime class, so a new op record prints without touching this class as long
 * as its components are of the kinds below (the reader, {@link AttributeReader}, accepts the same kinds by the
 * components' declared types):
 * <pre>
 *   boolean            true | false
 *   int, long          -3
 *   double             1.0e-05 | 0.5 | -0.0 | inf | -inf | nan
 *   String             "escaped \"text\""
 *   ElementType        f32 | int4g32          (before enums and records: DType is an enum, QuantType a record)
 *   enum               silu_mul               (constant name in lower snake case)
 *   TensorType         f32[batch, seq, 192]
 *   Shape, List&lt;Dim&gt; [batch, 2*seq+1, ?]
 *   Dim                seq-1
 *   Tensor             i64[2] [6, -1]         (type, then every element, row-major)
 *   List&lt;T&gt;            [0, 2, 1, 3]
 *   record             {layers = 6, kv_heads = 2, ...}
 * </pre>
 */
final class AttributePrinter {
    private AttributePrinter() {}

    /** Appends {@code {name = value, ...}}; nothing for an empty map. */
    static void printAttributes(Map<String, Object> attributes, StringBuilder out) {
        if (!attributes.isEmpty()) {
            printFields(attributes, out);
        }
    }

    /** Appends {@code {name = value, ...}}, {@code {}} when empty. */
    private static void printFields(Map<String, Object> attributes, StringBuilder out) {
        out.append('{');
        String sep = "";
        for (var e : attributes.entrySet()) {
            out.append(sep).append(e.getKey()).append(" = ");
            print(e.getValue(), out);
            sep = ", ";
        }
        out.append('}');
    }

    static void print(Object value, StringBuilder out) {
        switch (value) {
            case Boolean b -> out.append(b);
            case Integer i -> out.append(i);
            case Long l -> out.append(l);
            case Double d -> out.append(Literals.formatDouble(d));
            case String s -> Literals.quote(s, out);
            case ElementType e -> out.append(e.textName());
            case Enum<?> e -> out.append(enumName(e));
            case TensorType t -> out.append(t);
            case Shape s -> out.append(s);
            case Dim d -> out.append(d);
            case Tensor t -> printTensor(t, out);
            case List<?> list -> {
                out.append('[');
                for (int i = 0; i < list.size(); i++) {
                    out.append(i > 0 ? ", " : "");
                    print(list.get(i), out);
                }
                out.append(']');
            }
            case Record r -> printFields(recordFields(r), out);
            default -> throw new IllegalStateException("attribute value " + value + " of " + value.getClass()
                    + " has no text form; teach AttributePrinter and AttributeReader about it");
        }
    }

    /** The text spelling of an enum constant: {@code SILU_MUL} -> {@code silu_mul}. */
    static String enumName(Enum<?> e) {
        String n = e.name();
        return n.equals(n.toUpperCase(Locale.ROOT)) ? n.toLowerCase(Locale.ROOT) : OpNames.snake(n);
    }

    /** {@code dtype[shape] [e0, e1, ...]}: the literal of a constant, every element printed. */
    static void printTensor(Tensor t, StringBuilder out) {
        out.append(t.dtype().textName()).append(Shape.of(t.shape())).append(" [");
        for (int i = 0; i < t.size(); i++) {
            if (i > 0) {
                out.append(", ");
            }
            if (t.isFloat()) {
                out.append(Literals.formatFloat(t.dtype(), t.doubles()[i]));
            } else if (t.dtype().isBool()) {
                out.append(t.longs()[i] != 0);
            } else if (t.dtype().isUnsigned()) {
                out.append(Long.toUnsignedString(t.longs()[i]));
            } else {
                out.append(t.longs()[i]);
            }
        }
        out.append(']');
    }

    private static Map<String, Object> recordFields(Record r) {
        Map<String, Object> fields = new java.util.LinkedHashMap<>();
        for (RecordComponent c : r.getClass().getRecordComponents()) {
            try {
                fields.put(OpNames.snake(c.getName()), c.getAccessor().invoke(r));
            } catch (ReflectiveOperationException e) {
                String owner = r.getClass().getSimpleName();
                throw new IllegalStateException("cannot read " + c.getName() + " of " + owner, e);
            }
        }
        return fields;
    }
}
