package dev.tokc.runtime.exec;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * {@code program.json} of a JVM engine: which class in {@code program.jar} to run and the signature of its graph,
 * so the runtime can prepare inputs without the compiler's IR classes.
 *
 * @param className binary name of the {@link CompiledProgram} class
 * @param graph     the graph's name ({@code forward}: full forward without cache; {@code step}: the paged step program)
 * @param inputs    the program's inputs, in order
 * @param outputs   its outputs, in order
 * @param gatheredWeights the weights the program only gathers rows from (embedding tables that are not also the LM
 *                  head), which a step does not stream in full; {@code null} in engines written before this was
 *                  recorded (unknown)
 */
public record ProgramInfo(String className, String graph, List<Tensor> inputs, List<Tensor> outputs,
                          List<String> gatheredWeights) {
    /** The engine file holding it. */
    public static final String FILE = "program.json";
    /** The jar with the generated classes. */
    public static final String JAR = "program.jar";

    private static final ObjectMapper JSON = JsonMapper.builder().build();

    /**
     * One input or output: its name, dtype and shape as the IR prints them ({@code batch}, {@code 1024}).
     */
    public record Tensor(String name, String dtype, List<String> shape) {
        public Tensor {
            shape = List.copyOf(shape);
        }
    }

    public ProgramInfo {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        gatheredWeights = gatheredWeights == null ? null : List.copyOf(gatheredWeights);
    }

    public byte[] toJson() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static ProgramInfo parse(byte[] json) throws IOException {
        return JSON.readValue(json, ProgramInfo.class);
    }
}
