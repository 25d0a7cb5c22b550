package dev.tokc.frontend.onnx;

import dev.tokc.frontend.onnx.proto.TensorShapeProto;
import dev.tokc.frontend.onnx.proto.TypeProto;
import dev.tokc.frontend.onnx.proto.ValueInfoProto;

import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A declared graph input, output or intermediate value: its name, what kind of value it is and, for tensors,
 * the element type and shape as the file states them.
 *
 * @param name  the value's name in the graph
 * @param kind  tensor, sparse tensor, sequence, map, optional, or unspecified when the file gives no type
 * @param dtype the element type of a tensor or sparse tensor; UNDEFINED for the other kinds (whose element
 *              types the importer does not need) and for a code tokc does not know
 * @param shape the dimensions of a tensor or sparse tensor; empty when even the rank is not given
 */
public record OnnxValueInfo(String name, Kind kind, OnnxDataType dtype, Optional<List<OnnxDim>> shape) {

    /** The kinds of value ONNX's type system has. */
    public enum Kind { TENSOR, SPARSE_TENSOR, SEQUENCE, MAP, OPTIONAL, UNSPECIFIED }

    public OnnxValueInfo {
        shape = shape.map(List::copyOf);
    }

    /** The declaration {@code proto} describes. */
    public static OnnxValueInfo of(ValueInfoProto proto) {
        TypeProto type = proto.getType();
        return switch (type.getValueCase()) {
            case TENSOR_TYPE -> tensor(proto.getName(), Kind.TENSOR, type.getTensorType().getElemType(),
                    type.getTensorType().hasShape() ? type.getTensorType().getShape() : null);
            case SPARSE_TENSOR_TYPE -> tensor(proto.getName(), Kind.SPARSE_TENSOR,
                    type.getSparseTensorType().getElemType(),
                    type.getSparseTensorType().hasShape() ? type.getSparseTensorType().getShape() : null);
            case SEQUENCE_TYPE -> other(proto.getName(), Kind.SEQUENCE);
            case MAP_TYPE -> other(proto.getName(), Kind.MAP);
            case OPTIONAL_TYPE -> other(proto.getName(), Kind.OPTIONAL);
            case VALUE_NOT_SET -> other(proto.getName(), Kind.UNSPECIFIED);
        };
    }

    private static OnnxValueInfo tensor(String name, Kind kind, int elemType, TensorShapeProto shape) {
        OnnxDataType dtype = OnnxDataType.fromCode(elemType).orElse(OnnxDataType.UNDEFINED);
        return new OnnxValueInfo(name, kind, dtype,
                Optional.ofNullable(shape).map(s -> s.getDimList().stream().map(OnnxDim::of).toList()));
    }

    private static OnnxValueInfo other(String name, Kind kind) {
        return new OnnxValueInfo(name, kind, OnnxDataType.UNDEFINED, Optional.empty());
    }

    /** Whether this is a tensor with a declared rank. */
    public boolean hasShape() {return shape.isPresent();}

    /** The declared dimensions; throws when the rank is unknown. */
    public List<OnnxDim> dims() {
        return shape.orElseThrow(() -> new IllegalStateException("value '" + name + "' has no declared shape"));
    }

    /** Like {@code logits: FLOAT[batch, seq, 1024]}. */
    @Override
    public String toString() {
        String type = switch (kind) {
            case TENSOR, SPARSE_TENSOR -> (kind == Kind.SPARSE_TENSOR ? "sparse " : "") + dtype
                    + shape.map(s -> s.stream().map(OnnxDim::toString).collect(Collectors.joining(", ", "[", "]")))
                    .orElse("[*]");
            default -> kind.toString().toLowerCase(java.util.Locale.ROOT);
        };
        return name + ": " + type;
    }
}
