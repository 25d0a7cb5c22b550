package dev.tokc.frontend.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.frontend.onnx.proto.AttributeProto;
import dev.tokc.frontend.onnx.proto.ModelProto;
import dev.tokc.frontend.onnx.proto.NodeProto;
import dev.tokc.ir.Graph;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The opset-23/24 LLM operators import as the IR's model-level ops (RMSNormalization as rms_norm, RotaryEmbedding as
 * rope, Attention as attention), so that passes see them as they see the raised forms; checked on ONNX's own node-test
 * models. Their values are checked by {@link OnnxConformanceTest}; here the structure, the causal alignment choice and
 * the one form the node tests only have expanded (3-D RotaryEmbedding with num_heads); also the opset-dependent
 * Softmax coercion, which the node tests only have at opset 13 and later.
 */
class OnnxLlmOpsImportTest {

    private static Path caseDir(String name) {
        Path dir = SharedData.root().resolve("onnx-node-tests").resolve(name);
        Assumptions.assumeTrue(Files.isDirectory(dir), dir + " not found; skipping");
        return dir;
    }

    private static Graph importCase(String name) {
        OnnxNodeTestCase c = OnnxNodeTestCase.load(caseDir(name));
        return OnnxConformance.importFor(c, c.dataSets().getFirst()).graph();
    }

    private static List<Node> nodesOf(Graph g, Class<?> op) {
        return g.nodes().stream().filter(n -> op.isInstance(n.op())).toList();
    }

    @Test
    void rmsNormalizationOverTheLastAxisIsOneRmsNorm() {
        Graph g = importCase("test_rms_normalization_4d_axis_negative_1");
        List<Node> norms = nodesOf(g, ModelOp.RmsNorm.class);
        assertEquals(1, norms.size());
        assertEquals(new ModelOp.RmsNorm(1e-5, 0), norms.getFirst().op()); // epsilon absent: ONNX's default
        assertEquals(Map.of("param", 2, "rms_norm", 1), g.opHistogram());
    }

    @Test
    void rmsNormalizationOverTrailingAxesReshapesAroundOneRmsNorm() {
        Graph g = importCase("test_rms_normalization_3d_axis1_epsilon");
        assertEquals(1, nodesOf(g, ModelOp.RmsNorm.class).size());
        Node norm = nodesOf(g, ModelOp.RmsNorm.class).getFirst();
        assertEquals("[2, 15]", norm.shape().toString()); // x [2, 3, 5] normalised over its last two axes
        assertFalse(g.opHistogram().containsKey("reduce_mean"));
    }

    @Test
    void rotaryEmbeddingIsOneRopeInTheCacheForm() {
        for (String name : List.of("test_rotary_embedding", "test_rotary_embedding_no_position_ids_rotary_dim",
                "test_rotary_embedding_with_interleaved_rotary_dim")) {
            Graph g = importCase(name);
            List<Node> ropes = nodesOf(g, ModelOp.Rope.class);
            assertEquals(1, ropes.size(), name);
            assertEquals(4, ropes.getFirst().inputs().size(), name + ": x, positions, cos_cache, sin_cache");
            assertEquals(name.contains("interleaved"), ((ModelOp.Rope) ropes.getFirst().op()).interleaved(), name);
        }
    }

    /**
     * The node tests have a 3-D RotaryEmbedding (num_heads splitting the hidden axis) only in expanded form: the
     * single op, given the num_heads its function body uses, must agree with that body on the same data.
     */
    @Test
    void rotaryEmbeddingWith3dInputAgreesWithItsExpandedFunction() {
        OnnxNodeTestCase expanded = OnnxNodeTestCase.load(caseDir("test_rotary_embedding_3d_input_expanded"));
        long numHeads = -1;
        for (NodeProto n : expanded.model().graph().getNodeList()) {
            if (n.getOpType().equals("Constant") && n.getOutput(0).endsWith("_NumHeads")) {
                numHeads = expanded.model().decode(n.getAttribute(0).getT()).getLong(0);
            }
        }
        assertTrue(numHeads > 0, "the expanded body names its head count");
        ModelProto.Builder m = expanded.model().proto().toBuilder();
        m.getGraphBuilder().clearNode().addNode(NodeProto.newBuilder().setOpType("RotaryEmbedding")
                .addInput("input").addInput("cos_cache").addInput("sin_cache").addInput("position_ids")
                .addOutput("output").addAttribute(AttributeProto.newBuilder().setName("num_heads")
                        .setType(AttributeProto.AttributeType.INT).setI(numHeads)));
        OnnxModel single = OnnxModel.fromProto(m.build(), expanded.directory(), "RotaryEmbedding 3-D");
        OnnxNodeTestCase c = new OnnxNodeTestCase("rotary_embedding_3d_input", expanded.directory(), single,
                expanded.dataSets());
        OnnxConformance.Result r = OnnxConformance.run(c);
        assertTrue(r.passed(), r.line());
        Graph g = OnnxConformance.importFor(c, c.dataSets().getFirst()).graph();
        assertEquals(1, nodesOf(g, ModelOp.Rope.class).size());
    }

