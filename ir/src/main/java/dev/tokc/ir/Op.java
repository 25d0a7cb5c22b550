package dev.tokc.ir;

import java.lang.reflect.RecordComponent;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The closed op set of the IR. Every op is an immutable record whose components are its attributes; its operands
 * are the inputs of the {@link Node} that applies it. Ops come in the levels a graph moves down through:
 * <ol>
 *   <li>{@link SourceOp}: graph parameters, weights, constants and symbolic dims (no inputs);</li>
 *   <li>{@link PrimitiveOp}: close to ONNX (Add, MatMul, Reshape, ...);</li>
 *   <li>{@link ModelOp}: RmsNorm, Rope, Attention, Linear, ...;</li>
 *   <li>{@link TargetOp}: FusedLinear, FlashAttention, PagedAttention, KvWrite, collectives, ...</li>
 * </ol>
 *
 * <p>An op knows its text name, its attributes (derived from the record components, so the text form, verifier
 * and printer never drift from the record) and how to infer its result type from its inputs. Inference throws
 * {@link IrException} with a message that says what was expected; the caller adds which node it was.
 */
public sealed interface Op permits SourceOp, PrimitiveOp, ModelOp, TargetOp {

    /** The text-form name: the record's simple name in snake_case ({@code RmsNorm} -> {@code rms_norm}). */
    default String name() {
        return OpNames.nameOf(getClass());
    }

    /** Attributes in declaration order, keyed by snake_case component name. */
    default Map<String, Object> attributes() {
        Map<String, Object> out = new LinkedHashMap<>();
        for (RecordComponent c : getClass().getRecordComponents()) {
            try {
                out.put(OpNames.snake(c.getName()), c.getAccessor().invoke(this));
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot read attribute " + c.getName() + " of " + name(), e);
            }
        }
        return out;
    }

    /**
     * Attribute values the text form may leave out: an op record declares them in a
     * {@code public static final Map<String, Object> DEFAULTS} field (snake_case keys). The printer omits an attribute
     * equal to its default and the parser fills in a missing one, so rarely-used attributes don't clutter every line.
     */
    static Map<String, Object> defaultsOf(Class<?> opClass) {
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> d = (Map<String, Object>) opClass.getField("DEFAULTS").get(null);
            return d;
        } catch (NoSuchFieldException e) {
            return Map.of();
        } catch (IllegalAccessException | ClassCastException e) {
            throw new IllegalStateException(opClass.getName() + ".DEFAULTS must be a public static Map<String, Object>", e);
        }
    }

    /** The result type of this op applied to {@code inputs}; throws {@link IrException} when they do not fit. */
    TensorType inferType(List<Node> inputs);
}
