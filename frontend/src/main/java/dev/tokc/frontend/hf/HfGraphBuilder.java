package dev.tokc.frontend.hf;

import dev.tokc.frontend.ModelFormatException;
import dev.tokc.frontend.TensorConversions;
import dev.tokc.frontend.safetensors.Checkpoint;
import dev.tokc.frontend.safetensors.TensorView;
import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Graph;
import dev.tokc.ir.GraphBuilder;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.Shape;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import java.util.List;

/**
 * Builds the IR of a Hugging Face causal LM from its {@link ModelConfig} and checkpoint, emitting model-level ops
 * directly (Embedding, RmsNorm/LayerNorm, Linear, Rope, Attention, Swiglu, Gelu).
 *
 * <p>The graph is the full forward without a KV cache, the same signature as the ONNX exports:
 * {@code graph @forward(%input_ids: i64[batch, seq]) -> (f32[batch, seq, vocab])}, positions 0..seq-1. Activations
 * are f32; weights stored in another dtype are cast on use. Weights are referenced by checkpoint tensor name, never
 * copied. A tensor the family needs but the checkpoint lacks, or one of the wrong shape, is a
 * {@link ModelFormatException} naming it.
 *
 * <p>Families: llama, mistral, qwen2 (q/k/v bias), qwen3 (q/k RmsNorm), gemma2 (offset norms, four norms per
 * layer, embedding scaling, GeGLU, logit soft-capping, sliding-window layers), phi3 (fused qkv and gate/up
 * weights), gpt2 (LayerNorm, learned positions, Conv1D weights [in, out], GELU-tanh), mixtral (sparse MoE blocks
 * through {@link ModelOp.MoeRouting}).
 */
public final class HfGraphBuilder {
    public static final Dim BATCH = Dim.sym("batch");
    public static final Dim SEQ = Dim.sym("seq");

    private final ModelConfig cfg;
    private final Checkpoint ckpt;
    private final GraphBuilder b = new GraphBuilder("forward");

    private HfGraphBuilder(ModelConfig cfg, Checkpoint ckpt) {
        this.cfg = cfg;
        this.ckpt = ckpt;
    }

    public static Graph build(ModelConfig cfg, Checkpoint ckpt) {
        HfGraphBuilder h = new HfGraphBuilder(cfg, ckpt);
        return cfg.family() == ModelFamily.GPT2 ? h.gpt2() : h.decoder();
    }

    // ---- llama-style decoders ----

    private Graph decoder() {
        ModelFamily f = cfg.family();
        int hidden = cfg.hiddenSize();
        Node ids = b.param("input_ids", TensorType.of(DType.I64, BATCH, SEQ));
        Node pos = positions(ids);
        Node invFreq = b.constant(invFreq());
        Node x = b.named("embed", new ModelOp.Embedding(), weight("model.embed_tokens.weight", cfg.vocabSize(), hidden), ids);
        if (f == ModelFamily.GEMMA2) {
            // Gemma scales embeddings by sqrt(hidden), rounded to the model dtype first (as HF does).
            x = b.named("embed_scaled", new PrimitiveOp.Mul(), x, b.scalar(DType.F32, (float) Math.sqrt(hidden)));
        }
        double normOffset = f == ModelFamily.GEMMA2 ? 1.0 : 0.0;
        for (int l = 0; l < cfg.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            String n = "l" + l + ".";
            Node h = rmsNorm(n + "attn_norm", x, p + "input_layernorm.weight", hidden, normOffset);
            Node attn = attentionBlock(n, p, h, pos, invFreq, l);
            if (f == ModelFamily.GEMMA2) {
                attn = rmsNorm(n + "attn_post_norm", attn, p + "post_attention_layernorm.weight", hidden, normOffset);
            }
            x = b.named(n + "attn_residual", new PrimitiveOp.Add(), x, attn);
            String mlpNorm = f == ModelFamily.GEMMA2 ? "pre_feedforward_layernorm" : "post_attention_layernorm";
            h = rmsNorm(n + "mlp_norm", x, p + mlpNorm + ".weight", hidden, normOffset);
            Node mlp = cfg.moe().isPresent() ? moe(n, p, h, cfg.moe().get()) : gatedMlp(n, p, h);
            if (f == ModelFamily.GEMMA2) {
                mlp = rmsNorm(n + "mlp_post_norm", mlp, p + "post_feedforward_layernorm.weight", hidden, normOffset);
            }
            x = b.named(n + "mlp_residual", new PrimitiveOp.Add(), x, mlp);
        }
        x = rmsNorm("final_norm", x, "model.norm.weight", hidden, normOffset);
        Node head = cfg.tieWordEmbeddings() || !ckpt.contains("lm_head.weight")
                ? weight("model.embed_tokens.weight", cfg.vocabSize(), hidden)
                : weight("lm_head.weight", cfg.vocabSize(), hidden);
        Node logits = b.named("logits", new ModelOp.Linear(false), x, head);
        if (cfg.finalLogitSoftcapping().isPresent()) {
            logits = softcap("logits_capped", logits, cfg.finalLogitSoftcapping().getAsDouble());
        }
        return b.build(logits);
    }

