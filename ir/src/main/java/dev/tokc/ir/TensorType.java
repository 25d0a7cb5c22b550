package dev.tokc.ir;

import java.util.List;

/** The type of an IR value: element type and shape. Prints as {@code f32[batch, seq, 192]}. */
public record TensorType(ElementType elementType, Shape shape) {
    public static TensorType of(ElementType e, Dim... dims) {
        return new TensorType(e, new Shape(List.of(dims)));
    }

    public static TensorType of(ElementType e, long... dims) {
        return new TensorType(e, Shape.of(dims));
    }

    /** The scalar dtype; throws for packed quantized types, which only QuantizedLinear accepts. */
    public DType dtype() {
        if (elementType instanceof DType d) {
            return d;
        }
        throw new IllegalArgumentException("expected a scalar element type, got " + elementType);
    }

    public boolean isQuantized() {
        return elementType instanceof QuantType;
    }

    public int rank() {
        return shape.rank();
    }

    public Dim dim(int i) {
        return shape.dim(i);
    }

    public TensorType withShape(Shape s) {
        return s.equals(shape) ? this : new TensorType(elementType, s);
    }

    public TensorType withElementType(ElementType e) {
        return e.equals(elementType) ? this : new TensorType(e, shape);
    }

    @Override
    public String toString() {
        return elementType.textName() + shape;
    }
}
