package dev.tokc.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.frontend.safetensors.DType;
import dev.tokc.frontend.safetensors.SafetensorsWriter;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.Verifier;
import dev.tokc.ir.interp.Interpreter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Families without a shared reference model, checked through invariants: a Mixtral whose experts are all equal
 * computes exactly what a Llama with that one MLP computes (the renormalised routing weights sum to 1), and a Mixtral
 * with different experts does not.
 */
class HfFamiliesTest {
    static final int HIDDEN = 16, FF = 24, HEADS = 4, KV = 2, VOCAB = 32, EXPERTS = 4;

    @TempDir
    Path tmp;

    @Test
    void mixtralWithEqualExpertsMatchesLlama() throws Exception {
        Path llama = write("llama", false, true);
        Path mixtral = write("mixtral", true, true);
        Tensor a = logits(llama);
        Tensor b = logits(mixtral);
        double worst = 0;
        for (int i = 0; i < a.size(); i++) {
            worst = Math.max(worst, Math.abs(a.getDouble(i) - b.getDouble(i)));
        }
        assertTrue(worst < 1e-5, "max abs difference " + worst);
    }

    @Test
    void mixtralWithDifferentExpertsDiffers() throws Exception {
        Tensor a = logits(write("llama", false, true));
        Tensor b = logits(write("mixtral", true, false));
        double worst = 0;
        for (int i = 0; i < a.size(); i++) {
            worst = Math.max(worst, Math.abs(a.getDouble(i) - b.getDouble(i)));
        }
        assertTrue(worst > 1e-3, "routing had no effect: " + worst);
    }

    private static Tensor logits(Path dir) throws Exception {
        try (LoadedModel m = ModelLoader.load(dir)) {
            assertEquals(List.of(), Verifier.verify(m.graph()));
            Tensor ids = Tensor.ofLongs(dev.tokc.ir.DType.I64, new long[] {1, 5}, new long[] {1, 7, 3, 30, 2});
            return Interpreter.run(m.graph(), Map.of("input_ids", ids), (k, t) -> m.weights().load(k)).get(0);
        }
    }

    /** A 2-layer checkpoint; the MLP weights come from one seed (per expert too when experts differ). */
    private Path write(String type, boolean moe, boolean equalExperts) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(type + (equalExperts ? "" : "-mixed")));
        String cfg = """
                {"model_type": "%s", "hidden_size": %d, "intermediate_size": %d, "num_hidden_layers": 2,
                 "num_attention_heads": %d, "num_key_value_heads": %d, "vocab_size": %d, "rms_norm_eps": 1e-5,
                 "rope_theta": 10000.0, "tie_word_embeddings": false, "max_position_embeddings": 64,
                 "num_local_experts": %d, "num_experts_per_tok": 2}
                """.formatted(type, HIDDEN, FF, HEADS, KV, VOCAB, EXPERTS);
        Files.writeString(dir.resolve("config.json"), cfg);
        SafetensorsWriter w = new SafetensorsWriter();
        random(w, "model.embed_tokens.weight", 1, VOCAB, HIDDEN);
        random(w, "lm_head.weight", 2, VOCAB, HIDDEN);
        ones(w, "model.norm.weight", HIDDEN);
        for (int l = 0; l < 2; l++) {
            String p = "model.layers." + l + ".";
            ones(w, p + "input_layernorm.weight", HIDDEN);
            ones(w, p + "post_attention_layernorm.weight", HIDDEN);
            random(w, p + "self_attn.q_proj.weight", 10 + l, HIDDEN, HIDDEN);
            random(w, p + "self_attn.k_proj.weight", 20 + l, KV * HIDDEN / HEADS, HIDDEN);
            random(w, p + "self_attn.v_proj.weight", 30 + l, KV * HIDDEN / HEADS, HIDDEN);
            random(w, p + "self_attn.o_proj.weight", 40 + l, HIDDEN, HIDDEN);
            if (!moe) {
                random(w, p + "mlp.gate_proj.weight", 50 + l, FF, HIDDEN);
                random(w, p + "mlp.up_proj.weight", 60 + l, FF, HIDDEN);
                random(w, p + "mlp.down_proj.weight", 70 + l, HIDDEN, FF);
                continue;
            }
            random(w, p + "block_sparse_moe.gate.weight", 80 + l, EXPERTS, HIDDEN);
            for (int e = 0; e < EXPERTS; e++) {
                int salt = equalExperts ? 0 : 1000 * (e + 1);
                String x = p + "block_sparse_moe.experts." + e + ".";
                random(w, x + "w1.weight", 50 + l + salt, FF, HIDDEN);
                random(w, x + "w3.weight", 60 + l + salt, FF, HIDDEN);
                random(w, x + "w2.weight", 70 + l + salt, HIDDEN, FF);
            }
        }
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    private static void random(SafetensorsWriter w, String name, long seed, long rows, long cols) {
        Random r = new Random(seed);
        float[] v = new float[(int) (rows * cols)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextGaussian() * 0.2);
        }
        w.addFloats(name, DType.F32, new long[] {rows, cols}, v);
    }

    private static void ones(SafetensorsWriter w, String name, long n) {
        float[] v = new float[(int) n];
        java.util.Arrays.fill(v, 1f);
        w.addFloats(name, DType.F32, new long[] {n}, v);
    }
}
