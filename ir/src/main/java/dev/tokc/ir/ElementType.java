package dev.tokc.ir;

/**
 * The element type of a tensor: either a plain scalar {@link DType} or a packed {@link QuantType} whose values are
 * stored in blocks with their own scales. Prints as its text-form name ({@code f32}, {@code int4g32}).
 */
public sealed interface ElementType permits DType, QuantType {
    /** The name used in the text form. */
    String textName();

    /** Storage bits per element, metadata (scales, zero points) included on average. */
    double bitsPerElement();

    /** Parses a text-form element type name; throws {@link IllegalArgumentException} naming the text otherwise. */
    static ElementType parse(String text) {
        DType d = DType.byName(text);
        if (d != null) {
            return d;
        }
        return QuantType.parse(text);
    }
}
