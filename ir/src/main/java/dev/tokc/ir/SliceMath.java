package dev.tokc.ir;

/** Extents of ONNX slices and ranges over possibly symbolic dims. Unknown when it cannot be decided statically. */
final class SliceMath {
    private SliceMath() {}

    /** Ends at or beyond this mean "to the end" (exporters write INT64_MAX or INT32_MAX). */
    static final long TO_END = Integer.MAX_VALUE;

    static Dim length(Dim size, Dim start, Dim end, Dim step) {
        if (!step.isConstant() || step.value() == 0) {
            if (step.isConstant()) {
                throw new IrException("slice step must not be 0");
            }
            return Dim.UNKNOWN;
        }
        long st = step.value();
        if (size.isConstant() && start.isConstant() && end.isConstant()) {
            return Dim.of(constantLength(size.value(), start.value(), end.value(), st));
        }
        if (st != 1 || start.isUnknown() || end.isUnknown()) {
            return Dim.UNKNOWN;
        }
        // Symbolic, step 1. Assumes symbolic bounds lie within the dim, which is what exporters produce
        // (x[:seq], x[k:], x[:-1]); the interpreter checks the actual extent against the declared type.
        Dim s = start;
        if (start.isConstant() && start.value() < 0) {
            s = size.plus(start.value());
        }
        Dim e = end;
        if (end.isConstant()) {
            if (end.value() >= TO_END) {
                e = size;
            } else if (end.value() < 0) {
                e = size.plus(end.value());
            }
        }
        if (start.isConstant() && start.value() < 0 && e.equals(size)) {
            // x[-k:] has length k when the dim is at least k.
            return Dim.of(-start.value());
        }
        return e.minus(s);
    }

    static long constantLength(long size, long start, long end, long step) {
        long s = start < 0 ? start + size : start;
        long e = end < 0 ? end + size : end;
        if (step > 0) {
            s = Math.clamp(s, 0, size);
            e = Math.clamp(e, 0, size);
            return e > s ? (e - s + step - 1) / step : 0;
        }
        s = Math.clamp(s, -1, size - 1);
        e = Math.clamp(e, -1, size - 1);
        return s > e ? (s - e + (-step) - 1) / (-step) : 0;
    }

    static Dim rangeLength(Dim start, Dim limit, long delta) {
        if (delta == 0) {
            throw new IrException("range delta must not be 0");
        }
        if (start.isConstant() && limit.isConstant()) {
            long n = Math.ceilDiv(limit.value() - start.value(), delta);
            return Dim.of(Math.max(n, 0));
        }
        return limit.minus(start).exactDiv(Dim.of(delta)).orElse(Dim.UNKNOWN);
    }
}
