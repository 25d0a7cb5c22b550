package dev.tokc.frontend.onnx;

import dev.tokc.ir.testing.SharedData;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import dev.tokc.frontend.onnx.proto.ModelProto;
import dev.tokc.frontend.onnx.proto.SequenceProto;
import dev.tokc.frontend.onnx.proto.TensorProto;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checks the hand-written onnx.proto against real files: every message in every shared model and test tensor
 * must parse with no unknown fields. A wrong field number or wire type would leave the field unknown (or fail
 * the parse), so this is what makes "field numbers match upstream" a tested claim rather than a hope.
 */
class OnnxProtoConformanceTest {

    @Test
    void sharedModelsHaveNoUnknownFields() throws IOException {
        Path models = SharedData.require("models");
        List<String> problems = new ArrayList<>();
        int n = 0;
        try (Stream<Path> s = Files.list(models)) {
            for (Path dir : s.sorted().toList()) {
                Path f = dir.resolve("model.onnx");
                if (!Files.isRegularFile(f)) continue;
                collectUnknown(ModelProto.parseFrom(Files.readAllBytes(f)), f.toString(), problems);
                n++;
            }
        }
        assertTrue(n >= 5, "expected the five exports, found " + n);
        assertEquals(List.of(), problems);
    }

    @Test
    void nodeTestModelsAndDataHaveNoUnknownFields() throws IOException {
        Path root = SharedData.require("onnx-node-tests");
        List<String> problems = new ArrayList<>();
        int files = 0;
        for (Path dir : OnnxNodeTestCase.caseDirectories(root)) {
            collectUnknown(ModelProto.parseFrom(Files.readAllBytes(dir.resolve("model.onnx"))), dir + "/model.onnx", problems);
            files++;
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path pb : s.filter(p -> p.toString().endsWith(".pb")).toList()) {
                    byte[] bytes = Files.readAllBytes(pb);
                    // Only split_to_sequence stores a sequence; everything else is a tensor.
                    Message m = dir.getFileName().toString().startsWith("test_split_to_sequence")
                            && pb.getFileName().toString().startsWith("output")
                            ? SequenceProto.parseFrom(bytes) : TensorProto.parseFrom(bytes);
                    collectUnknown(m, pb.toString(), problems);
                    files++;
                }
            }
        }
        assertTrue(files > 474 * 2, "read " + files + " files");
        assertEquals(List.of(), problems);
    }

    /** Appends "where: unknown field numbers" for every message under {@code m} that has unknown fields. */
    private static void collectUnknown(Message m, String where, List<String> problems) {
        if (!m.getUnknownFields().asMap().isEmpty()) {
            problems.add(where + " (" + m.getDescriptorForType().getName() + "): unknown fields "
                    + m.getUnknownFields().asMap().keySet());
        }
        for (Map.Entry<FieldDescriptor, Object> e : m.getAllFields().entrySet()) {
            if (e.getKey().getJavaType() != FieldDescriptor.JavaType.MESSAGE) continue;
            String at = where + "/" + e.getKey().getName();
            if (e.getValue() instanceof List<?> list) {
                for (int i = 0; i < list.size(); i++) collectUnknown((Message) list.get(i), at + "[" + i + "]", problems);
            } else {
                collectUnknown((Message) e.getValue(), at, problems);
            }
        }
    }
}
