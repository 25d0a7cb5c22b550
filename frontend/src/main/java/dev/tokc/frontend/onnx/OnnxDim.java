package dev.tokc.frontend.onnx;

import dev.tokc.frontend.onnx.proto.TensorShapeProto;

/**
 * One dimension of a declared ONNX shape: a known size, a named symbol ({@code batch}, {@code seq}; two
 * dimensions with the same name are equal at run time), or unknown (neither set in the file). The importer maps
 * these to the IR's integer and symbolic dimensions.
 */
public sealed interface OnnxDim {

    /** A dimension of known size. */
    record Fixed(long size) implements OnnxDim {
        @Override
        public String toString() {return Long.toString(size);}
    }

    /** A dimension named by a symbol ({@code dim_param}). */
    record Symbolic(String name) implements OnnxDim {
        @Override
        public String toString() {return name;}
    }

    /** A dimension the file says nothing about. */
    record Unknown() implements OnnxDim {
        @Override
        public String toString() {return "?";}
    }

    static OnnxDim of(TensorShapeProto.Dimension d) {
        return switch (d.getValueCase()) {
            case DIM_VALUE -> new Fixed(d.getDimValue());
            // An empty dim_param names nothing, so it is as unknown as an absent one.
            case DIM_PARAM -> d.getDimParam().isEmpty() ? new Unknown() : new Symbolic(d.getDimParam());
            case VALUE_NOT_SET -> new Unknown();
        };
    }
}
