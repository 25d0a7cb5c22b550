package dev.tokc.frontend.onnx;

import dev.tokc.frontend.ModelFormatException;
import dev.tokc.frontend.onnx.proto.OptionalProto;
import dev.tokc.frontend.onnx.proto.SequenceProto;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A runtime value of ONNX's type system as tokc reads it from test data: a dense {@link OnnxTensor}, a
 * {@link Sequence} of values, or an {@link OptionalValue}. Sparse tensors and maps are left out because none of
 * the operators tokc maps produces or consumes them; decoding one fails with a {@link ModelFormatException}.
 */
public sealed interface OnnxValue permits OnnxTensor, OnnxValue.Sequence, OnnxValue.OptionalValue {

    /** The value's name as stored (often empty in test data). */
    String name();

    /** An ordered list of values of one kind (ONNX's {@code seq(T)}). */
    record Sequence(String name, List<OnnxValue> elements) implements OnnxValue {
        public Sequence {
            elements = List.copyOf(elements);
        }

        /** Decodes a SequenceProto; tensors with external data are resolved in {@code dir} (may be null). */
        public static Sequence decode(SequenceProto proto, Path dir) {
            String what = "sequence '" + proto.getName() + "'";
            List<OnnxValue> elements = new ArrayList<>();
            switch (proto.getElemType()) {
                case 0 -> { // UNDEFINED: an empty sequence may leave its element kind unset
                    if (proto.getTensorValuesCount() + proto.getSequenceValuesCount() + proto.getOptionalValuesCount() > 0) {
                        throw new ModelFormatException(what + " holds values but has no elem_type");
                    }
                }
                case 1 -> proto.getTensorValuesList().forEach(t -> elements.add(OnnxTensors.decode(t, dir)));
                case 3 -> proto.getSequenceValuesList().forEach(s -> elements.add(decode(s, dir)));
                case 5 -> proto.getOptionalValuesList().forEach(o -> elements.add(OptionalValue.decode(o, dir)));
                default -> throw new ModelFormatException(what + " has elem_type " + proto.getElemType()
                        + "; only tensor, sequence and optional elements are supported");
            }
            return new Sequence(proto.getName(), elements);
        }
    }

    /** A value that may be absent (ONNX's {@code optional(T)}); {@code value} is empty for "none". */
    record OptionalValue(String name, java.util.Optional<OnnxValue> value) implements OnnxValue {

        /** Decodes an OptionalProto; tensors with external data are resolved in {@code dir} (may be null). */
        public static OptionalValue decode(OptionalProto proto, Path dir) {
            OnnxValue v = switch (proto.getElemType()) {
                case 1 -> proto.hasTensorValue() ? OnnxTensors.decode(proto.getTensorValue(), dir) : null;
                case 3 -> proto.hasSequenceValue() ? Sequence.decode(proto.getSequenceValue(), dir) : null;
                case 5 -> proto.hasOptionalValue() ? decode(proto.getOptionalValue(), dir) : null;
                case 0 -> null;
                default -> throw new ModelFormatException("optional '" + proto.getName() + "' has elem_type "
                        + proto.getElemType() + "; only tensor, sequence and optional values are supported");
            };
            return new OptionalValue(proto.getName(), java.util.Optional.ofNullable(v));
        }
    }
}
