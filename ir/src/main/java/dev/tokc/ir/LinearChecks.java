package dev.tokc.ir;

import java.util.ArrayList;
import java.util.List;

/** Shape rules shared by Linear, FusedLinear and QuantizedLinear: x [..., in], w [out, in], bias [out]. */
final class LinearChecks {
    private LinearChecks() {}

    static TensorType check(List<Node> in, boolean transposeWeight) {
        Node x = in.get(0);
        Node w = in.get(1);
        Infer.requireFloat(x, "x");
        Infer.requireMinRank(x, 1, "x");
        Infer.requireRank(w, 2, "weight");
        Dim out = transposeWeight ? w.shape().dim(1) : w.shape().dim(0);
        Dim inDim = transposeWeight ? w.shape().dim(0) : w.shape().dim(1);
        Infer.requireDimEqual(inDim, x.shape().at(-1), "weight in-features " + inDim + " != x last dim");
        if (!w.type().isQuantized() && w.dtype() != x.dtype()) {
            throw new IrException("weight is " + w.type() + " but x is " + x.type());
        }
        if (in.size() > 2) {
            Node b = in.get(2);
            Infer.requireRank(b, 1, "bias");
            Infer.requireDimEqual(b.shape().dim(0), out, "bias length != out-features");
        }
        List<Dim> dims = new ArrayList<>(x.shape().dims());
        dims.set(dims.size() - 1, out);
        return new TensorType(x.dtype(), new Shape(dims));
    }
}
