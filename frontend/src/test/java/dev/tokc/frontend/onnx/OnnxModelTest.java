package dev.tokc.frontend.onnx;

import dev.tokc.ir.testing.SharedData;
import dev.tokc.frontend.ModelFormatException;
import dev.tokc.frontend.onnx.proto.GraphProto;
import dev.tokc.frontend.onnx.proto.ModelProto;
import dev.tokc.frontend.onnx.proto.OperatorSetIdProto;
import dev.tokc.frontend.onnx.proto.TensorProto;
import dev.tokc.frontend.onnx.proto.TensorShapeProto;
import dev.tokc.frontend.onnx.proto.TypeProto;
import dev.tokc.frontend.onnx.proto.ValueInfoProto;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** OnnxModel: the shared dynamo exports load with the declared interface, and bad files fail clearly. */
class OnnxModelTest {

    @TestFactory
    Stream<DynamicTest> everySharedModelLoads() throws IOException {
        Path models = SharedData.require("models");
        List<Path> files;
        try (Stream<Path> s = Files.list(models)) {
            files = s.map(d -> d.resolve("model.onnx")).filter(Files::isRegularFile).sorted().toList();
        }
        assertFalse(files.isEmpty(), "no model.onnx under " + models);
        return files.stream().map(f -> DynamicTest.dynamicTest(f.getParent().getFileName().toString(), () -> {
            OnnxModel model = OnnxModel.load(f);
            assertEquals(OptionalLong.of(18), model.opsetVersion(""));
            assertEquals(OptionalLong.of(18), model.opsetVersion("ai.onnx"));
            assertTrue(model.opsetVersion("com.microsoft").isEmpty());

            OnnxValueInfo ids = model.input("input_ids").orElseThrow();
            assertEquals(List.of(ids), model.inputs(), "input_ids is the only input a caller supplies");
            assertEquals(OnnxValueInfo.Kind.TENSOR, ids.kind());
            assertEquals(OnnxDataType.INT64, ids.dtype());
            assertEquals(2, ids.dims().size());
            ids.dims().forEach(d -> assertInstanceOf(OnnxDim.Symbolic.class, d, "dynamic batch and seq: " + ids));
            assertTrue(!ids.dims().get(0).equals(ids.dims().get(1)), "batch and seq are distinct symbols: " + ids);

            OnnxValueInfo logits = model.output("logits").orElseThrow();
            assertEquals(OnnxDataType.FLOAT, logits.dtype());
            assertEquals(List.of(ids.dims().get(0), ids.dims().get(1), new OnnxDim.Fixed(1024)), logits.dims(),
                    "logits are [batch, seq, vocab]: " + logits);

            // Initializers are the float32 weights plus the INT64 and BOOL constants the exporter lifted out.
            assertFalse(model.initializers().isEmpty());
            long weights = 0;
            for (var e : model.initializers().entrySet()) {
                OnnxTensor t = model.tensor(e.getKey());
                assertTrue(Set.of(OnnxDataType.FLOAT, OnnxDataType.INT64, OnnxDataType.BOOL).contains(t.dtype()), e.getKey() + " " + t);
                assertTrue(Arrays.equals(OnnxTensors.shapeOf(e.getValue()), t.shape()), e.getKey());
                assertEquals(OnnxTensors.rawByteSize(e.getValue()), t.dtype().bits() / 8L * t.elementCount(), e.getKey());
                if (t.dtype() == OnnxDataType.FLOAT) weights += t.elementCount();
            }
            assertTrue(weights > 1024 * 64, "the embedding alone has vocab x hidden floats: " + weights);
        }));
    }

    @Test
    void truncatedFileNamesTheFile(@TempDir Path dir) throws IOException {
        byte[] whole = tinyModel().toByteArray();
        Path file = dir.resolve("truncated.onnx");
        Files.write(file, Arrays.copyOf(whole, whole.length - 7));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxModel.load(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("not a valid ONNX model"), e.getMessage());
    }

    @Test
    void truncatedSharedModelNamesTheFile(@TempDir Path dir) throws IOException {
        Path source = SharedData.require("models/tiny-random-gpt2/model.onnx");
        byte[] whole = Files.readAllBytes(source);
        Path file = dir.resolve("half.onnx");
        Files.write(file, Arrays.copyOf(whole, whole.length / 2));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxModel.load(file));
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
    }

    @Test
    void textFileIsNotAModel(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("config.onnx");
        Files.writeString(file, "{\"architectures\": [\"LlamaForCausalLM\"]}\n");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxModel.load(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void emptyFileIsNotAModel(@TempDir Path dir) throws IOException {
        // An empty byte string is a valid, empty protobuf message, so only the "has a graph" check catches it.
        Path file = dir.resolve("empty.onnx");
        Files.write(file, new byte[0]);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxModel.load(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("not an ONNX model"), e.getMessage());
    }

    @Test
    void initializersListedAsInputsAreNotCallerInputs(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("m.onnx");
        Files.write(file, tinyModel().toByteArray());
        OnnxModel model = OnnxModel.load(file);
        assertEquals(List.of("x"), model.inputs().stream().map(OnnxValueInfo::name).toList());
        assertEquals("x: FLOAT[batch, 3, ?]", model.inputs().getFirst().toString());
        assertEquals(OptionalLong.of(7), model.opsetVersion(""));
        assertEquals(OptionalLong.of(1), model.opsetVersion("com.example"));
        assertEquals(2.5f, model.tensor("w").floats()[1]);
        assertEquals(dir.toAbsolutePath(), model.baseDirectory());
    }

    @Test
    void conflictingOpsetImportsAreRejected() {
        ModelProto bad = tinyModel().toBuilder()
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("ai.onnx").setVersion(9))
                .build();
        assertThrows(ModelFormatException.class, () -> OnnxModel.fromProto(bad, Path.of("."), "bad"));
    }

    /** y = x + w, with w an initializer that an old exporter also listed as an input. */
    static ModelProto tinyModel() {
        TypeProto xType = TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
                .setElemType(OnnxDataType.FLOAT.code())
                .setShape(TensorShapeProto.newBuilder()
                        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("batch"))
                        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(3))
                        .addDim(TensorShapeProto.Dimension.newBuilder()))).build();
        GraphProto graph = GraphProto.newBuilder()
                .setName("g")
                .addNode(dev.tokc.frontend.onnx.proto.NodeProto.newBuilder()
                        .setOpType("Add").addInput("x").addInput("w").addOutput("y"))
                .addInitializer(TensorProto.newBuilder().setName("w").setDataType(OnnxDataType.FLOAT.code())
                        .addDims(3).addFloatData(1.5f).addFloatData(2.5f).addFloatData(3.5f))
                .addInput(ValueInfoProto.newBuilder().setName("x").setType(xType))
                .addInput(ValueInfoProto.newBuilder().setName("w").setType(xType))
                .addOutput(ValueInfoProto.newBuilder().setName("y").setType(xType))
                .build();
        return ModelProto.newBuilder()
                .setIrVersion(3)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(7))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.example").setVersion(1))
                .setProducerName("tokc-test")
                .setGraph(graph)
                .build();
    }
}
