package dev.tokc.frontend.onnx;

import dev.tokc.ir.testing.SharedData;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every case of ../shared/onnx-node-tests loads with its data sets, and the decoded data agrees with the
 * graph's declarations; lossless casts check the narrow-type decoders against ONNX's own expected outputs.
 */
class OnnxNodeTestCaseTest {

    @TestFactory
    Stream<DynamicTest> everyCaseLoadsConsistentWithItsGraph() {
        Path root = SharedData.require("onnx-node-tests");
        List<Path> cases = OnnxNodeTestCase.caseDirectories(root);
        assertTrue(cases.size() >= 474, "expected the 474 cases the README lists, found " + cases.size());
        return cases.stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            OnnxNodeTestCase c = OnnxNodeTestCase.load(dir);
            assertFalse(c.dataSets().isEmpty(), "no data sets");
            assertFalse(c.model().graph().getNodeList().isEmpty(), "no nodes");
            for (OnnxNodeTestCase.DataSet set : c.dataSets()) {
                assertEquals(names(c.model().inputs()), List.copyOf(set.inputs().keySet()), set.name());
                assertEquals(names(c.model().outputs()), List.copyOf(set.outputs().keySet()), set.name());
                checkAgainstDeclarations(c.model().inputs(), set.inputs());
                checkAgainstDeclarations(c.model().outputs(), set.outputs());
            }
        }));
    }

    private static List<String> names(List<OnnxValueInfo> infos) {
        return infos.stream().map(OnnxValueInfo::name).toList();
    }

    /** A tensor's dtype is the declared one and its size matches every declared fixed dimension. */
    private static void checkAgainstDeclarations(List<OnnxValueInfo> declared, Map<String, OnnxValue> values) {
        for (OnnxValueInfo info : declared) {
            if (!(values.get(info.name()) instanceof OnnxTensor t)) continue;
            assertEquals(info.dtype(), t.dtype(), info.toString());
            if (!info.hasShape()) continue;
            assertEquals(info.dims().size(), t.rank(), info + " vs " + t);
            for (int i = 0; i < t.rank(); i++) {
                if (info.dims().get(i) instanceof OnnxDim.Fixed(long size)) {
                    assertEquals(size, t.shape()[i], info + " vs " + Arrays.toString(t.shape()));
                }
            }
        }
    }

    @Test
    void addOutputIsTheSumOfItsInputs() {
        OnnxNodeTestCase c = OnnxNodeTestCase.load(SharedData.require("onnx-node-tests/test_add"));
        OnnxNodeTestCase.DataSet set = c.dataSets().getFirst();
        float[] x = set.inputTensor("x").floats();
        float[] y = set.inputTensor("y").floats();
        float[] sum = set.outputTensor("sum").floats();
        assertEquals(3 * 4 * 5, sum.length);
        for (int i = 0; i < sum.length; i++) assertEquals(x[i] + y[i], sum[i], 1e-6f);
    }

    @Test
    void splitToSequenceOutputIsASequenceOfTensors() {
        OnnxNodeTestCase c = OnnxNodeTestCase.load(SharedData.require("onnx-node-tests/test_split_to_sequence_1"));
        OnnxValue out = c.dataSets().getFirst().outputs().get("seq");
        OnnxValue.Sequence seq = assertInstanceOf(OnnxValue.Sequence.class, out);
        assertFalse(seq.elements().isEmpty());
        seq.elements().forEach(e -> assertInstanceOf(OnnxTensor.class, e));
    }

    /**
     * Casts that widen without loss: the input decoded by tokc must equal ONNX's expected output element by
     * element, which checks the 2-, 4- and 8-bit decoders against data tokc did not write.
     */
    @TestFactory
    Stream<DynamicTest> losslessCastsAgreeWithTheirExpectedOutputs() {
        Path root = SharedData.require("onnx-node-tests");
        return Stream.of(
                        "test_cast_BFLOAT16_to_FLOAT", "test_cast_FLOAT16_to_DOUBLE", "test_cast_FLOAT16_to_FLOAT",
                        "test_cast_FLOAT4E2M1_to_FLOAT", "test_cast_FLOAT8E4M3FNUZ_to_FLOAT",
                        "test_cast_FLOAT8E4M3FNUZ_to_FLOAT16", "test_cast_FLOAT8E4M3FN_to_FLOAT16",
                        "test_cast_FLOAT8E5M2FNUZ_to_FLOAT", "test_cast_FLOAT8E5M2_to_FLOAT",
                        "test_cast_FLOAT8E5M2_to_FLOAT16", "test_cast_FLOAT_to_DOUBLE", "test_cast_INT2_to_FLOAT",
                        "test_cast_INT2_to_FLOAT16", "test_cast_INT2_to_INT8", "test_cast_INT4_to_FLOAT",
                        "test_cast_INT4_to_INT8", "test_cast_UINT2_to_FLOAT16", "test_cast_UINT2_to_UINT8",
                        "test_cast_UINT4_to_FLOAT", "test_cast_UINT4_to_FLOAT16", "test_cast_e8m0_FLOAT8E8M0_to_FLOAT")
                .map(name -> DynamicTest.dynamicTest(name, () -> {
                    OnnxNodeTestCase c = OnnxNodeTestCase.load(root.resolve(name));
                    for (OnnxNodeTestCase.DataSet set : c.dataSets()) {
                        OnnxTensor in = (OnnxTensor) set.inputs().values().iterator().next();
                        OnnxTensor out = (OnnxTensor) set.outputs().values().iterator().next();
                        assertTrue(Arrays.equals(in.shape(), out.shape()));
                        for (int i = 0; i < in.elementCount(); i++) {
                            double a = in.getDouble(i);
                            double b = out.getDouble(i);
                            assertTrue(Double.compare(a, b) == 0 || (a == 0 && b == 0),
                                    name + " element " + i + ": input decodes to " + a + ", expected " + b);
                        }
                    }
                }));
    }
}