    private Node attentionBlock(String n, String p, Node h, Node pos, Node invFreq, int layer) {
        int hidden = cfg.hiddenSize();
        int hd = cfg.headDim();
        Node q;
        Node k;
        Node v;
        if (cfg.family() == ModelFamily.PHI3) {
            // phi3 stores q, k and v stacked in one [q + 2 kv, hidden] weight: one GEMM, then split the columns.
            Node qkv = b.named(n + "qkv", new ModelOp.Linear(false), h,
                    weight(p + "self_attn.qkv_proj.weight", cfg.qDim() + 2L * cfg.kvDim(), hidden));
            q = lastAxisSlice(qkv, 0, cfg.qDim());
            k = lastAxisSlice(qkv, cfg.qDim(), cfg.qDim() + cfg.kvDim());
            v = lastAxisSlice(qkv, cfg.qDim() + cfg.kvDim(), cfg.qDim() + 2L * cfg.kvDim());
        } else {
            q = linear(n + "q", h, p + "self_attn.q_proj", cfg.qDim(), hidden, cfg.attentionBias());
            k = linear(n + "k", h, p + "self_attn.k_proj", cfg.kvDim(), hidden, cfg.attentionBias());
            v = linear(n + "v", h, p + "self_attn.v_proj", cfg.kvDim(), hidden, cfg.attentionBias());
        }
        q = heads(q, cfg.numHeads());
        k = heads(k, cfg.numKvHeads());
        v = heads(v, cfg.numKvHeads());
        if (cfg.qkNorm()) {
            q = rmsNorm(n + "q_norm", q, p + "self_attn.q_norm.weight", hd, 0.0);
            k = rmsNorm(n + "k_norm", k, p + "self_attn.k_norm.weight", hd, 0.0);
        }
        q = b.named(n + "q_rope", new ModelOp.Rope(false), q, pos, invFreq);
        k = b.named(n + "k_rope", new ModelOp.Rope(false), k, pos, invFreq);
        long window = cfg.layerTypes().get(layer) == LayerAttention.SLIDING ? cfg.slidingWindow().orElse(0) : 0;
        double softcap = cfg.attnLogitSoftcapping().orElse(0.0);
        Node a = b.named(n + "attn", new ModelOp.Attention(cfg.numHeads(), cfg.numKvHeads(), true,
                cfg.attentionScale(), softcap, window), q, k, v);
        a = b.op(new PrimitiveOp.Reshape(false), a, b.dims(BATCH, SEQ, Dim.of(cfg.qDim())));
        return linear(n + "attn_out", a, p + "self_attn.o_proj", hidden, cfg.qDim(), cfg.attentionOutputBias());
    }

    private Node gatedMlp(String n, String p, Node h) {
        int hidden = cfg.hiddenSize();
        int ff = cfg.intermediateSize();
        Node gate;
        Node up;
        if (cfg.family() == ModelFamily.PHI3) {
            Node gu = b.named(n + "gate_up", new ModelOp.Linear(false), h, weight(p + "mlp.gate_up_proj.weight", 2L * ff, hidden));
            gate = lastAxisSlice(gu, 0, ff);
            up = lastAxisSlice(gu, ff, 2L * ff);
        } else {
            gate = linear(n + "gate", h, p + "mlp.gate_proj", ff, hidden, cfg.mlpBias());
            up = linear(n + "up", h, p + "mlp.up_proj", ff, hidden, cfg.mlpBias());
        }
        Node act = switch (cfg.activation()) {
            case SILU -> b.named(n + "swiglu", new ModelOp.Swiglu(), gate, up);
            case GELU, GELU_TANH -> b.named(n + "geglu", new PrimitiveOp.Mul(),
                    b.op(new ModelOp.Gelu(cfg.activation() == Activation.GELU_TANH), gate), up);
            case RELU -> b.named(n + "reglu", new PrimitiveOp.Mul(), b.op(new PrimitiveOp.Relu(), gate), up);
        };
        return linear(n + "down", act, p + "mlp.down_proj", hidden, ff, cfg.mlpBias());
    }

