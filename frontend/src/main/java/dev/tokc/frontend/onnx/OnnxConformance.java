package dev.tokc.frontend.onnx;

import dev.tokc.frontend.ModelFormatException;
import dev.tokc.ir.DType;
import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.interp.Interpreter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs one case of ONNX's backend node tests (see {@link OnnxNodeTestCase}) through the ONNX importer and the
 * reference interpreter and compares every output of every data set with the expected one, by the rule of the
 * cases' README (ONNX's own backend-test defaults):
 * <ul>
 *   <li>dtype and shape equal;</li>
 *   <li>floating types: {@code |actual - expected| <= ATOL + RTOL * |expected|}, NaNs in the same places,
 *       infinities equal;</li>
 *   <li>integer and bool types: equal.</li>
 * </ul>
 * Each data set imports the model with its declared input types (symbolic dims bind from the data) and the data
 * set's input values known to the importer, which uses them only where the IR needs an operand as a constant (the
 * node tests feed axes, split sizes and Trilu's k as graph inputs; see
 * {@link OnnxImporter#importModel(OnnxModel, Map)}); the inputs then feed the graph inputs by name. A case passes
 * when every data set matches; otherwise the result names the first mismatch (data set, output name, flat index, expected, actual) or the error that stopped it (loading,
 * importing or evaluating). Nothing here throws for a failing case: {@link #run} always returns a {@link Result}.
 */
public final class OnnxConformance {
    /** Relative tolerance for floating outputs (ONNX backend-test default). */
    public static final double RTOL = 1e-3;
    /** Absolute tolerance for floating outputs (ONNX backend-test default). */
    public static final double ATOL = 1e-7;

    private OnnxConformance() {}

    /** What went wrong in a failing case, or {@link Passed}. */
    public sealed interface Outcome permits Passed, Mismatch, RunError {}

    /** Every output of every data set matched. */
    public record Passed(int dataSets, int outputs) implements Outcome {}

    /**
     * The first output value that differs. {@code index} is the flat (row-major) element index, or -1 when the
     * dtype or shape already differ (then {@code expected} and {@code actual} are the types).
     */
    public record Mismatch(String dataSet, String output, long index, String expected, String actual)
            implements Outcome {}

    /** The case could not be run: {@code stage} is {@code load}, {@code import} or {@code evaluate}. */
    public record RunError(String stage, String message) implements Outcome {}

    /** The result of one case: its folder name and outcome. */
    public record Result(String caseName, Outcome outcome) {
        public boolean passed() {
            return outcome instanceof Passed;
        }

        /**
         * One line for people: {@code PASS test_add} or {@code FAIL test_x: <why>}, where the why is
         * {@code output 'y'[3] (test_data_set_0): expected 1.0, actual 2.0} or {@code import: <message>}.
         */
        public String line() {
            return (passed() ? "PASS " : "FAIL ") + caseName + (passed() ? "" : ": " + reason());
        }

        /** Why it failed (empty for a pass). */
        public String reason() {
            return switch (outcome) {
                case Passed p -> "";
                case Mismatch m -> "output '" + m.output() + "'" + (m.index() >= 0 ? "[" + m.index() + "]" : "")
                        + " (" + m.dataSet() + "): expected " + m.expected() + ", actual " + m.actual();
                case RunError e -> e.stage() + ": " + e.message();
            };
        }
    }

    /** Runs the case in {@code caseDir} (a folder holding {@code model.onnx} and {@code test_data_set_N}). */
    public static Result run(Path caseDir) {
        String name = caseDir.getFileName().toString();
        OnnxNodeTestCase c;
        try {
            c = OnnxNodeTestCase.load(caseDir);
        } catch (RuntimeException e) {
            return new Result(name, new RunError("load", message(e)));
        }
        return run(c);
    }

    /** Runs a loaded case (its model need not come from its folder: tests pair other models with its data). */
    public static Result run(OnnxNodeTestCase c) {
        String name = c.name();
        int outputs = 0;
        for (OnnxNodeTestCase.DataSet set : c.dataSets()) {
            Map<String, Tensor> given = givenInputs(set);
            OnnxImporter.Imported imported;
            try {
                imported = OnnxImporter.importModel(c.model(), given);
            } catch (RuntimeException e) {
                return new Result(name, new RunError("import", message(e)));
            }
            Graph g = imported.graph();
            List<Tensor> actual;
            try {
                actual = Interpreter.run(g, inputs(c.model(), g, set, given), imported.weightSource());
            } catch (RuntimeException e) {
                return new Result(name, new RunError("evaluate", set.name() + ": " + message(e)));
            }
            int i = 0;
            for (var e : set.outputs().entrySet()) {
                if (!(e.getValue() instanceof OnnxTensor expected)) {
                    return new Result(name, new RunError("evaluate", set.name() + ": output '" + e.getKey() + "' is a "
                            + e.getValue().getClass().getSimpleName() + "; tokc's IR has only tensor values"));
                }
                Mismatch m = compare(set.name(), e.getKey(), expected, actual.get(i++));
                if (m != null) {
                    return new Result(name, m);
                }
                outputs++;
            }
        }
        return new Result(name, new Passed(c.dataSets().size(), outputs));
    }

    /** Runs every case folder under {@code root} (sorted by name). */
    public static List<Result> runAll(Path root) {
        List<Result> out = new ArrayList<>();
        for (Path dir : OnnxNodeTestCase.caseDirectories(root)) {
            out.add(run(dir));
        }
        return out;
    }

    /**
     * The cases a command-line argument names: the folder itself when it holds a {@code model.onnx}, else the case
     * folders directly under it (so both {@code onnx-node-tests/test_add} and {@code onnx-node-tests} work).
     */
    public static List<Path> cases(Path dirOrRoot) {
        if (Files.isRegularFile(dirOrRoot.resolve("model.onnx"))) {
            return List.of(dirOrRoot);
        }
        if (!Files.isDirectory(dirOrRoot)) {
            throw new ModelFormatException(dirOrRoot + ": not a node-test case folder (no model.onnx) or a folder of them");
        }
        return OnnxNodeTestCase.caseDirectories(dirOrRoot);
    }

    /**
     * Imports the case's model as {@link #run} does for {@code set}: with the data set's input values known where
     * the IR needs constants.
     */
    public static OnnxImporter.Imported importFor(OnnxNodeTestCase c, OnnxNodeTestCase.DataSet set) {
        return OnnxImporter.importModel(c.model(), givenInputs(set));
    }

    /** The closing line of a run: {@code N passed, M failed}. */
    public static String summary(List<Result> results) {
        long passed = results.stream().filter(Result::passed).count();
        return passed + " passed, " + (results.size() - passed) + " failed";
    }

    /** The data set's tensor inputs of IR-supported types as IR tensors, by ONNX name. */
    private static Map<String, Tensor> givenInputs(OnnxNodeTestCase.DataSet set) {
        Map<String, Tensor> given = new LinkedHashMap<>();
        for (var e : set.inputs().entrySet()) {
            if (e.getValue() instanceof OnnxTensor t && supported(t)) {
                given.put(e.getKey(), OnnxImporter.toIr(t));
            }
        }
        return given;
    }

    /** The data set's input tensors keyed by the imported graph's parameter names. */
    private static Map<String, Tensor> inputs(OnnxModel model, Graph g, OnnxNodeTestCase.DataSet set,
            Map<String, Tensor> given) {
        Map<String, String> onnxNames = new LinkedHashMap<>();
        for (OnnxValueInfo info : model.inputs()) {
            onnxNames.put(OnnxImporter.sanitize(info.name()), info.name());
        }
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (Node p : g.inputs()) {
            String param = ((SourceOp.Param) p.op()).paramName();
            Tensor t = given.get(onnxNames.get(param));
            if (t == null) {
                throw new ModelFormatException(set.name() + ": no tensor for graph input '" + param + "'");
            }
            in.put(param, t);
        }
        return in;
    }

    private static boolean supported(OnnxTensor t) {
        try {
            OnnxImporter.irDType(t.dtype(), t.name());
            return true;
        } catch (ModelFormatException e) {
            return false;
        }
    }

    /** The first difference between expected and actual, or null when they match by the class doc's rule. */
    static Mismatch compare(String dataSet, String output, OnnxTensor expected, Tensor actual) {
        DType want;
        try {
            want = OnnxImporter.irDType(expected.dtype(), "expected output '" + output + "'");
        } catch (ModelFormatException e) {
            return new Mismatch(dataSet, output, -1, expected.dtype() + Arrays.toString(expected.shape()),
                    actual.dtype() + Arrays.toString(actual.shape()));
        }
        if (want != actual.dtype() || !Arrays.equals(expected.shape(), actual.shape())) {
            return new Mismatch(dataSet, output, -1, want + Arrays.toString(expected.shape()),
                    actual.dtype() + Arrays.toString(actual.shape()));
        }
        int n = expected.elementCount();
        for (int i = 0; i < n; i++) {
            if (want.isFloat()) {
                double e = expected.getDouble(i);
                double a = actual.getDouble(i);
                if (!close(e, a)) {
                    return new Mismatch(dataSet, output, i, Double.toString(e), Double.toString(a));
                }
            } else {
                long e = expected.getLong(i);
                long a = actual.getLong(i);
                if (e != a) {
                    return new Mismatch(dataSet, output, i, Long.toString(e), Long.toString(a));
                }
            }
        }
        return null;
    }

    /** numpy's assert_allclose rule: NaN matches NaN, infinities must be equal, else the rtol/atol bound. */
    static boolean close(double expected, double actual) {
        if (Double.isNaN(expected) || Double.isNaN(actual)) {
            return Double.isNaN(expected) && Double.isNaN(actual);
        }
        if (Double.isInfinite(expected) || Double.isInfinite(actual)) {
            return expected == actual;
        }
        return Math.abs(actual - expected) <= ATOL + RTOL * Math.abs(expected);
    }

    private static String message(RuntimeException e) {
        String m = e.getMessage();
        return m == null ? e.toString() : m.replace('\n', ' ');
    }
}
