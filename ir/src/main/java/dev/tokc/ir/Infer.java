package dev.tokc.ir;

import java.util.ArrayList;
import java.util.List;

/** Type-inference helpers shared by the op records. Each throws {@link IrException} saying what was expected. */
final class Infer {
    private Infer() {}

    static void arity(List<Node> in, int n) {
        if (in.size() != n) {
            throw new IrException("expects " + n + " input" + (n == 1 ? "" : "s") + ", got " + in.size());
        }
    }

    static void arity(List<Node> in, int min, int max) {
        if (in.size() < min || in.size() > max) {
            throw new IrException("expects " + min + " to " + max + " inputs, got " + in.size());
        }
    }

    static DType sameDType(List<Node> in) {
        DType d = in.get(0).dtype();
        for (int i = 1; i < in.size(); i++) {
            if (in.get(i).dtype() != d) {
                throw new IrException("input " + i + " is " + in.get(i).dtype() + " but input 0 is " + d
                        + " (operands must have the same dtype)");
            }
        }
        return d;
    }

    static void requireFloat(Node n, String what) {
        if (!n.dtype().isFloat()) {
            throw new IrException(what + " must be a float tensor, got " + n.type());
        }
    }

    static void requireInteger(Node n, String what) {
        if (!n.dtype().isInteger()) {
            throw new IrException(what + " must be an integer tensor, got " + n.type());
        }
    }

    static void requireBool(Node n, String what) {
        if (!n.dtype().isBool()) {
            throw new IrException(what + " must be a bool tensor, got " + n.type());
        }
    }

    static void requireRank(Node n, int rank, String what) {
        if (n.rank() != rank) {
            throw new IrException(what + " must have rank " + rank + ", got " + n.type());
        }
    }

    static void requireMinRank(Node n, int rank, String what) {
        if (n.rank() < rank) {
            throw new IrException(what + " must have rank >= " + rank + ", got " + n.type());
        }
    }

    static void requireDimEqual(Dim a, Dim b, String what) {
        if (!a.mayEqual(b)) {
            throw new IrException(what + ": " + a + " != " + b);
        }
    }

    static Shape broadcast(List<Node> in) {
        Shape s = in.get(0).shape();
        for (int i = 1; i < in.size(); i++) {
            try {
                s = Shape.broadcast(s, in.get(i).shape());
            } catch (IllegalArgumentException e) {
                throw new IrException(e.getMessage());
            }
        }
        return s;
    }

    static int axis(long axis, int rank) {
        try {
            return Shape.normalizeAxis(axis, rank);
        } catch (IllegalArgumentException e) {
            throw new IrException(e.getMessage());
        }
    }

    /** A shape with every dim unknown: for results whose extent depends on data the compiler cannot see. */
    static Shape unknownShape(int rank) {
        List<Dim> d = new ArrayList<>();
        for (int i = 0; i < rank; i++) {
            d.add(Dim.UNKNOWN);
        }
        return new Shape(d);
    }

    /** The 1-D i64 vector a shape-like input holds, as dims (symbolic where it is a shape computation). */
    static List<Dim> shapeOperand(Node n, String what) {
        if (n.rank() != 1 || !n.dtype().isInteger()) {
            throw new IrException(what + " must be a 1-D integer tensor, got " + n.type());
        }
        return SymbolicValues.dims(n).orElseGet(() -> {
            Dim len = n.shape().dim(0);
            if (!len.isConstant()) {
                throw new IrException(what + " must have a static length, got " + n.type());
            }
            List<Dim> d = new ArrayList<>();
            for (long i = 0; i < len.value(); i++) {
                d.add(Dim.UNKNOWN);
            }
            return d;
        });
    }
}
