package dev.tokc.ir.interp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.ir.Op;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Small builders for interpreter tests: params, constants, nodes, graphs from their outputs, tensor assertions. */
final class TestGraphs {
    private TestGraphs() {}

    static long[] s(long... dims) {
        return dims;
    }

    static Tensor f32(long[] shape, double... v) {
        return Tensor.ofDoubles(DType.F32, shape, v.clone());
    }

    static Tensor f64(long[] shape, double... v) {
        return Tensor.ofDoubles(DType.F64, shape, v.clone());
    }

    static Tensor floats(DType t, long[] shape, double... v) {
        return Tensor.ofDoubles(t, shape, v.clone());
    }

    static Tensor i64(long[] shape, long... v) {
        return Tensor.ofLongs(DType.I64, shape, v.clone());
    }

    static Tensor ints(DType t, long[] shape, long... v) {
        return Tensor.ofLongs(t, shape, v.clone());
    }

    static Tensor bool(long[] shape, long... v) {
        return Tensor.ofLongs(DType.BOOL, shape, v.clone());
    }

    static Tensor random(DType t, long[] shape, long seed) {
        Random r = new Random(seed);
        return Tensor.generate(t, shape, i -> r.nextGaussian());
    }

    static Node param(String name, DType t, long... dims) {
        return Node.of(new SourceOp.Param(name, TensorType.of(t, dims)), List.of(), name);
    }

    static Node param(String name, DType t, Dim... dims) {
        return Node.of(new SourceOp.Param(name, TensorType.of(t, dims)), List.of(), name);
    }

    /** A param whose declared type matches the tensor exactly. */
    static Node param(String name, Tensor like) {
        return param(name, like.dtype(), like.shape());
    }

    static Node constant(Tensor t) {
        return Node.of(new SourceOp.Constant(t));
    }

    static Node vec(long... v) {
        return constant(Tensor.vector(DType.I64, v));
    }

    static Node node(Op op, Node... in) {
        return Node.of(op, in);
    }

    /** A graph whose inputs are the params reachable from {@code outputs}, in first-seen order. */
    static Graph graph(Node... outputs) {
        List<Node> params = new ArrayList<>();
        for (Node n : new Graph("scan", List.of(), List.of(outputs)).nodes()) {
            if (n.op() instanceof SourceOp.Param && !params.contains(n)) {
                params.add(n);
            }
        }
        return new Graph("test", params, List.of(outputs));
    }

    static Map<String, Tensor> inputs(Object... nameValue) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (int i = 0; i < nameValue.length; i += 2) {
            m.put((String) nameValue[i], (Tensor) nameValue[i + 1]);
        }
        return m;
    }

    static Tensor eval(Node out, Object... nameValue) {
        return Interpreter.run(graph(out), inputs(nameValue), WeightSource.none()).getFirst();
    }

    /** Same dtype and shape; values within {@code tol} (absolute), NaN matching NaN. */
    static void assertTensor(Tensor expected, Tensor actual, double tol) {
        assertEquals(expected.dtype(), actual.dtype(), "dtype");
        assertArrayEquals(expected.shape(), actual.shape(), () -> "shape " + Arrays.toString(actual.shape()));
        for (int i = 0; i < expected.size(); i++) {
            double e = expected.getDouble(i);
            double a = actual.getDouble(i);
            boolean ok = (Double.isNaN(e) && Double.isNaN(a)) || e == a || Math.abs(e - a) <= tol;
            if (!ok) {
                fail("element " + i + ": expected " + e + " but was " + a + "\n  expected " + expected + "\n  actual   " + actual);
            }
        }
    }

    static void assertTensor(Tensor expected, Tensor actual) {
        assertTensor(expected, actual, 0);
    }

    static double maxAbsDiff(Tensor a, Tensor b) {
        assertArrayEquals(a.shape(), b.shape());
        double m = 0;
        for (int i = 0; i < a.size(); i++) {
            m = Math.max(m, Math.abs(a.getDouble(i) - b.getDouble(i)));
        }
        return m;
    }
}