    @Test
    void attentionIsOneAttentionOpWithItsHeadCounts() {
        Graph g = importCase("test_attention_4d_gqa");
        List<Node> att = nodesOf(g, ModelOp.Attention.class);
        assertEquals(1, att.size());
        ModelOp.Attention op = (ModelOp.Attention) att.getFirst().op();
        assertEquals(9, op.numHeads());
        assertEquals(3, op.numKvHeads());
        // Only the layout changes around it: no score matmul or softmax when qk_matmul_output is not asked for.
        assertFalse(g.opHistogram().containsKey("mat_mul"));
        assertFalse(g.opHistogram().containsKey("softmax"));
    }

    @Test
    void attention3dSplitsHeadsByReshape() {
        Graph g = importCase("test_attention_3d_gqa_scaled");
        ModelOp.Attention op = (ModelOp.Attention) nodesOf(g, ModelOp.Attention.class).getFirst().op();
        assertEquals(0.01f, op.scale(), 1e-12);
        assertFalse(g.opHistogram().containsKey("mat_mul"));
        assertFalse(g.opHistogram().containsKey("transpose"), "[b, s, h*d] is [b, s, h, d] after a reshape");
    }

    /**
     * ONNX's causal mask puts the queries right after the past keys; the ModelOp's causal flag puts them at the end
     * of the keys. With as many new keys as queries the two agree and the flag is used; otherwise the importer
     * spells the mask out.
     */
    @Test
    void causalUsesTheOpFlagOnlyWhereTheAlignmentsAgree() {
        Node withPast = nodesOf(importCase("test_attention_4d_causal_with_past_and_present"), ModelOp.Attention.class).getFirst();
        assertTrue(((ModelOp.Attention) withPast.op()).causal());
        assertEquals(3, withPast.inputs().size());

        Node moreKeys = nodesOf(importCase("test_attention_4d_causal"), ModelOp.Attention.class).getFirst();
        assertFalse(((ModelOp.Attention) moreKeys.op()).causal());
        assertEquals(4, moreKeys.inputs().size(), "causal as an explicit mask");

        Node nonpad = nodesOf(importCase("test_attention_4d_causal_nonpad_continued_prefill"), ModelOp.Attention.class).getFirst();
        assertFalse(((ModelOp.Attention) nonpad.op()).causal());
        assertEquals(4, nonpad.inputs().size(), "per-row offsets as an explicit mask");
    }

    /**
     * The same cases with symbolic dims, as an exporter with dynamic axes would declare them: batch, sequence and
     * past lengths become dim symbols (heads and head sizes stay static, as the ops need them). They must import
     * and evaluate to the same outputs.
     */
    @Test
    void llmOpsImportWithSymbolicDims() {
        Map<String, List<String>> names = Map.of(
                "Q", java.util.Arrays.asList("batch", null, "seq", null),
                "K", java.util.Arrays.asList("batch", null, "kv_seq", null),
                "V", java.util.Arrays.asList("batch", null, "kv_seq", null),
                "past_key", java.util.Arrays.asList("batch", null, "past", null),
                "past_value", java.util.Arrays.asList("batch", null, "past", null),
                "input", java.util.Arrays.asList("batch", null, "seq", null),
                "position_ids", java.util.Arrays.asList("batch", "seq"),
                "X", java.util.Arrays.asList("rows", null, null));
        for (String name : List.of("test_attention_4d_causal_with_past_and_present", "test_attention_4d_gqa_causal",
                "test_attention_4d_with_past_and_present_qk_matmul_bias_4d_mask_causal", "test_attention_4d_causal",
                "test_attention_4d_gqa_causal_nonpad_decode_fp16", "test_rotary_embedding",
                "test_rotary_embedding_with_interleaved_rotary_dim", "test_rms_normalization_3d_axis1_epsilon")) {
            Graph g = runSymbolic(name, names);
            assertTrue(g.inputs().getFirst().shape().dims().stream().anyMatch(d -> d.symbol().isPresent()), name);
        }
        // New keys and queries of one symbolic length: the ModelOp's causal flag applies, past length symbolic too.
        Map<String, List<String>> sameSeq = new java.util.HashMap<>(names);
        sameSeq.put("K", java.util.Arrays.asList("batch", null, "seq", null));
        sameSeq.put("V", java.util.Arrays.asList("batch", null, "seq", null));
        Graph g = runSymbolic("test_attention_4d_causal_with_past_and_present", sameSeq);
        Node att = nodesOf(g, ModelOp.Attention.class).getFirst();
        assertTrue(((ModelOp.Attention) att.op()).causal());
        assertEquals("[batch, seq, 3, 8]", att.shape().toString());
    }