    /**
     * Mixtral's sparse MoE block: router -> {@link ModelOp.MoeRouting} (softmax, top-k, renormalised) -> the sum of
     * every expert's SwiGLU MLP weighted by its routing weight. Dense in the graph (experts with weight zero
     * contribute nothing); skipping them is a backend's business.
     */
    private Node moe(String n, String p, Node h, MoeConfig moe) {
        int hidden = cfg.hiddenSize();
        int ff = cfg.intermediateSize();
        String b0 = p + "block_sparse_moe.";
        Node router = b.named(n + "router", new ModelOp.Linear(false), h, weight(b0 + "gate.weight", moe.numExperts(), hidden));
        Node weights = b.named(n + "routing", new ModelOp.MoeRouting(moe.expertsPerToken(), true), router);
        Node sum = null;
        for (int e = 0; e < moe.numExperts(); e++) {
            String x = b0 + "experts." + e + ".";
            String ne = n + "expert" + e + ".";
            Node gate = linear(ne + "w1", h, x + "w1", ff, hidden, false);
            Node up = linear(ne + "w3", h, x + "w3", ff, hidden, false);
            Node down = linear(ne + "w2", b.op(new ModelOp.Swiglu(), gate, up), x + "w2", hidden, ff, false);
            Node weighted = b.op(new PrimitiveOp.Mul(), down, lastAxisSlice(weights, e, e + 1));
            sum = sum == null ? weighted : b.op(new PrimitiveOp.Add(), sum, weighted);
        }
        return sum;
    }

    // ---- gpt2 ----

    private Graph gpt2() {
        String pre = ckpt.contains("transformer.wte.weight") ? "transformer." : "";
        int hidden = cfg.hiddenSize();
        int hd = cfg.headDim();
        Node ids = b.param("input_ids", TensorType.of(DType.I64, BATCH, SEQ));
        Node pos = positions(ids);
        Node wte = weight(pre + "wte.weight", cfg.vocabSize(), hidden);
        Node tok = b.named("embed", new ModelOp.Embedding(), wte, ids);
        Node wpe = b.named("pos_embed", new ModelOp.Embedding(), weight(pre + "wpe.weight", cfg.maxPositionEmbeddings(), hidden), pos);
        Node x = b.named("embed_sum", new PrimitiveOp.Add(), tok, wpe);
        boolean tanh = cfg.activation() == Activation.GELU_TANH;
        for (int l = 0; l < cfg.numLayers(); l++) {
            String p = pre + "h." + l + ".";
            String n = "l" + l + ".";
            Node h = layerNorm(n + "ln_1", x, p + "ln_1", hidden);
            Node qkv = conv1d(n + "qkv", h, p + "attn.c_attn", hidden, 3L * hidden);
            Node q = heads(lastAxisSlice(qkv, 0, hidden), cfg.numHeads());
            Node k = heads(lastAxisSlice(qkv, hidden, 2L * hidden), cfg.numHeads());
            Node v = heads(lastAxisSlice(qkv, 2L * hidden, 3L * hidden), cfg.numHeads());
            Node a = b.named(n + "attn", new ModelOp.Attention(cfg.numHeads(), cfg.numHeads(), true,
                    1.0 / Math.sqrt(hd), 0.0, 0), q, k, v);
            a = b.op(new PrimitiveOp.Reshape(false), a, b.dims(BATCH, SEQ, Dim.of(hidden)));
            x = b.named(n + "attn_residual", new PrimitiveOp.Add(), x, conv1d(n + "attn_out", a, p + "attn.c_proj", hidden, hidden));
            h = layerNorm(n + "ln_2", x, p + "ln_2", hidden);
            Node fc = conv1d(n + "fc", h, p + "mlp.c_fc", hidden, cfg.intermediateSize());
            Node act = b.named(n + "gelu", new ModelOp.Gelu(tanh), fc);
            x = b.named(n + "mlp_residual", new PrimitiveOp.Add(), x,
                    conv1d(n + "mlp_out", act, p + "mlp.c_proj", cfg.intermediateSize(), hidden));
        }
        x = layerNorm("ln_f", x, pre + "ln_f", hidden);
        Node head = ckpt.contains("lm_head.weight") && !cfg.tieWordEmbeddings()
                ? weight("lm_head.weight", cfg.vocabSize(), hidden) : wte;
        return b.build(b.named("logits", new ModelOp.Linear(false), x, head));
    }

