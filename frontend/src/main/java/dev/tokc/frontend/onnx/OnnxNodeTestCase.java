package dev.tokc.frontend.onnx;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.tokc.frontend.ModelFormatException;
import dev.tokc.frontend.onnx.proto.OptionalProto;
import dev.tokc.frontend.onnx.proto.SequenceProto;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One case of ONNX's backend node tests, as laid out on disk:
 * <pre>
 *   &lt;case&gt;/model.onnx
 *   &lt;case&gt;/test_data_set_0/input_0.pb, input_1.pb, ..., output_0.pb, ...
 *   &lt;case&gt;/test_data_set_1/...
 * </pre>
 * {@code input_K} feeds the K-th graph input (initializers excluded) and {@code output_K} is the expected K-th
 * graph output, so the data sets key values by the graph's names: the names inside the {@code .pb} files are
 * not always set, the graph's always are. Each file holds the message the graph declares for that position: a
 * TensorProto for a tensor, a SequenceProto for a sequence, an OptionalProto for an optional (the files carry
 * no type tag of their own). Sparse tensors and maps are not supported and fail with a
 * {@link ModelFormatException} naming the file. Data sets are in numeric order ({@code test_data_set_10}
 * after {@code _9}).
 *
 * @param name      the folder name, like {@code test_add_bcast}
 * @param directory the case folder
 * @param model     the case's model
 * @param dataSets  its data sets, in numeric order
 */
public record OnnxNodeTestCase(String name, Path directory, OnnxModel model, List<DataSet> dataSets) {

    /**
     * One set of inputs and the outputs they must produce.
     *
     * @param name    the folder name, like {@code test_data_set_0}
     * @param inputs  input values by graph input name, in graph order
     * @param outputs expected output values by graph output name, in graph order
     */
    public record DataSet(String name, Map<String, OnnxValue> inputs, Map<String, OnnxValue> outputs) {
        public DataSet {
            inputs = Collections.unmodifiableMap(new LinkedHashMap<>(inputs));
            outputs = Collections.unmodifiableMap(new LinkedHashMap<>(outputs));
        }

        /** The input named {@code name}, which must be a tensor. */
        public OnnxTensor inputTensor(String name) {return tensor(inputs, name, "input");}

        /** The expected output named {@code name}, which must be a tensor. */
        public OnnxTensor outputTensor(String name) {return tensor(outputs, name, "output");}

        private OnnxTensor tensor(Map<String, OnnxValue> values, String name, String role) {
            OnnxValue v = values.get(name);
            if (v instanceof OnnxTensor t) return t;
            throw new IllegalArgumentException(this.name + " has no " + role + " tensor '" + name + "'"
                    + (v == null ? "" : " (it is a " + v.getClass().getSimpleName() + ")"));
        }
    }

    private static final Pattern DATA_SET = Pattern.compile("test_data_set_(\\d+)");
    private static final Pattern TENSOR_FILE = Pattern.compile("(input|output)_(\\d+)\\.pb");

    public OnnxNodeTestCase {
        dataSets = List.copyOf(dataSets);
    }

    /** Loads the case in {@code directory}: its model and every data set with all their tensors decoded. */
    public static OnnxNodeTestCase load(Path directory) {
        OnnxModel model = OnnxModel.load(directory.resolve("model.onnx"));
        List<DataSet> sets = new ArrayList<>();
        for (Path setDir : numbered(directory, DATA_SET)) sets.add(loadDataSet(setDir, model));
        return new OnnxNodeTestCase(directory.getFileName().toString(), directory, model, sets);
    }

    /** The case folders directly under {@code root} (those holding a {@code model.onnx}), sorted by name. */
    public static List<Path> caseDirectories(Path root) {
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(p -> Files.isRegularFile(p.resolve("model.onnx"))).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + root, e);
        }
    }

    private static DataSet loadDataSet(Path setDir, OnnxModel model) {
        Map<String, OnnxValue> inputs = new LinkedHashMap<>();
        Map<String, OnnxValue> outputs = new LinkedHashMap<>();
        Map<Integer, Path> inputFiles = new java.util.TreeMap<>();
        Map<Integer, Path> outputFiles = new java.util.TreeMap<>();
        try (Stream<Path> files = Files.list(setDir)) {
            for (Path f : files.toList()) {
                Matcher m = TENSOR_FILE.matcher(f.getFileName().toString());
                if (!m.matches()) continue;
                (m.group(1).equals("input") ? inputFiles : outputFiles).put(Integer.parseInt(m.group(2)), f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + setDir, e);
        }
        bind(inputFiles, model.inputs(), inputs, setDir, "input");
        bind(outputFiles, model.outputs(), outputs, setDir, "output");
        return new DataSet(setDir.getFileName().toString(), inputs, outputs);
    }

    private static void bind(Map<Integer, Path> files, List<OnnxValueInfo> declared, Map<String, OnnxValue> into,
                             Path setDir, String role) {
        for (Map.Entry<Integer, Path> e : files.entrySet()) {
            int k = e.getKey();
            if (k >= declared.size()) {
                throw new ModelFormatException(e.getValue() + ": the graph has only " + declared.size() + " " + role + "s");
            }
            OnnxValueInfo v = declared.get(k);
            into.put(v.name(), loadValue(e.getValue(), v, role));
        }
    }

    private static OnnxValue loadValue(Path file, OnnxValueInfo declared, String role) {
        Path dir = file.toAbsolutePath().getParent();
        try {
            return switch (declared.kind()) {
                case TENSOR -> OnnxTensors.load(file);
                case SEQUENCE -> OnnxValue.Sequence.decode(SequenceProto.parseFrom(read(file)), dir);
                case OPTIONAL -> OnnxValue.OptionalValue.decode(OptionalProto.parseFrom(read(file)), dir);
                case SPARSE_TENSOR, MAP, UNSPECIFIED -> throw new ModelFormatException(file + ": " + role + " '"
                        + declared.name() + "' is declared " + declared.kind() + "; tokc reads only tensor, sequence "
                        + "and optional test data");
            };
        } catch (InvalidProtocolBufferException e) {
            throw new ModelFormatException(file + ": not a serialized " + declared.kind() + " value: " + e.getMessage(), e);
        } catch (ModelFormatException e) {
            if (e.getMessage().startsWith(file.toString())) throw e;
            throw new ModelFormatException(file + ": " + e.getMessage(), e);
        }
    }

    private static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file, e);
        }
    }

    /** Sub-directories of {@code dir} whose names match {@code pattern}'s one number group, by that number. */
    private static List<Path> numbered(Path dir, Pattern pattern) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory)
                    .filter(p -> pattern.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingInt(p -> {
                        Matcher m = pattern.matcher(p.getFileName().toString());
                        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
                    }))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + dir, e);
        }
    }
}
