package dev.tokc.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tokc.frontend.hf.HfGraphBuilder;
import dev.tokc.frontend.hf.ModelConfig;
import dev.tokc.frontend.onnx.OnnxImporter;
import dev.tokc.frontend.onnx.OnnxModel;
import dev.tokc.frontend.safetensors.Checkpoint;
import dev.tokc.ir.Graph;
import dev.tokc.ir.Verifier;
import dev.tokc.ir.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

class ImportSmokeTest {
    static List<Path> models() throws Exception {
        try (Stream<Path> s = Files.list(SharedData.models())) {
            return s.filter(Files::isDirectory).sorted().toList();
        }
    }

    @TestFactory
    Stream<DynamicTest> safetensorsGraphsVerify() throws Exception {
        return models().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            ModelConfig cfg = ModelConfig.read(dir);
            try (Checkpoint ck = Checkpoint.open(dir)) {
                Graph g = HfGraphBuilder.build(cfg, ck);
                assertEquals(List.of(), Verifier.verify(g));
                System.out.println(dir.getFileName() + " safetensors: " + g.outputs().get(0).type() + " " + g.opHistogram());
            }
        }));
    }

    @TestFactory
    Stream<DynamicTest> onnxGraphsVerify() throws Exception {
        return models().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            Graph g = OnnxImporter.importModel(OnnxModel.load(dir.resolve("model.onnx"))).graph();
            assertEquals(List.of(), Verifier.verify(g));
            System.out.println(dir.getFileName() + " onnx: " + g.inputs() + " -> " + g.outputs().get(0).type() + " " + g.opHistogram());
        }));
    }
}