    // ---- pieces ----

    /** Positions 0..seq-1 for every row: expand(range(0, seq), shape(input_ids)). */
    private Node positions(Node ids) {
        Node seqLen = b.op(new PrimitiveOp.Squeeze(List.of(0L)), b.op(new PrimitiveOp.ShapeOf(1, 2), ids));
        Node range = b.op(new PrimitiveOp.Range(), b.scalarI64(0), seqLen, b.scalarI64(1));
        return b.named("positions", new PrimitiveOp.Expand(), b.op(new PrimitiveOp.Unsqueeze(List.of(0L)), range),
                b.op(new PrimitiveOp.ShapeOf(0, 2), ids));
    }

    private Tensor invFreq() {
        float[] f = cfg.rope().orElseThrow().inverseFrequencies();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return Tensor.ofDoubles(DType.F32, new long[] {f.length}, d);
    }

    /** [batch, seq, heads * head_dim] -> [batch, seq, heads, head_dim]. */
    private Node heads(Node x, int numHeads) {
        return b.op(new PrimitiveOp.Reshape(false), x, b.dims(BATCH, SEQ, Dim.of(numHeads), Dim.of(cfg.headDim())));
    }

    private Node lastAxisSlice(Node x, long start, long end) {
        return b.op(new PrimitiveOp.Slice(), x, b.i64(start), b.i64(end), b.i64(-1), b.i64(1));
    }

    private Node rmsNorm(String name, Node x, String key, long dim, double offset) {
        return b.named(name, new ModelOp.RmsNorm(cfg.normEps(), offset), x, weight(key, dim));
    }

    private Node layerNorm(String name, Node x, String prefix, long dim) {
        return b.named(name, new ModelOp.LayerNorm(cfg.normEps(), -1), x, weight(prefix + ".weight", dim), weight(prefix + ".bias", dim));
    }

    private Node linear(String name, Node x, String prefix, long out, long in, boolean bias) {
        Node w = weight(prefix + ".weight", out, in);
        if (bias) {
            return b.named(name, new ModelOp.Linear(false), x, w, weight(prefix + ".bias", out));
        }
        return b.named(name, new ModelOp.Linear(false), x, w);
    }

    /** GPT-2's Conv1D: weight stored [in, out], always with a bias. */
    private Node conv1d(String name, Node x, String prefix, long in, long out) {
        return b.named(name, new ModelOp.Linear(true), x, weight(prefix + ".weight", in, out), weight(prefix + ".bias", out));
    }

    private Node softcap(String name, Node x, double cap) {
        Node scaled = b.op(new PrimitiveOp.Div(), x, b.scalar(DType.F32, cap));
        return b.named(name, new PrimitiveOp.Mul(), b.op(new PrimitiveOp.Tanh(), scaled), b.scalar(DType.F32, cap));
    }

    /** A weight of the expected shape, cast to f32 when stored narrower or wider. */
    private Node weight(String key, long... shape) {
        TensorView t = ckpt.find(key).orElseThrow(() -> new ModelFormatException(
                "checkpoint has no tensor '" + key + "' (needed by model_type " + cfg.family().modelType() + ")"));
        if (!java.util.Arrays.equals(t.dims(), shape)) {
            throw new ModelFormatException("tensor '" + key + "' has shape " + t.shape() + ", expected "
                    + java.util.Arrays.toString(shape) + " from config.json");
        }
        DType dtype = TensorConversions.irDType(t);
        if (!dtype.isFloat()) {
            throw new ModelFormatException("tensor '" + key + "' has dtype " + t.dtype() + "; weights must be floating point");
        }
        Node w = b.weight(key, new TensorType(dtype, Shape.of(shape)));
        return dtype == DType.F32 ? w : b.op(new PrimitiveOp.Cast(DType.F32, false), w);
    }
}
