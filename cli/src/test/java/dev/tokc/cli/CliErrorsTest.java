package dev.tokc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.tokc.frontend.onnx.proto.GraphProto;
import dev.tokc.frontend.onnx.proto.ModelProto;
import dev.tokc.frontend.onnx.proto.NodeProto;
import dev.tokc.frontend.onnx.proto.OperatorSetIdProto;
import dev.tokc.frontend.onnx.proto.TensorProto;
import dev.tokc.frontend.onnx.proto.TensorShapeProto;
import dev.tokc.frontend.onnx.proto.TypeProto;
import dev.tokc.frontend.onnx.proto.ValueInfoProto;
import dev.tokc.frontend.safetensors.SafetensorsWriter;
import dev.tokc.ir.testing.SharedData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input gives one clear error line naming the file and what was expected, exit code 1, and no stack trace
 * unless {@code --debug}; bad command lines give exit code 2 with a usage line.
 */
class CliErrorsTest {
    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {}

    static Result tokc(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Tokc.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static void assertOneLineError(Result r, String... mustContain) {
        assertEquals(1, r.code(), r.err());
        String[] lines = r.err().strip().split("\n");
        assertEquals(1, lines.length, "expected one error line, got:\n" + r.err());
        assertTrue(lines[0].startsWith("tokc "), lines[0]);
        for (String s : mustContain) {
            assertTrue(lines[0].contains(s), "'" + s + "' missing from: " + lines[0]);
        }
        assertFalse(r.err().contains("\tat "), "stack trace printed:\n" + r.err());
    }

    /** A model directory with the tiny llama's config.json and the given safetensors bytes. */
    private Path modelWith(byte[] safetensors) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("model"));
        Files.copy(SharedData.model("tiny-random-llama-gqa").resolve("config.json"), dir.resolve("config.json"));
        Files.write(dir.resolve("model.safetensors"), safetensors);
        return dir;
    }

    @Test
    void truncatedSafetensors() throws Exception {
        byte[] full = Files.readAllBytes(SharedData.model("tiny-random-llama-gqa").resolve("model.safetensors"));
        Path dir = modelWith(java.util.Arrays.copyOf(full, full.length / 2));
        assertOneLineError(tokc("logits", dir.toString(), "--ids", "1,2"), "model.safetensors");
    }

    @Test
    void headerOffsetsPastTheEnd() throws Exception {
        Path file = tmp.resolve("x.safetensors");
        String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,4096]}}";
        SafetensorsWriter.writeRaw(file, header.getBytes(StandardCharsets.UTF_8), new byte[16]);
        Path dir = modelWith(Files.readAllBytes(file));
        assertOneLineError(tokc("inspect", dir.toString()), "model.safetensors", "'w'");
    }

    @Test
    void wrongDtypeSize() throws Exception {
        Path file = tmp.resolve("x.safetensors");
        String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,8]}}";
        SafetensorsWriter.writeRaw(file, header.getBytes(StandardCharsets.UTF_8), new byte[8]);
        Path dir = modelWith(Files.readAllBytes(file));
        assertOneLineError(tokc("inspect", dir.toString()), "model.safetensors", "'w'");
    }

    @Test
    void configMissingARequiredField() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("cfg"));
        String cfg = Files.readString(SharedData.model("tiny-random-llama-gqa").resolve("config.json"))
                .replaceAll("\"hidden_size\"\\s*:\\s*\\d+,", "");
        Files.writeString(dir.resolve("config.json"), cfg);
        Files.copy(SharedData.model("tiny-random-llama-gqa").resolve("model.safetensors"), dir.resolve("model.safetensors"));
        assertOneLineError(tokc("inspect", dir.toString()), "config.json", "hidden_size");
    }

    @Test
    void missingCheckpointTensor() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("ck"));
        Files.copy(SharedData.model("tiny-random-llama-gqa").resolve("config.json"), dir.resolve("config.json"));
        Path file = dir.resolve("model.safetensors");
        String header = "{\"model.embed_tokens.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        SafetensorsWriter.writeRaw(file, header.getBytes(StandardCharsets.UTF_8), new byte[4]);
        assertOneLineError(tokc("inspect", dir.toString()), "model.embed_tokens.weight");
    }

    private static ValueInfoProto tensorInfo(String name, int elemType, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
    }

    private Path onnx(GraphProto graph) throws Exception {
        Path file = tmp.resolve("m.onnx");
        ModelProto m = ModelProto.newBuilder().setIrVersion(9)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(18))
                .setGraph(graph).build();
        Files.write(file, m.toByteArray());
        return file;
    }

    @Test
    void onnxWithAMissingInitializer() throws Exception {
        GraphProto g = GraphProto.newBuilder().setName("g")
                .addInput(tensorInfo("x", 1, 2))
                .addNode(NodeProto.newBuilder().setName("add0").setOpType("Add").addInput("x").addInput("bias").addOutput("y"))
                .addOutput(tensorInfo("y", 1, 2)).build();
        assertOneLineError(tokc("inspect", onnx(g).toString()), "m.onnx", "add0", "'bias'");
    }

    @Test
    void onnxWithAnUnknownOp() throws Exception {
        GraphProto g = GraphProto.newBuilder().setName("g")
                .addInput(tensorInfo("x", 1, 2))
                .addInitializer(TensorProto.newBuilder().setName("unused").setDataType(1).addDims(1)
                        .setRawData(ByteString.copyFrom(new byte[4])))
                .addNode(NodeProto.newBuilder().setName("weird0").setOpType("FrobnicateV2").addInput("x").addOutput("y"))
                .addOutput(tensorInfo("y", 1, 2)).build();
        assertOneLineError(tokc("inspect", onnx(g).toString()), "FrobnicateV2", "weird0", "opset 18");
    }

    @Test
    void debugShowsTheStackTrace() throws Exception {
        GraphProto g = GraphProto.newBuilder().setName("g").addInput(tensorInfo("x", 1, 2))
                .addNode(NodeProto.newBuilder().setName("weird0").setOpType("FrobnicateV2").addInput("x").addOutput("y"))
                .addOutput(tensorInfo("y", 1, 2)).build();
        Result r = tokc("inspect", onnx(g).toString(), "--debug");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("\tat "), r.err());
    }

    @Test
    void truncatedOnnx() throws Exception {
        byte[] full = Files.readAllBytes(SharedData.model("tiny-random-gpt2").resolve("model.onnx"));
        Path file = tmp.resolve("t.onnx");
        Files.write(file, java.util.Arrays.copyOf(full, full.length / 3));
        assertOneLineError(tokc("inspect", file.toString()), "t.onnx");
    }

    @Test
    void usageErrorsExitWithTwo() {
        assertEquals(2, tokc("no-such-command").code());
        assertEquals(2, tokc("logits", "--bogus").code());
        assertEquals(2, tokc("logits", "x").code()); // --ids missing
        Result r = tokc("logits", "a", "b", "--ids", "1");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("usage: tokc logits"), r.err());
    }

    @Test
    void helpListsEveryCommand() {
        Result r = tokc("--help");
        assertEquals(0, r.code());
        for (Command c : Tokc.commands()) {
            assertTrue(r.out().contains(c.name()) && r.out().contains(c.summary()), r.out());
            Result sub = tokc(c.name(), "--help");
            assertEquals(0, sub.code());
            assertTrue(sub.out().contains("tokc " + c.name()), sub.out());
        }
    }
}
