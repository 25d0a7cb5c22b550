package dev.tokc.frontend.onnx;

import com.google.protobuf.CodedInputStream;
import dev.tokc.frontend.ModelFormatException;
import dev.tokc.frontend.onnx.proto.FunctionProto;
import dev.tokc.frontend.onnx.proto.GraphProto;
import dev.tokc.frontend.onnx.proto.ModelProto;
import dev.tokc.frontend.onnx.proto.OperatorSetIdProto;
import dev.tokc.frontend.onnx.proto.TensorProto;
import dev.tokc.frontend.onnx.proto.ValueInfoProto;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * An ONNX model read from a file: the parsed {@link ModelProto} plus the views of it an importer needs first,
 * namely the operator sets by domain, the graph's real inputs and outputs with their types, the initializers by
 * name, and the model-local functions. The proto stays available ({@link #proto()}) for everything else.
 *
 * <p>Contract:
 * <ul>
 *   <li>{@link #load} fails with a {@link ModelFormatException} naming the file when it is not a complete
 *       serialized ModelProto (truncated, another format, no graph), and with an {@link UncheckedIOException}
 *       when it cannot be read at all.</li>
 *   <li>Initializers are not decoded at load time; {@link #tensor} decodes one on demand, reading external
 *       data relative to the model file's directory with the checks of {@link OnnxExternalData}, and
 *       {@link #externalData} gives the checked file range without reading it.</li>
 *   <li>{@link #inputs()} leaves out graph inputs that are also initializers: before IR 4 every initializer
 *       had to be listed as an input as well, and such inputs are weights, not things a caller feeds.</li>
 *   <li>Domains "" and "ai.onnx" are the same operator set; {@link #opsetImports()} reports it as "".</li>
 * </ul>
 * Instances are immutable.
 */
public final class OnnxModel {
    /** The default ONNX operator set's domain, as tokc spells it. */
    public static final String DEFAULT_DOMAIN = "";

    private final String source;
    private final Path baseDirectory;
    private final ModelProto proto;
    private final Map<String, Long> opsets;
    private final Map<String, TensorProto> initializers;
    private final List<OnnxValueInfo> inputs;
    private final List<OnnxValueInfo> outputs;

    private OnnxModel(String source, Path baseDirectory, ModelProto proto) {
        this.source = source;
        this.baseDirectory = baseDirectory;
        this.proto = proto;
        this.opsets = opsetMap(proto.getOpsetImportList(), source);
        GraphProto graph = proto.getGraph();
        Map<String, TensorProto> inits = new LinkedHashMap<>();
        for (TensorProto t : graph.getInitializerList()) {
            if (inits.putIfAbsent(t.getName(), t) != null) {
                throw new ModelFormatException(source + ": initializer '" + t.getName() + "' is defined twice");
            }
        }
        this.initializers = Collections.unmodifiableMap(inits);
        this.inputs = graph.getInputList().stream()
                .filter(v -> !inits.containsKey(v.getName()))
                .map(OnnxValueInfo::of)
                .toList();
        this.outputs = graph.getOutputList().stream().map(OnnxValueInfo::of).toList();
    }

    /**
     * Reads and parses the model file at {@code file}.
     *
     * @throws ModelFormatException  when the file is not a complete ONNX model
     * @throws UncheckedIOException when the file cannot be read
     */
    public static OnnxModel load(Path file) {
        byte[] bytes;
        try {
            // Protobuf messages are limited to 2 GiB, which is why ONNX moves big weights to external data;
            // a larger .onnx file cannot be valid, so say that instead of failing to allocate the array.
            long size = Files.size(file);
            if (size > Integer.MAX_VALUE - 8) {
                throw new ModelFormatException(file + ": " + size + " bytes is over protobuf's 2 GiB limit; "
                        + "an ONNX model this large must keep its weights in external data files");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("reading ONNX model " + file, e);
        }
        ModelProto proto;
        try {
            CodedInputStream in = CodedInputStream.newInstance(bytes);
            // Every nested subgraph (an If or Loop body) costs three message levels (node, attribute, graph),
            // so protobuf's default limit of 100 would stop at about 30 levels of control flow; the limit only
            // guards the parser's stack, which 1000 levels still fit in.
            in.setRecursionLimit(1000);
            proto = ModelProto.parseFrom(in);
            in.checkLastTagWas(0);
        } catch (IOException e) {
            // From an in-memory array the only IOException is InvalidProtocolBufferException: bad bytes.
            throw new ModelFormatException(file + ": not a valid ONNX model (truncated, or not a serialized "
                    + "ModelProto): " + e.getMessage(), e);
        }
        Path dir = file.toAbsolutePath().getParent();
        return fromProto(proto, dir, file.toString());
    }

    /**
     * Wraps an already-parsed model whose external data, if any, lives in {@code baseDirectory}.
     *
     * @param source how to name the model in error messages (usually its path)
     * @throws ModelFormatException when the proto has no IR version or no graph, i.e. is not a model
     */
    public static OnnxModel fromProto(ModelProto proto, Path baseDirectory, String source) {
        Objects.requireNonNull(proto, "proto");
        if (!proto.hasIrVersion() || proto.getIrVersion() <= 0 || !proto.hasGraph()) {
            throw new ModelFormatException(source + ": not an ONNX model (" + (proto.hasGraph() ? "no ir_version" : "no graph")
                    + "); the file parsed as protobuf but lacks the fields every ONNX model has");
        }
        return new OnnxModel(source, baseDirectory, proto);
    }

    private static Map<String, Long> opsetMap(List<OperatorSetIdProto> imports, String source) {
        Map<String, Long> map = new LinkedHashMap<>();
        for (OperatorSetIdProto id : imports) {
            String domain = normalizeDomain(id.getDomain());
            Long previous = map.put(domain, id.getVersion());
            if (previous != null && previous != id.getVersion()) {
                throw new ModelFormatException(source + ": operator set '" + domain + "' imported at versions "
                        + previous + " and " + id.getVersion());
            }
        }
        return Collections.unmodifiableMap(map);
    }

    /** Maps the default domain's two spellings, "" and "ai.onnx", to "". */
    public static String normalizeDomain(String domain) {
        return domain.equals("ai.onnx") ? DEFAULT_DOMAIN : domain;
    }

    /** The parsed file. */
    public ModelProto proto() {return proto;}

    /** The main graph. */
    public GraphProto graph() {return proto.getGraph();}

    /** The name used for this model in messages (its path when loaded from a file). */
    public String source() {return source;}

    /** The directory external data locations are relative to. */
    public Path baseDirectory() {return baseDirectory;}

    public long irVersion() {return proto.getIrVersion();}

    /** Producer name and version, like "pytorch 2.11.0". */
    public String producer() {
        return (proto.getProducerName() + " " + proto.getProducerVersion()).strip();
    }

    /** Imported operator set versions by domain ("" is the default ONNX domain), in file order. */
    public Map<String, Long> opsetImports() {return opsets;}

    /** The version of the operator set imported for {@code domain} ("" or "ai.onnx" for the default one). */
    public OptionalLong opsetVersion(String domain) {
        Long v = opsets.get(normalizeDomain(domain));
        return v == null ? OptionalLong.empty() : OptionalLong.of(v);
    }

    /** The graph inputs a caller must supply, in order (initializers excluded). */
    public List<OnnxValueInfo> inputs() {return inputs;}

    /** The graph outputs, in order. */
    public List<OnnxValueInfo> outputs() {return outputs;}

    /** The input named {@code name}. */
    public Optional<OnnxValueInfo> input(String name) {
        return inputs.stream().filter(v -> v.name().equals(name)).findFirst();
    }

    /** The output named {@code name}. */
    public Optional<OnnxValueInfo> output(String name) {
        return outputs.stream().filter(v -> v.name().equals(name)).findFirst();
    }

    /** The declared types of intermediate values ({@code value_info}) by name. */
    public Map<String, OnnxValueInfo> valueInfo() {
        Map<String, OnnxValueInfo> map = new LinkedHashMap<>();
        for (ValueInfoProto v : graph().getValueInfoList()) map.put(v.getName(), OnnxValueInfo.of(v));
        return Collections.unmodifiableMap(map);
    }

    /** The initializers by name, in file order, undecoded. */
    public Map<String, TensorProto> initializers() {return initializers;}

    /** The initializer named {@code name}, undecoded. */
    public Optional<TensorProto> initializer(String name) {
        return Optional.ofNullable(initializers.get(name));
    }

    /**
     * Decodes the initializer named {@code name}.
     *
     * @throws IllegalArgumentException when there is none
     * @throws ModelFormatException     when its data is inconsistent or its external data is unreadable
     */
    public OnnxTensor tensor(String name) {
        TensorProto t = initializers.get(name);
        if (t == null) throw new IllegalArgumentException(source + " has no initializer '" + name + "'");
        return decode(t);
    }

    /** Decodes a tensor of this model (an initializer or a node attribute), resolving its external data. */
    public OnnxTensor decode(TensorProto tensor) {
        try {
            return OnnxTensors.decode(tensor, baseDirectory);
        } catch (ModelFormatException e) {
            throw new ModelFormatException(source + ": " + e.getMessage(), e);
        }
    }

    /** The checked file range of a tensor stored outside the model, or empty when its data is inline. */
    public Optional<OnnxExternalData> externalData(TensorProto tensor) {
        if (tensor.getDataLocation() != TensorProto.DataLocation.EXTERNAL) return Optional.empty();
        try {
            return Optional.of(OnnxExternalData.resolve(tensor, baseDirectory));
        } catch (ModelFormatException e) {
            throw new ModelFormatException(source + ": " + e.getMessage(), e);
        }
    }

    /** The model-local functions. */
    public List<FunctionProto> functions() {return proto.getFunctionsList();}

    /** The model-local function a node with this domain, op_type and overload calls, if there is one. */
    public Optional<FunctionProto> function(String domain, String name, String overload) {
        return proto.getFunctionsList().stream()
                .filter(f -> f.getDomain().equals(domain) && f.getName().equals(name) && f.getOverload().equals(overload))
                .findFirst();
    }

    @Override
    public String toString() {
        return "OnnxModel[" + source + ", ir " + irVersion() + ", opsets " + opsets + ", inputs " + inputs
                + ", outputs " + outputs + ", " + initializers.size() + " initializers]";
    }
}
