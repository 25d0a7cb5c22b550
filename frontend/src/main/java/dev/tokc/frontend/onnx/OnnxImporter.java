package dev.tokc.frontend.onnx;

import dev.tokc.frontend.ModelFormatException;
import dev.tokc.frontend.onnx.proto.AttributeProto;
import dev.tokc.frontend.onnx.proto.NodeProto;
import dev.tokc.frontend.onnx.proto.TensorProto;
import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Graph;
import dev.tokc.ir.GraphBuilder;
import dev.tokc.ir.IrException;
import dev.tokc.ir.Node;
import dev.tokc.ir.Shape;
import dev.tokc.ir.SymbolicValues;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import dev.tokc.ir.interp.WeightSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Imports an ONNX graph into the IR as primitive ops with ONNX semantics for the model's opset.
 *
 * <p>Graph inputs become params (symbolic {@code dim_param}s become dim symbols, unnamed dynamic dims get fresh
 * ones); initializers become {@code weight} nodes keyed by initializer name when they look like parameters (float,
 * more than {@link #CONSTANT_LIMIT} elements) and {@code constant}s otherwise, so shape arithmetic on small
 * constants folds symbolically. Nodes are mapped in graph order (ONNX requires topological order) through
 * {@link OnnxOps}; an op without a mapping is a {@link ModelFormatException} naming op type, node name and opset.
 * Inputs ONNX lets exporters pass as tensors but the IR takes as attributes (axes, split sizes, cumsum axis, Trilu
 * k, Pad's pads) must be constants, else the error says so, unless the caller knows the graph inputs they come from
 * ({@link #importModel(OnnxModel, Map)}, for ONNX's node tests).
 *
 * <p>The opset-23/24 LLM operators import as model-level ops, as the checkpoint importer emits them and raising
 * produces them: RMSNormalization as {@code rms_norm}, RotaryEmbedding as {@code rope} (cache form), Attention as
 * {@code attention} (see {@link OnnxAttention}); LayerNormalization and Gelu too.
 */
public final class OnnxImporter {
    /** Float initializers with at most this many elements are folded into the graph as constants. */
    static final int CONSTANT_LIMIT = 16;

    private final OnnxModel model;
    private final long opset;
    private final GraphBuilder builder;
    private final Map<String, Node> values = new HashMap<>();
    private final Map<String, String> unsupportedOutputs = new HashMap<>();
    private final Map<String, TensorProto> weightInitializers = new LinkedHashMap<>();
    private final Map<String, Tensor> inputValues;
    private final Map<Node, String> paramNames = new HashMap<>();
    private NodeProto current;

    private OnnxImporter(OnnxModel model, String graphName, Map<String, Tensor> inputValues) {
        this.model = model;
        this.inputValues = Map.copyOf(inputValues);
        this.opset = model.opsetVersion(OnnxModel.DEFAULT_DOMAIN).orElse(1);
        this.builder = new GraphBuilder(graphName);
    }

    /** The imported graph plus the initializers that its weight nodes refer to. */
    public record Imported(Graph graph, OnnxModel model, Map<String, TensorProto> weights) {
        /** The weight initializers decoded on demand, for the reference interpreter. */
        public WeightSource weightSource() {
            return (key, type) -> {
                TensorProto t = weights.get(key);
                if (t == null) {
                    throw new ModelFormatException(model.source() + ": no initializer '" + key + "'");
                }
                return toIr(model.decode(t));
            };
        }
    }

    public static Imported importModel(OnnxModel model) {
        return importModel(model, Map.of());
    }

    /**
     * Imports {@code model} knowing the values of some graph inputs (by ONNX name). Those inputs stay graph inputs;
     * their values are used only where an op needs an operand as a constant (reduction, squeeze and unsqueeze
     * axes, split sizes, the CumSum axis, Trilu's k, Pad's pads), which exporters always give as constants but
     * ONNX's node tests feed as graph inputs. The values must be the ones the graph will be run with.
     */
    public static Imported importModel(OnnxModel model, Map<String, Tensor> inputValues) {
        return new OnnxImporter(model, "forward", inputValues).run();
    }

    private Imported run() {
        for (var init : model.initializers().entrySet()) {
            values.put(init.getKey(), initializer(init.getKey(), init.getValue()));
        }
        for (OnnxValueInfo in : model.inputs()) {
            if (!values.containsKey(in.name())) {
                Node p = builder.param(sanitize(in.name()), paramType(in));
                values.put(in.name(), p);
                paramNames.put(p, in.name());
            }
        }
        for (NodeProto node : model.graph().getNodeList()) {
            current = node;
            List<Node> outs;
            try {
                outs = OnnxOps.map(this, node);
            } catch (IrException | IllegalArgumentException e) {
                throw new ModelFormatException(where() + ": " + e.getMessage(), e);
            }
            for (int i = 0; i < node.getOutputCount(); i++) {
                String name = node.getOutput(i);
                if (name.isEmpty()) {
                    continue;
                }
                if (i < outs.size() && outs.get(i) != null) {
                    values.put(name, outs.get(i));
                } else {
                    unsupportedOutputs.put(name, "output " + i + " of " + node.getOpType() + " is not supported");
                }
            }
        }
        current = null;
        List<Node> outputs = new ArrayList<>();
        for (OnnxValueInfo out : model.outputs()) {
            outputs.add(value(out.name()));
        }
        return new Imported(builder.build(outputs), model, weightInitializers);
    }

    // ---- for OnnxOps ----

    long opset() {
        return opset;
    }

    GraphBuilder builder() {
        return builder;
    }

    /** Input i of the current node, or null when absent (optional input left out or given as ""). */
    Node input(NodeProto node, int i) {
        if (i >= node.getInputCount() || node.getInput(i).isEmpty()) {
            return null;
        }
        return value(node.getInput(i));
    }

    Node requiredInput(NodeProto node, int i) {
        Node n = input(node, i);
        if (n == null) {
            throw new ModelFormatException(where() + ": input " + i + " is required");
        }
        return n;
    }

    /** The constant integer values of input i (axes, k, split sizes); error if not constant. */
    Optional<long[]> constantInts(NodeProto node, int i) {
        Node n = input(node, i);
        if (n == null) {
            return Optional.empty();
        }
        Optional<long[]> folded = SymbolicValues.constants(n);
        if (folded.isPresent()) {
            return folded;
        }
        Tensor known = paramNames.containsKey(n) ? inputValues.get(paramNames.get(n)) : null;
        if (known != null && !known.isFloat()) {
            return Optional.of(known.toLongArray());
        }
        throw new ModelFormatException(where() + ": input " + i + " ('" + node.getInput(i)
                + "') must be a constant; it is computed at run time");
    }

    Optional<AttributeProto> attr(NodeProto node, String name) {
        for (AttributeProto a : node.getAttributeList()) {
            if (a.getName().equals(name)) {
                return Optional.of(a);
            }
        }
        return Optional.empty();
    }

    long attrInt(NodeProto node, String name, long dflt) {
        return attr(node, name).map(AttributeProto::getI).orElse(dflt);
    }

    double attrFloat(NodeProto node, String name, double dflt) {
        return attr(node, name).map(a -> (double) a.getF()).orElse(dflt);
    }

    String attrString(NodeProto node, String name, String dflt) {
        return attr(node, name).map(a -> a.getS().toStringUtf8()).orElse(dflt);
    }

    Optional<List<Long>> attrInts(NodeProto node, String name) {
        return attr(node, name).map(AttributeProto::getIntsList);
    }

    Tensor attrTensor(NodeProto node, String name) {
        return attr(node, name).map(a -> toIr(model.decode(a.getT())))
                .orElseThrow(() -> new ModelFormatException(where() + ": attribute '" + name + "' is required"));
    }

    String where() {
        if (current == null) {
            return model.source();
        }
        return model.source() + ": node '" + current.getName() + "' (" + current.getOpType() + ", opset " + opset + ")";
    }

    // ---- values ----

    private Node value(String name) {
        Node n = values.get(name);
        if (n != null) {
            return n;
        }
        String why = unsupportedOutputs.get(name);
        if (why != null) {
            throw new ModelFormatException(where() + ": uses '" + name + "': " + why);
        }
        throw new ModelFormatException(where() + ": value '" + name
                + "' is not defined by any earlier node, graph input or initializer (missing initializer?)");
    }

    private Node initializer(String name, TensorProto t) {
        OnnxDataType dt = OnnxDataType.fromCode(t.getDataType()).orElseThrow(() -> new ModelFormatException(
                model.source() + ": initializer '" + name + "' has unknown data type " + t.getDataType()));
        long count = 1;
        for (long d : t.getDimsList()) {
            count *= d;
        }
        DType irType = irDType(dt, "initializer '" + name + "'");
        if (irType.isFloat() && count > CONSTANT_LIMIT) {
            weightInitializers.put(name, t);
            long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
            return builder.weight(name, new TensorType(irType, Shape.of(dims)));
        }
        return builder.constant(toIr(model.decode(t)));
    }

    private TensorType paramType(OnnxValueInfo in) {
        List<Dim> dims = new ArrayList<>();
        int i = 0;
        for (OnnxDim d : in.dims()) {
            dims.add(switch (d) {
                case OnnxDim.Fixed f -> Dim.of(f.size());
                case OnnxDim.Symbolic s -> Dim.sym(sanitize(s.name()));
                default -> Dim.sym(sanitize(in.name()) + "_d" + i);
            });
            i++;
        }
        return new TensorType(irDType(in.dtype(), "graph input '" + in.name() + "'"), new Shape(dims));
    }

    /** Value and symbol names must be identifiers in the IR text form. */
    static String sanitize(String name) {
        String s = name.replaceAll("[^A-Za-z0-9_]", "_");
        return Character.isDigit(s.charAt(0)) ? "v" + s : s;
    }

    /** The IR dtype of an ONNX element type; unsupported types are an error naming the value. */
    static DType irDType(OnnxDataType dt, String what) {
        return switch (dt) {
            case FLOAT -> DType.F32;
            case DOUBLE -> DType.F64;
            case FLOAT16 -> DType.F16;
            case BFLOAT16 -> DType.BF16;
            case FLOAT8E4M3FN -> DType.FP8E4M3;
            case FLOAT8E5M2 -> DType.FP8E5M2;
            case FLOAT8E4M3FNUZ -> DType.FP8E4M3FNUZ;
            case FLOAT8E5M2FNUZ -> DType.FP8E5M2FNUZ;
            case FLOAT8E8M0 -> DType.FP8E8M0;
            case FLOAT4E2M1 -> DType.FP4E2M1;
            case INT64 -> DType.I64;
            case INT32 -> DType.I32;
            case INT16 -> DType.I16;
            case INT8 -> DType.I8;
            case INT4 -> DType.I4;
            case INT2 -> DType.I2;
            case UINT64 -> DType.U64;
            case UINT32 -> DType.U32;
            case UINT16 -> DType.U16;
            case UINT8 -> DType.U8;
            case UINT4 -> DType.U4;
            case UINT2 -> DType.U2;
            case BOOL -> DType.BOOL;
            default -> throw new ModelFormatException(what + " has element type " + dt + ", which tokc does not support");
        };
    }

    /** Converts a decoded ONNX tensor to an IR tensor (values exact: narrow floats decoded bit-exactly). */
    public static Tensor toIr(OnnxTensor t) {
        DType d = irDType(t.dtype(), "tensor '" + t.name() + "'");
        int n = t.elementCount();
        if (d.isFloat()) {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = t.getDouble(i);
            }
            return Tensor.ofDoubles(d, t.shape(), v);
        }
        long[] v = new long[n];
        for (int i = 0; i < n; i++) {
            v[i] = t.getLong(i);
        }
        return Tensor.ofLongs(d, t.shape(), v);
    }
}
