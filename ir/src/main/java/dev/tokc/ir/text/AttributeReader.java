package dev.tokc.ir.text;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.ElementType;
import dev.tokc.ir.IrException;
import dev.tokc.ir.OpNames;
import dev.tokc.ir.Shape;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import dev.tokc.ir.text.IrTextParser.AttributeContext;
import dev.tokc.ir.text.IrTextParser.AttributesContext;
import dev.tokc.ir.text.IrTextParser.DimContext;
import dev.tokc.ir.text.IrTextParser.DimValueContext;
import dev.tokc.ir.text.IrTextParser.ElementContext;
import dev.tokc.ir.text.IrTextParser.FactorContext;
import dev.tokc.ir.text.IrTextParser.FloatValueContext;
import dev.tokc.ir.text.IrTextParser.ListValueContext;
import dev.tokc.ir.text.IrTextParser.PolynomialDimContext;
import dev.tokc.ir.text.IrTextParser.RecordValueContext;
import dev.tokc.ir.text.IrTextParser.ShapeContext;
import dev.tokc.ir.text.IrTextParser.StringValueContext;
import dev.tokc.ir.text.IrTextParser.TensorElementsContext;
import dev.tokc.ir.text.IrTextParser.TensorTypeContext;
import dev.tokc.ir.text.IrTextParser.TermContext;
import dev.tokc.ir.text.IrTextParser.TypeValueContext;
import dev.tokc.ir.text.IrTextParser.ValueContext;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Converts parsed attribute values to the Java types of record components: the reading half of
 * {@link AttributePrinter}, which lists the kinds. Records (op records and nested ones such as KvCacheSpec) are
 * built through their canonical constructor from attributes matched by snake_case name, so the set of attributes
 * an op takes is exactly its record's components. Every failure is an {@link IrSyntaxException} at the offending
 * token that says what was expected.
 */
