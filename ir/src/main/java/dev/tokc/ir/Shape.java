package dev.tokc.ir;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A tensor shape: a list of {@link Dim}s. Rank 0 is a scalar. */
public record Shape(List<Dim> dims) {
    public static final Shape SCALAR = new Shape(List.of());

    public Shape {
        dims = List.copyOf(dims);
    }

    public static Shape of(long... dims) {
        List<Dim> d = new ArrayList<>();
        for (long x : dims) {
            d.add(Dim.of(x));
        }
        return new Shape(d);
    }

    public static Shape of(Dim... dims) {
        return new Shape(List.of(dims));
    }

    public int rank() {
        return dims.size();
    }

    public Dim dim(int i) {
        return dims.get(i);
    }

    /** The dim at a possibly negative axis (numpy style). */
    public Dim at(int axis) {
        return dims.get(normalizeAxis(axis, rank()));
    }

    public boolean isStatic() {
        return dims.stream().allMatch(Dim::isConstant);
    }

    /** Element count if static. */
    public long numElements() {
        long n = 1;
        for (Dim d : dims) {
            n = Math.multiplyExact(n, d.value());
        }
        return n;
    }

    /** Product of all dims as a dim (possibly symbolic). */
    public Dim numElementsDim() {
        Dim n = Dim.of(1);
        for (Dim d : dims) {
            n = n.times(d);
        }
        return n;
    }

    public long[] evaluate(Map<String, Long> bindings) {
        long[] out = new long[dims.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = dims.get(i).evaluate(bindings);
        }
        return out;
    }

    public Shape withDim(int i, Dim d) {
        if (dims.get(i).equals(d)) {
            return this;
        }
        List<Dim> copy = new ArrayList<>(dims);
        copy.set(i, d);
        return new Shape(copy);
    }

    /** Maps a numpy-style axis in [-rank, rank) to [0, rank); throws with both numbers otherwise. */
    public static int normalizeAxis(long axis, int rank) {
        if (axis < -rank || axis >= rank) {
            throw new IllegalArgumentException("axis " + axis + " is out of range for rank " + rank);
        }
        return (int) (axis < 0 ? axis + rank : axis);
    }

    /**
     * Multidirectional (numpy/ONNX) broadcasting: shapes are right-aligned, a dim of 1 stretches. A symbolic dim
     * broadcast against 1 stays symbolic; two different non-1 dims are an error.
     */
    public static Shape broadcast(Shape a, Shape b) {
        int rank = Math.max(a.rank(), b.rank());
        List<Dim> out = new ArrayList<>(rank);
        for (int i = 0; i < rank; i++) {
            int ia = i - (rank - a.rank());
            int ib = i - (rank - b.rank());
            Dim da = ia < 0 ? Dim.of(1) : a.dim(ia);
            Dim db = ib < 0 ? Dim.of(1) : b.dim(ib);
            out.add(broadcastDim(da, db, a, b));
        }
        return new Shape(out);
    }

    private static Dim broadcastDim(Dim da, Dim db, Shape a, Shape b) {
        Dim one = Dim.of(1);
        if (da.equals(one)) {
            return db;
        }
        if (db.equals(one) || da.equals(db)) {
            return da;
        }
        if (da.isUnknown()) {
            return db;
        }
        if (db.isUnknown()) {
            return da;
        }
        if (da.isConstant() && db.isConstant()) {
            throw new IllegalArgumentException("shapes " + a + " and " + b + " do not broadcast");
        }
        // Two different symbolic dims, or a symbol against a constant: valid only if they agree at run time.
        return da.isConstant() ? da : db.isConstant() ? db : da;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < dims.size(); i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(dims.get(i));
        }
        return sb.append(']').toString();
    }
}
