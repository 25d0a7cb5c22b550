package dev.tokc.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.frontend.hf.ModelConfig;
import dev.tokc.frontend.hf.WeightNames;
import dev.tokc.frontend.safetensors.DType;
import dev.tokc.frontend.safetensors.SafetensorsWriter;
import dev.tokc.ir.Graph;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.Verifier;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.ir.text.IrParser;
import dev.tokc.ir.text.IrPrinter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every supported family imports from a small random checkpoint (tensor names and shapes from {@link WeightNames}),
 * verifies, round-trips through the text form, and runs to finite logits: the families that have no shared
 * reference model are at least exercised end to end.
 */
class FamilySmokeTest {
    @TempDir
    Path tmp;

    static final String COMMON = "\"hidden_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 2, "
            + "\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"vocab_size\": 40, \"max_position_embeddings\": 64";

    static final Map<String, String> CONFIGS = Map.of(
            "llama3-rope", "{\"model_type\": \"llama\", " + COMMON + ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0,"
                    + " \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 16}}",
            "mistral-sliding", "{\"model_type\": \"mistral\", " + COMMON + ", \"sliding_window\": 3}",
            "qwen3", "{\"model_type\": \"qwen3\", " + COMMON + ", \"head_dim\": 16}",
            "gemma2", "{\"model_type\": \"gemma2\", " + COMMON + ", \"head_dim\": 8, \"sliding_window\": 3,"
                    + " \"query_pre_attn_scalar\": 8, \"hidden_activation\": \"gelu_pytorch_tanh\"}",
            "phi3", "{\"model_type\": \"phi3\", " + COMMON + "}",
            "gpt2", "{\"model_type\": \"gpt2\", \"n_embd\": 32, \"n_layer\": 2, \"n_head\": 4, \"vocab_size\": 40,"
                    + " \"n_positions\": 64}");

    @TestFactory
    Stream<DynamicTest> everyFamilyImportsAndRuns() {
        return CONFIGS.entrySet().stream().sorted(Map.Entry.comparingByKey()).map(e -> DynamicTest.dynamicTest(e.getKey(), () -> {
            Path dir = Files.createDirectories(tmp.resolve(e.getKey()));
            Files.writeString(dir.resolve("config.json"), e.getValue());
            ModelConfig cfg = ModelConfig.read(dir);
            SafetensorsWriter w = new SafetensorsWriter();
            Random r = new Random(7);
            for (WeightNames.Expected t : WeightNames.of(cfg).expected()) {
                long[] shape = t.shape().stream().mapToLong(Long::longValue).toArray();
                float[] v = new float[(int) t.shape().stream().mapToLong(Long::longValue).reduce(1, (a, b) -> a * b)];
                boolean norm = t.name().contains("norm") || t.name().contains("ln_");
                for (int i = 0; i < v.length; i++) {
                    v[i] = norm && !t.name().endsWith("bias") ? 1f + (float) (r.nextGaussian() * 0.05) : (float) (r.nextGaussian() * 0.1);
                }
                w.addFloats(t.name(), DType.F32, shape, v);
            }
            w.write(dir.resolve("model.safetensors"));
            try (LoadedModel m = ModelLoader.load(dir)) {
                Graph g = m.graph();
                assertEquals(List.of(), Verifier.verify(g));
                assertEquals(g, IrParser.parseGraph(IrPrinter.print(g), "printed"));
                Tensor ids = Tensor.ofLongs(dev.tokc.ir.DType.I64, new long[] {1, 6}, new long[] {1, 5, 9, 2, 33, 7});
                Tensor logits = Interpreter.run(g, Map.of("input_ids", ids), (k, t) -> m.weights().load(k)).get(0);
                assertEquals(6 * 40, logits.size());
                for (int i = 0; i < logits.size(); i++) {
                    assertTrue(Double.isFinite(logits.getDouble(i)), "logit " + i + " is " + logits.getDouble(i));
                }
            }
        }));
    }
}