    /** Runs the case with the named input dims made symbolic; returns the imported graph. */
    private static Graph runSymbolic(String name, Map<String, List<String>> names) {
        OnnxNodeTestCase c = OnnxNodeTestCase.load(caseDir(name));
        ModelProto.Builder m = c.model().proto().toBuilder();
        for (var in : m.getGraphBuilder().getInputBuilderList()) {
            List<String> dims = names.get(in.getName());
            var shape = in.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
            for (int i = 0; dims != null && i < dims.size() && i < shape.getDimCount(); i++) {
                if (dims.get(i) != null) {
                    shape.getDimBuilder(i).setDimParam(dims.get(i));
                }
            }
        }
        OnnxModel symbolic = OnnxModel.fromProto(m.build(), c.directory(), name + " (symbolic)");
        OnnxNodeTestCase sc = new OnnxNodeTestCase(name, c.directory(), symbolic, c.dataSets());
        OnnxConformance.Result r = OnnxConformance.run(sc);
        assertTrue(r.passed(), r.line());
        return OnnxConformance.importFor(sc, sc.dataSets().getFirst()).graph();
    }

    /**
     * Before opset 13, Softmax and LogSoftmax work on x coerced to 2-D {@code [prod(shape[:axis]), prod(shape[axis:])]}:
     * the axis-1 case's model at opset 11 normalises each of the 3 rows over all 4 * 5 values.
     */
    @Test
    void softmaxBeforeOpset13CoercesTo2d() {
        OnnxNodeTestCase c = OnnxNodeTestCase.load(caseDir("test_softmax_axis_1"));
        OnnxTensor x = c.dataSets().getFirst().inputTensor("x");
        for (String op : List.of("Softmax", "LogSoftmax")) {
            ModelProto.Builder m = c.model().proto().toBuilder();
            m.getOpsetImportBuilder(0).setVersion(11);
            m.getGraphBuilder().getNodeBuilder(0).setOpType(op);
            OnnxModel old = OnnxModel.fromProto(m.build(), c.directory(), op + " opset 11");
            Graph g = OnnxImporter.importModel(old).graph();
            var y = dev.tokc.ir.interp.Interpreter.run(g, Map.of("x", OnnxImporter.toIr(x)),
                    dev.tokc.ir.interp.WeightSource.none()).getFirst();
            assertEquals("[3, 4, 5]", java.util.Arrays.toString(y.shape()));
            for (int row = 0; row < 3; row++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < 20; i++) {
                    max = Math.max(max, x.getDouble(row * 20 + i));
                }
                double sum = 0;
                for (int i = 0; i < 20; i++) {
                    sum += Math.exp(x.getDouble(row * 20 + i) - max);
                }
                for (int i = 0; i < 20; i++) {
                    double e = x.getDouble(row * 20 + i) - max;
                    double want = op.equals("Softmax") ? Math.exp(e) / sum : e - Math.log(sum);
                    assertEquals(want, y.getDouble(row * 20 + i), 1e-6, op + " row " + row + " element " + i);
                }
            }
        }
    }

    @Test
    void qkMatmulOutputIsComputedBesideTheAttentionOp() {
        Graph g = importCase("test_attention_4d_with_qk_matmul_softmax");
        assertEquals(1, nodesOf(g, ModelOp.Attention.class).size());
        assertEquals(1, g.opHistogram().get("softmax"));
    }
}
