package dev.tokc.frontend;

import dev.tokc.frontend.hf.HfGraphBuilder;
import dev.tokc.frontend.hf.ModelConfig;
import dev.tokc.frontend.onnx.OnnxImporter;
import dev.tokc.frontend.onnx.OnnxModel;
import dev.tokc.frontend.safetensors.Checkpoint;
import dev.tokc.ir.Graph;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Opens a model from what a user points tokc at and imports it into the IR:
 * <ul>
 *   <li>a Hugging Face directory (config.json + model.safetensors or a sharded index) → safetensors importer;</li>
 *   <li>an {@code .onnx} file, or a directory with {@code model.onnx} and no config.json → ONNX importer.</li>
 * </ul>
 * Anything else is a {@link ModelFormatException} saying what was expected.
 */
public final class ModelLoader {
    private ModelLoader() {}

    public static LoadedModel load(Path path) throws IOException {
        if (!Files.exists(path)) {
            throw new ModelFormatException(path + ": no such file or directory");
        }
        if (Files.isDirectory(path)) {
            if (Files.exists(path.resolve("config.json"))) {
                return loadHf(path);
            }
            if (Files.exists(path.resolve("model.onnx"))) {
                return loadOnnx(path.resolve("model.onnx"));
            }
            throw new ModelFormatException(path + ": expected a Hugging Face model directory (config.json + "
                    + "model.safetensors) or an ONNX model (model.onnx)");
        }
        if (path.toString().endsWith(".onnx")) {
            return loadOnnx(path);
        }
        throw new ModelFormatException(path + ": expected a model directory or an .onnx file");
    }

    public static LoadedModel loadHf(Path dir) throws IOException {
        ModelConfig cfg = ModelConfig.read(dir);
        Checkpoint ckpt = Checkpoint.open(dir);
        try {
            Graph g = HfGraphBuilder.build(cfg, ckpt);
            WeightLoader weights = key -> TensorConversions.toTensor(ckpt.tensor(key));
            String arch = cfg.architectures().isEmpty() ? cfg.family().modelType() : String.join(",", cfg.architectures());
            return new LoadedModel(dir, LoadedModel.Format.SAFETENSORS, g, Optional.of(cfg), weights, arch, ckpt);
        } catch (RuntimeException e) {
            ckpt.close();
            throw e;
        }
    }

    public static LoadedModel loadOnnx(Path file) {
        OnnxModel model = OnnxModel.load(file);
        OnnxImporter.Imported imported = OnnxImporter.importModel(model);
        WeightLoader weights = key -> {
            var proto = imported.weights().get(key);
            if (proto == null) {
                throw new ModelFormatException(file + ": no initializer '" + key + "'");
            }
            return OnnxImporter.toIr(model.decode(proto));
        };
        String arch = "onnx (" + (model.producer().isEmpty() ? "unknown producer" : model.producer())
                + ", opset " + model.opsetVersion(OnnxModel.DEFAULT_DOMAIN).orElse(0) + ")";
        return new LoadedModel(file, LoadedModel.Format.ONNX, imported.graph(), Optional.empty(), weights, arch, null);
    }
}