final class AttributeReader {
    private static final BigInteger LONG_MIN = BigInteger.valueOf(Long.MIN_VALUE);
    private static final BigInteger ULONG_MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);

    private final SourceFile file;

    AttributeReader(SourceFile file) {
        this.file = file;
    }

    /**
     * Builds record {@code type} (called {@code what} in messages) from {@code attrs} (null: none given).
     * {@code at} is where construction errors point when there are no attributes to point at.
     */
    <R> R record(Class<R> type, String what, AttributesContext attrs, org.antlr.v4.runtime.Token at) {
        RecordComponent[] components = type.getRecordComponents();
        Map<String, AttributeContext> given = new LinkedHashMap<>();
        if (attrs != null) {
            for (AttributeContext a : attrs.attribute()) {
                String name = a.ident().getText();
                if (given.putIfAbsent(name, a) != null) {
                    throw file.error(a.ident(), "attribute '" + name + "' is given twice");
                }
            }
        }
        Map<String, RecordComponent> byName = new LinkedHashMap<>();
        for (RecordComponent c : components) {
            byName.put(OpNames.snake(c.getName()), c);
        }
        for (var e : given.entrySet()) {
            if (!byName.containsKey(e.getKey())) {
                throw file.error(e.getValue().ident(),
                        what + " has no attribute '" + e.getKey() + "'; " + expected(byName));
            }
        }
        Object[] args = new Object[components.length];
        Class<?>[] types = new Class<?>[components.length];
        Map<String, Object> defaults = dev.tokc.ir.Op.defaultsOf(type);
        int i = 0;
        for (var e : byName.entrySet()) {
            AttributeContext a = given.get(e.getKey());
            if (a == null && defaults.containsKey(e.getKey())) {
                types[i] = e.getValue().getType();
                args[i++] = defaults.get(e.getKey());
                continue;
            }
            if (a == null) {
                throw file.error(attrs != null ? attrs.getStart() : at,
                        what + " is missing attribute '" + e.getKey() + "'; " + expected(byName));
            }
            types[i] = e.getValue().getType();
            args[i++] = read(a.value(), e.getValue().getGenericType(), "attribute '" + e.getKey() + "' of " + what);
        }
        try {
            Constructor<R> ctor = type.getDeclaredConstructor(types);
            return ctor.newInstance(args);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IrException || cause instanceof IllegalArgumentException) {
                throw file.error(attrs != null ? attrs.getStart() : at,
                        "invalid " + what + ": " + cause.getMessage(), cause);
            }
            throw new IllegalStateException("constructing " + type.getName(), cause);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot construct " + type.getName() + " from its components", e);
        }
    }

    private static String expected(Map<String, RecordComponent> byName) {
        if (byName.isEmpty()) {
            return "it takes no attributes";
        }
        StringJoiner j = new StringJoiner(", ", "expected ", "");
        byName.keySet().forEach(j::add);
        return j.toString();
    }

    /** The value of {@code v} as an instance of {@code type}. */
    Object read(ValueContext v, Type type, String what) {
        Class<?> raw = rawClass(type);
        if (raw == boolean.class || raw == Boolean.class) {
            return bool(v, what);
        }
        if (raw == int.class || raw == Integer.class) {
            long l = integer(v, what);
            if (l != (int) l) {
                throw file.error(v, what + " expects an int, " + l + " is out of range");
            }
            return (int) l;
        }
        if (raw == long.class || raw == Long.class) {
            return integer(v, what);
        }
        if (raw == double.class || raw == Double.class) {
            return real(v, what);
        }
        if (raw == String.class) {
            if (v instanceof StringValueContext s) {
                return Literals.unquote(s.STRING().getText());
            }
            throw file.error(v, what + " expects a string, found " + found(v));
        }
        if (ElementType.class.isAssignableFrom(raw)) {
            ElementType e = elementType(word(v, what + " expects an element type"), v);
            if (!raw.isInstance(e)) {
                throw file.error(v, what + " expects a " + raw.getSimpleName() + ", found " + e.textName());
            }
            return e;
        }
        if (raw.isEnum()) {
            String w = word(v, what + " expects one of " + enumNames(raw));
            for (Object c : raw.getEnumConstants()) {
                if (AttributePrinter.enumName((Enum<?>) c).equals(w)) {
                    return c;
                }
            }
            throw file.error(v, what + " expects one of " + enumNames(raw) + ", found " + w);
        }
        if (raw == TensorType.class) {
            if (v instanceof TypeValueContext t && t.tensorElements() == null) {
                return tensorType(t.tensorType());
            }
            throw file.error(v, what + " expects a tensor type like f32[batch, 192], found " + found(v));
        }
        if (raw == Tensor.class) {
            if (v instanceof TypeValueContext t && t.tensorElements() != null) {
                return tensor(t.tensorType(), t.tensorElements());
            }
            throw file.error(v, what + " expects a tensor literal like i64[2] [6, -1], found " + found(v));
        }
        if (raw == Dim.class) {
            if (v instanceof DimValueContext d) {
                return dim(d.dim());
            }
            throw file.error(v, what + " expects a dim like seq or 2*batch+1, found " + found(v));
        }
        if (raw == Shape.class) {
            List<Dim> dims = new ArrayList<>();
            for (Object d : list(v, Dim.class, what)) {
                dims.add((Dim) d);
            }
            return new Shape(dims);
        }
        if (raw == List.class) {
            if (!(type instanceof ParameterizedType p)) {
                throw new IllegalStateException(what + ": raw List component has no element type");
            }
            return list(v, p.getActualTypeArguments()[0], what);
        }
        if (raw.isRecord()) {
            if (v instanceof RecordValueContext r) {
                return record(raw, OpNames.snake(raw.getSimpleName()), r.attributes(), v.getStart());
            }
            throw file.error(v, what + " expects {name = value, ...}, found " + found(v));
        }
        throw new IllegalStateException(what + " has type " + type + ", which has no text form");
    }

    private List<Object> list(ValueContext v, Type elementType, String what) {
        if (!(v instanceof ListValueContext l)) {
            throw file.error(v, what + " expects a list [...], found " + found(v));
        }
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < l.value().size(); i++) {
            out.add(read(l.value(i), elementType, what + " element " + i));
        }
        return out;
    }

    private boolean bool(ValueContext v, String what) {
        String w = word(v, what + " expects true or false");
        return switch (w) {
            case "true" -> true;
            case "false" -> false;
            default -> throw file.error(v, what + " expects true or false, found " + w);
        };
    }

    private long integer(ValueContext v, String what) {
        if (v instanceof DimValueContext d && d.dim() instanceof PolynomialDimContext p && isSignedInt(p)) {
            BigInteger b = new BigInteger(p.getText());
            if (b.bitLength() < 64) {
                return b.longValue();
            }
            throw file.error(v, what + " expects a long, " + b + " is out of range");
        }
        throw file.error(v, what + " expects an integer, found " + found(v));
    }

    private double real(ValueContext v, String what) {
        if (v instanceof FloatValueContext f) {
            return Double.parseDouble(f.getText());
        }
        if (v instanceof DimValueContext d && d.dim() instanceof PolynomialDimContext p && isSignedScalar(p)) {
            boolean negative = p.getChild(0).getText().equals("-");
            FactorContext f = p.term(0).factor(0);
            if (f.INT() != null) {
                return Double.parseDouble(p.getText());
            }
            switch (f.getText()) {
                case "inf" -> {
                    return negative ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
                }
                case "nan" -> {
                    return Double.NaN;
                }
                default -> { }
            }
        }
        throw file.error(v, what + " expects a number (or inf, nan), found " + found(v));
    }

    /** {@code '-'? INT} and nothing else. */
    private static boolean isSignedInt(PolynomialDimContext p) {
        return isSignedScalar(p) && p.term(0).factor(0).INT() != null;
    }

    /** {@code '-'? factor}: one term of one factor. */
    private static boolean isSignedScalar(PolynomialDimContext p) {
        return p.term().size() == 1 && p.term(0).factor().size() == 1;
    }

    /** A bare word (identifier) such as an enum constant, dtype or boolean. */
    private String word(ValueContext v, String expectation) {
        if (v instanceof DimValueContext d && d.dim() instanceof PolynomialDimContext p && isSignedScalar(p)
                && p.getChildCount() == 1 && p.term(0).factor(0).ident() != null) {
            return p.getText();
        }
        throw file.error(v, expectation + ", found " + found(v));
    }

    private static String enumNames(Class<?> e) {
        StringJoiner j = new StringJoiner(", ");
        for (Object c : e.getEnumConstants()) {
            j.add(AttributePrinter.enumName((Enum<?>) c));
        }
        return j.toString();
    }

    private static String found(ValueContext v) {
        String text = v.getText();
        return text.length() > 40 ? text.substring(0, 40) + "..." : text;
    }

    private static Class<?> rawClass(Type t) {
        if (t instanceof Class<?> c) {
            return c;
        }
        if (t instanceof ParameterizedType p) {
            return (Class<?>) p.getRawType();
        }
        throw new IllegalStateException("unsupported attribute type " + t);
    }

    // ---- types, dims, tensors (also used for statements) ----

    ElementType elementType(String name, org.antlr.v4.runtime.ParserRuleContext at) {
        try {
            return ElementType.parse(name);
        } catch (IllegalArgumentException e) {
            throw file.error(at, e.getMessage());
        }
    }

    TensorType tensorType(TensorTypeContext t) {
        ElementType e = elementType(t.ident().getText(), t.ident());
        return new TensorType(e, new Shape(dims(t.shape())));
    }

    List<Dim> dims(ShapeContext s) {
        List<Dim> out = new ArrayList<>(s.dim().size());
        for (DimContext d : s.dim()) {
            out.add(dim(d));
        }
        return out;
    }

    Dim dim(DimContext d) {
        if (!(d instanceof PolynomialDimContext p)) {
            return Dim.UNKNOWN;
        }
        try {
            Dim sum = term(p.term(0));
            if (p.getChild(0).getText().equals("-")) {
                sum = sum.negate();
            }
            for (int i = 1; i < p.term().size(); i++) {
                Dim t = term(p.term(i));
                sum = p.addOp(i - 1).getText().equals("-") ? sum.minus(t) : sum.plus(t);
            }
            return sum;
        } catch (ArithmeticException e) {
            throw file.error(d, "dim " + d.getText() + " overflows a long");
        }
    }

    private Dim term(TermContext t) {
        Dim product = Dim.of(1);
        for (FactorContext f : t.factor()) {
            Dim factor;
            if (f.INT() != null) {
                try {
                    factor = Dim.of(Long.parseLong(f.INT().getText()));
                } catch (NumberFormatException e) {
                    throw file.error(f, "dim factor " + f.getText() + " overflows a long");
                }
            } else {
                factor = Dim.sym(f.getText());
            }
            product = product.times(factor);
        }
        return product;
    }

    /** A tensor literal: a static-shaped scalar type and exactly its element count of values. */
    Tensor tensor(TensorTypeContext typeCtx, TensorElementsContext elements) {
        TensorType type = tensorType(typeCtx);
        if (!(type.elementType() instanceof DType dtype)) {
            throw file.error(typeCtx, "a tensor literal needs a scalar dtype, found " + type.elementType());
        }
        long[] shape = new long[type.rank()];
        for (int i = 0; i < shape.length; i++) {
            Dim d = type.dim(i);
            if (!d.isConstant() || d.value() < 0) {
                throw file.error(typeCtx.shape(), "a tensor literal needs a static shape, found " + type.shape());
            }
            shape[i] = d.value();
        }
        long count;
        try {
            count = Tensor.count(shape);
        } catch (ArithmeticException e) {
            throw file.error(typeCtx.shape(), "tensor literal of shape " + type.shape() + " is too large");
        }
        List<ElementContext> values = elements.element();
        if (values.size() != count) {
            throw file.error(elements,
                    "tensor literal of type " + type + " needs " + count + " values, found " + values.size());
        }
        if (dtype.isFloat()) {
            double[] data = new double[values.size()];
            for (int i = 0; i < data.length; i++) {
                data[i] = floatElement(values.get(i), dtype);
            }
            return Tensor.ofDoubles(dtype, shape, data);
        }
        long[] data = new long[values.size()];
        for (int i = 0; i < data.length; i++) {
            data[i] = dtype.isBool() ? boolElement(values.get(i)) : intElement(values.get(i), dtype);
        }
        return Tensor.ofLongs(dtype, shape, data);
    }

    private double floatElement(ElementContext e, DType dtype) {
        if (e.IDENT() == null) {
            return Double.parseDouble(e.getText());
        }
        boolean negative = e.getChildCount() == 2;
        return switch (e.IDENT().getText()) {
            case "inf" -> negative ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
            case "nan" -> Double.NaN;
            default -> throw file.error(e,
                    "expected a " + dtype + " value (a number, inf or nan), found " + e.getText());
        };
    }

    private long boolElement(ElementContext e) {
        return switch (e.getText()) {
            case "true" -> 1;
            case "false" -> 0;
            default -> throw file.error(e, "expected a bool value (true or false), found " + e.getText());
        };
    }

    private long intElement(ElementContext e, DType dtype) {
        if (e.INT() == null) {
            throw file.error(e, "expected an integer " + dtype + " value, found " + e.getText());
        }
        String text = e.getText();
        if (text.length() <= 18) {
            // Fits a long for sure: the common case, without BigInteger (constants can have millions of elements).
            long v = Long.parseLong(text);
            boolean fits = dtype.bits() == 64 ? !dtype.isUnsigned() || v >= 0
                    : dtype.isUnsigned() ? v >= 0 && v < 1L << dtype.bits()
                    : v >= -(1L << (dtype.bits() - 1)) && v < 1L << (dtype.bits() - 1);
            if (fits) {
                return v;
            }
        }
        BigInteger v = new BigInteger(text);
        BigInteger min;
        BigInteger max;
        if (dtype.isUnsigned()) {
            min = BigInteger.ZERO;
            max = dtype.bits() == 64 ? ULONG_MAX : BigInteger.ONE.shiftLeft(dtype.bits()).subtract(BigInteger.ONE);
        } else {
            min = dtype.bits() == 64 ? LONG_MIN : BigInteger.ONE.shiftLeft(dtype.bits() - 1).negate();
            max = BigInteger.ONE.shiftLeft(dtype.bits() - 1).subtract(BigInteger.ONE);
        }
        if (v.compareTo(min) < 0 || v.compareTo(max) > 0) {
            throw file.error(e, "value " + v + " does not fit " + dtype + " [" + min + ", " + max + "]");
        }
        return v.longValue();
    }
}
