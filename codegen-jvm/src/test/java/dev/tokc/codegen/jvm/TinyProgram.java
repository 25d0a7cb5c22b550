package dev.tokc.codegen.jvm;

import dev.tokc.ir.DType;
import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.interp.WeightSource;
import dev.tokc.ir.text.IrParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.SplittableRandom;

/** The tiny test graph ({@code tiny.ir}: every kernel binding once) with seeded random weights. */
final class TinyProgram {
    private TinyProgram() {}

    static Graph graph() throws IOException {
        return IrParser.parseGraph(resource("/tiny.ir"), "tiny.ir");
    }

    static String resource(String name) throws IOException {
        try (InputStream in = TinyProgram.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("missing test resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** Random weights in [-1, 1) for every weight of {@code g}; norm weights near 1. */
    static WeightSource.InMemory weights(Graph g, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        WeightSource.InMemory w = WeightSource.inMemory();
        for (Node n : g.weights().values()) {
            SourceOp.Weight wt = (SourceOp.Weight) n.op();
            long[] shape = n.shape().evaluate(Map.of());
            double[] data = new double[Math.toIntExact(Tensor.count(shape))];
            for (int i = 0; i < data.length; i++) {
                // Rounded to f32 so the interpreter and the f32 engine start from the same numbers.
                data[i] = (float) (n.rank() == 1 ? 1 + 0.2 * (rnd.nextDouble() - 0.5) : rnd.nextDouble(-1, 1));
            }
            w.put(wt.key(), Tensor.ofDoubles(DType.F32, shape, data));
        }
        return w;
    }
}
