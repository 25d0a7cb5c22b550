package dev.tokc.frontend.onnx;

import dev.tokc.frontend.onnx.proto.AttributeProto;
import dev.tokc.frontend.onnx.proto.FunctionProto;
import dev.tokc.frontend.onnx.proto.NodeProto;
import dev.tokc.frontend.onnx.proto.OperatorSetIdProto;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The operator inventory of a set of ONNX models: every distinct (domain, op_type) their nodes use, at which
 * operator-set versions, with which attributes (name, type and, for ints, floats, strings and int lists, the values
 * seen),
 * and where. It walks the main graph, subgraphs held in attributes (If/Loop/Scan bodies) and model-local
 * functions, resolving each node's opset through the imports of the graph or function it sits in, and records
 * which model-local functions exist and whether any node calls them.
 *
 * <p>Its Markdown rendering, docs/onnx-ops.md, is the checklist the ONNX importer is built against: the ops of
 * the dynamo exports are what must map for the end-to-end models, the node-test ops are what the conformance
 * tests exercise. The output is sorted, so it is stable for a given input.
 *
 * <p>{@link #main} regenerates the file: {@code OnnxOpInventory <shared-dir> <output.md>}.
 */
public final class OnnxOpInventory {
    /** How many distinct values of one attribute to list before eliding the rest. */
    private static final int MAX_VALUES = 8;

    /** Where a model comes from, which decides the column its uses are counted in. */
    public enum Source { EXPORT, NODE_TEST }

    /** One distinct operator. */
    public record OpKey(String domain, String opType) implements Comparable<OpKey> {
        private static final Comparator<OpKey> ORDER =
                Comparator.comparing(OpKey::domain).thenComparing(OpKey::opType);

        @Override
        public int compareTo(OpKey o) {return ORDER.compare(this, o);}

        @Override
        public String toString() {return domain.isEmpty() ? opType : domain + "::" + opType;}
    }

    /** What is known about one operator's uses. */
    public static final class OpUse {
        private final SortedSet<Long> opsets = new TreeSet<>();
        private final SortedSet<Long> exportOpsets = new TreeSet<>();
        private final SortedMap<String, SortedSet<String>> attributes = new TreeMap<>();
        private final SortedMap<String, SortedSet<String>> exportAttributes = new TreeMap<>();
        private final SortedMap<String, Integer> exportNodes = new TreeMap<>();
        private final SortedSet<String> nodeTests = new TreeSet<>();
        private boolean callsLocalFunction;

        /** The operator-set versions the op is used at (-1 when its domain is not imported). */
        public SortedSet<Long> opsets() {return opsets;}

        /** The operator-set versions the exports use the op at. */
        public SortedSet<Long> exportOpsets() {return exportOpsets;}

        /** Attribute "name:TYPE" to the distinct values seen (for INT, FLOAT, STRING and INTS attributes). */
        public SortedMap<String, SortedSet<String>> attributes() {return attributes;}

        /** Like {@link #attributes()}, for the exports' nodes only. */
        public SortedMap<String, SortedSet<String>> exportAttributes() {return exportAttributes;}

        /** Export label to the number of nodes with this op in it. */
        public SortedMap<String, Integer> exportNodes() {return exportNodes;}

        /** Node-test cases using the op. */
        public SortedSet<String> nodeTests() {return nodeTests;}

        /** Whether the op resolves to a model-local function rather than a registered operator. */
        public boolean callsLocalFunction() {return callsLocalFunction;}
    }

    /** A model-local function of one model and how often nodes call it. */
    public record LocalFunction(String model, String domain, String name, String overload, int nodes, int calls,
                                List<String> ops) {}

    private final SortedMap<OpKey, OpUse> ops = new TreeMap<>();
    private final List<LocalFunction> functions = new ArrayList<>();
    private final SortedMap<String, String> exportOpsets = new TreeMap<>();
    private int exportCount;
    private int nodeTestCount;
    private final SortedSet<Long> nodeTestOpsets = new TreeSet<>();

    /** The operators seen so far, sorted by domain and op_type. */
    public SortedMap<OpKey, OpUse> ops() {return ops;}

    /** The model-local functions seen so far. */
    public List<LocalFunction> functions() {return functions;}

    /** Adds every node of {@code model}, labelled {@code label} (a model directory or node-test case name). */
    public void add(String label, OnnxModel model, Source source) {
        if (source == Source.EXPORT) {
            exportCount++;
            exportOpsets.put(label, model.opsetImports().toString());
        } else {
            nodeTestCount++;
            nodeTestOpsets.addAll(model.opsetImports().values());
        }
        Map<String, Integer> calls = new LinkedHashMap<>();
        walkNodes(model.graph().getNodeList(), model.opsetImports(), model, label, source, calls);
        for (FunctionProto f : model.functions()) {
            walkNodes(f.getNodeList(), functionOpsets(f, model), model, label, source, calls);
        }
        for (FunctionProto f : model.functions()) {
            List<String> inside = f.getNodeList().stream().map(n -> new OpKey(n.getDomain(), n.getOpType()).toString())
                    .distinct().sorted().toList();
            functions.add(new LocalFunction(label, f.getDomain(), f.getName(), f.getOverload(), f.getNodeCount(),
                    calls.getOrDefault(functionKey(f.getDomain(), f.getName(), f.getOverload()), 0), inside));
        }
    }

    /** A function's own imports, falling back to the model's for domains it does not import itself. */
    private static Map<String, Long> functionOpsets(FunctionProto f, OnnxModel model) {
        Map<String, Long> opsets = new LinkedHashMap<>(model.opsetImports());
        for (OperatorSetIdProto id : f.getOpsetImportList()) {
            opsets.put(OnnxModel.normalizeDomain(id.getDomain()), id.getVersion());
        }
        return opsets;
    }

    private static String functionKey(String domain, String name, String overload) {
        return domain + "::" + name + "::" + overload;
    }

    private void walkNodes(List<NodeProto> nodes, Map<String, Long> opsets, OnnxModel model, String label,
                           Source source, Map<String, Integer> calls) {
        for (NodeProto node : nodes) {
            OpKey key = new OpKey(OnnxModel.normalizeDomain(node.getDomain()), node.getOpType());
            OpUse use = ops.computeIfAbsent(key, k -> new OpUse());
            long version = opsets.getOrDefault(key.domain(), -1L);
            use.opsets.add(version);
            if (source == Source.EXPORT) use.exportOpsets.add(version);
            if (model.function(node.getDomain(), node.getOpType(), node.getOverload()).isPresent()) {
                use.callsLocalFunction = true;
                calls.merge(functionKey(node.getDomain(), node.getOpType(), node.getOverload()), 1, Integer::sum);
            }
            if (source == Source.EXPORT) use.exportNodes.merge(label, 1, Integer::sum);
            else use.nodeTests.add(label);
            for (AttributeProto a : node.getAttributeList()) {
                String name = a.getName() + ":" + a.getType();
                String value = switch (a.getType()) {
                    case INT -> Long.toString(a.getI());
                    case FLOAT -> Float.toString(a.getF());
                    case STRING -> '"' + a.getS().toStringUtf8() + '"';
                    case INTS -> a.getIntsList().toString();
                    default -> null; // other lists, tensors and graphs: the name and type are what the checklist needs
                };
                record(use.attributes, name, value);
                if (source == Source.EXPORT) record(use.exportAttributes, name, value);
                switch (a.getType()) {
                    // Subgraphs see the imports of the graph or function that holds them.
                    case GRAPH -> walkNodes(a.getG().getNodeList(), opsets, model, label, source, calls);
                    case GRAPHS -> a.getGraphsList().forEach(g -> walkNodes(g.getNodeList(), opsets, model, label, source, calls));
                    default -> { }
                }
            }
        }
    }

    private static void record(SortedMap<String, SortedSet<String>> attributes, String name, String value) {
        SortedSet<String> values = attributes.computeIfAbsent(name, k -> new TreeSet<>(VALUE_ORDER));
        if (value != null) values.add(value);
    }

    /** Numbers in numeric order (so 2 comes before 10), then lists and strings in text order. */
    private static final Comparator<String> VALUE_ORDER = Comparator
            .comparing((String v) -> !isNumber(v))
            .thenComparing((String v) -> isNumber(v) ? Double.parseDouble(v) : 0.0)
            .thenComparing(Comparator.naturalOrder());

    private static boolean isNumber(String v) {
        return !v.startsWith("\"") && !v.startsWith("[");
    }

    /** The inventory as Markdown (the content of docs/onnx-ops.md). */
    public String toMarkdown() {
        StringBuilder md = new StringBuilder();
        md.append("# ONNX operator inventory\n\n");
        md.append("Generated from `../shared` by `dev.tokc.frontend.onnx.OnnxOpInventory` (rerun with\n")
                .append("`./mvnw -pl frontend -am test -Dtest=OnnxOpInventoryTest -Dsurefire.failIfNoSpecifiedTests=false ")
                .append("-Dtokc.onnx.updateInventory=true`;\n")
                .append("the test fails while this file is stale). Do not edit by hand.\n\n");
        md.append("The checklist the ONNX importer is built against. The **exports** are the five `models/*/model.onnx` files\n")
                .append("(`torch.onnx.export(..., dynamo=True)`); the **node tests** are the cases under `onnx-node-tests/`.\n")
                .append("Attributes are `name:TYPE`, with the distinct values seen for INT, FLOAT, STRING and INTS attributes.\n\n");

        List<Map.Entry<OpKey, OpUse>> exportOps = ops.entrySet().stream()
                .filter(e -> !e.getValue().exportNodes.isEmpty()).toList();
        md.append("## Summary\n\n");
        md.append("- exports: ").append(exportCount).append(" models, ").append(exportOps.size())
                .append(" distinct ops, opset imports ")
                .append(exportOpsets.values().stream().distinct().collect(Collectors.joining(", "))).append('\n');
        md.append("- node tests: ").append(nodeTestCount).append(" cases, ")
                .append(ops.values().stream().filter(u -> !u.nodeTests.isEmpty()).count())
                .append(" distinct ops, default-domain opsets ").append(nodeTestOpsets).append('\n');
        long onlyTests = ops.values().stream().filter(u -> u.exportNodes.isEmpty()).count();
        md.append("- ops only in node tests (not needed by the exports): ").append(onlyTests).append('\n');
        md.append("- model-local functions: ").append(functions.isEmpty() ? "none" : functions.size())
                .append(" (see the last section)\n\n");

        md.append("## Ops of the exports (must map for the end-to-end models)\n\n");
        md.append("| op | opset | nodes per export | attributes seen |\n|---|---|---|---|\n");
        for (Map.Entry<OpKey, OpUse> e : exportOps) {
            OpUse u = e.getValue();
            md.append("| ").append(e.getKey()).append(" | ").append(versions(u.exportOpsets)).append(" | ")
                    .append(u.exportNodes.entrySet().stream().map(x -> x.getKey() + " " + x.getValue())
                            .collect(Collectors.joining(", ")))
                    .append(" | ").append(attributes(u.exportAttributes)).append(" |\n");
        }

        md.append("\n## All ops\n\n");
        md.append("| op | opsets | exports | node-test cases | attributes seen |\n|---|---|---|---|---|\n");
        for (Map.Entry<OpKey, OpUse> e : ops.entrySet()) {
            OpUse u = e.getValue();
            md.append("| ").append(e.getKey()).append(u.callsLocalFunction ? " (local function)" : "").append(" | ")
                    .append(versions(u.opsets)).append(" | ")
                    .append(u.exportNodes.isEmpty() ? "-" : u.exportNodes.size() + " (" + u.exportNodes.values().stream().mapToInt(Integer::intValue).sum() + " nodes)")
                    .append(" | ").append(u.nodeTests.size()).append(" | ").append(attributes(u.attributes)).append(" |\n");
        }

        md.append("\n## Node-test cases per op\n\n");
        for (Map.Entry<OpKey, OpUse> e : ops.entrySet()) {
            if (e.getValue().nodeTests.isEmpty()) continue;
            md.append("- **").append(e.getKey()).append("**: ").append(String.join(", ", e.getValue().nodeTests)).append('\n');
        }

        md.append("\n## Model-local functions\n\n");
        if (functions.isEmpty()) {
            md.append("None: `ModelProto.functions` is empty in every model scanned, so no node calls a model-local function.\n");
        } else {
            md.append("| model | function | nodes | calls | ops inside |\n|---|---|---|---|---|\n");
            for (LocalFunction f : functions) {
                md.append("| ").append(f.model()).append(" | ").append(f.domain()).append("::").append(f.name())
                        .append(f.overload().isEmpty() ? "" : " (" + f.overload() + ")").append(" | ").append(f.nodes())
                        .append(" | ").append(f.calls()).append(" | ").append(String.join(", ", f.ops())).append(" |\n");
            }
        }
        return md.toString();
    }

    private static String versions(SortedSet<Long> opsets) {
        return opsets.stream().map(v -> v < 0 ? "not imported" : v.toString()).collect(Collectors.joining(", "));
    }

    private static String attributes(SortedMap<String, SortedSet<String>> attributes) {
        if (attributes.isEmpty()) return "-";
        return attributes.entrySet().stream().map(e -> {
            SortedSet<String> v = e.getValue();
            if (v.isEmpty()) return "`" + e.getKey() + "`";
            String shown = v.stream().limit(MAX_VALUES).map(s -> s.replace("|", "\\|")).collect(Collectors.joining(", "));
            return "`" + e.getKey() + "` {" + shown + (v.size() > MAX_VALUES ? ", ..." : "") + "}";
        }).collect(Collectors.joining("; "));
    }

    /** The inventory of {@code shared}/models/&#42;/model.onnx and every case under {@code shared}/onnx-node-tests. */
    public static OnnxOpInventory ofShared(Path shared) throws IOException {
        OnnxOpInventory inventory = new OnnxOpInventory();
        try (Stream<Path> dirs = Files.list(shared.resolve("models"))) {
            for (Path dir : dirs.sorted().toList()) {
                Path file = dir.resolve("model.onnx");
                if (Files.isRegularFile(file)) inventory.add(dir.getFileName().toString(), OnnxModel.load(file), Source.EXPORT);
            }
        }
        Path tests = shared.resolve("onnx-node-tests");
        if (Files.isDirectory(tests)) {
            for (Path dir : OnnxNodeTestCase.caseDirectories(tests)) {
                inventory.add(dir.getFileName().toString(), OnnxModel.load(dir.resolve("model.onnx")), Source.NODE_TEST);
            }
        }
        return inventory;
    }

    /** {@code OnnxOpInventory <shared-dir> <output.md>}: writes the inventory of the shared data. */
    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: OnnxOpInventory <shared-dir> <output.md>");
            System.exit(2);
        }
        Path out = Path.of(args[1]);
        if (out.getParent() != null) Files.createDirectories(out.getParent());
        Files.writeString(out, ofShared(Path.of(args[0])).toMarkdown(), StandardCharsets.UTF_8);
    }
}
