package dev.tokc.cli;

import dev.tokc.frontend.LoadedModel;
import dev.tokc.frontend.ModelLoader;
import dev.tokc.ir.DType;
import dev.tokc.ir.Node;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.interp.Interpreter;
import dev.tokc.runtime.exec.JvmExecutor;
import dev.tokc.runtime.exec.StepExecutor;
import dev.tokc.runtime.exec.TokenModel;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code tokc logits MODEL|ENGINE --ids 1,2,3 [-o out.f32]}: the full-forward logits of a token sequence, computed by
 * the reference interpreter on the imported IR of a model, or by the generated program of an engine directory (one
 * with a {@code manifest.json}; {@code --reference-kernels} runs it on the scalar kernels). Writes float32 little-endian {@code [seq, vocab]} (the layout of the
 * shared references) atomically; without {@code -o}, prints the top tokens per position.
 */
final class LogitsCommand implements Command {
    @Override
    public String name() {
        return "logits";
    }

    @Override
    public String summary() {
        return "compute the logits of a token sequence (reference interpreter) and write them as float32 [seq, vocab]";
    }

    @Override
    public String usage() {
        return "MODEL|ENGINE --ids 1,2,3 [-o FILE.f32] [--threads N] [--reference-kernels]";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("ids").hasArg().argName("IDS").required()
                .desc("comma-separated token ids of the prompt").build());
        o.addOption(Option.builder("o").longOpt("output").hasArg().argName("FILE")
                .desc("write float32 little-endian logits [seq, vocab] here").build());
        o.addOption(Option.builder().longOpt("threads").hasArg().argName("N")
                .desc("kernel threads for an engine (default: available processors)").build());
        o.addOption(Option.builder().longOpt("reference-kernels").desc("run an engine on the scalar reference kernels").build());
        return o;
    }

    @Override
    public int run(CommandLine cmd, Io io) throws Exception {
        Path model = Args.single(cmd, "MODEL");
        long[] ids = Args.longList("ids", cmd.getOptionValue("ids"));
        if (ids.length == 0) {
            throw new UsageError("--ids needs at least one token id");
        }
        if (Files.isRegularFile(model.resolve("manifest.json"))) {
            return runEngine(cmd, io, model, ids);
        }
        try (LoadedModel m = ModelLoader.load(model)) {
            List<Node> inputs = m.graph().inputs();
            if (inputs.size() != 1 || inputs.get(0).rank() != 2 || inputs.get(0).dtype() != DType.I64) {
                throw new UserError(model + ": expected one input of token ids i64[batch, seq], got " + inputs);
            }
            long vocab = m.graph().outputs().get(0).shape().at(-1).isConstant()
                    ? m.graph().outputs().get(0).shape().at(-1).value() : -1;
            for (long id : ids) {
                if (id < 0 || (vocab > 0 && id >= vocab)) {
                    throw new UserError("token id " + id + " is outside the vocabulary [0, " + vocab + ")");
                }
            }
            Tensor idsTensor = Tensor.ofLongs(DType.I64, new long[] {1, ids.length}, ids.clone());
            Tensor logits = Interpreter.run(m.graph(), Map.of(inputs.get(0).name(), idsTensor),
                    (key, type) -> m.weights().load(key)).get(0);
            int seq = ids.length;
            int v = Math.toIntExact(logits.dim(logits.rank() - 1));
            if (cmd.hasOption("output")) {
                writeF32(Path.of(cmd.getOptionValue("output")), logits);
                io.err().printf("wrote logits [%d, %d] to %s%n", seq, v, cmd.getOptionValue("output"));
            } else {
                printTop(io, logits, seq, v);
            }
        }
        return 0;
    }

    private int runEngine(CommandLine cmd, Io io, Path engine, long[] ids) throws Exception {
        int threads = Args.intValue(cmd, "threads", Runtime.getRuntime().availableProcessors(), 1, 1024);
        JvmExecutor.KernelChoice kernels = cmd.hasOption("reference-kernels")
                ? JvmExecutor.KernelChoice.REFERENCE : JvmExecutor.KernelChoice.VECTOR;
        boolean step = StepExecutor.isStepEngine(engine);
        try (AutoCloseable ex = step ? StepExecutor.open(engine, threads, kernels, StepExecutor.blocksFor(engine, ids.length))
                : JvmExecutor.open(engine, threads, kernels)) {
            int v = ((TokenModel) ex).vocabSize();
            for (long id : ids) {
                if (id < 0 || id >= v) {
                    throw new UserError("token id " + id + " is outside the vocabulary [0, " + v + ")");
                }
            }
            float[] f = step ? ((StepExecutor) ex).forward(ids) : ((JvmExecutor) ex).forward(ids);
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                d[i] = f[i];
            }
            Tensor logits = Tensor.ofDoubles(DType.F32, new long[] {ids.length, v}, d);
            if (cmd.hasOption("output")) {
                writeF32(Path.of(cmd.getOptionValue("output")), logits);
                io.err().printf("wrote logits [%d, %d] to %s%n", ids.length, v, cmd.getOptionValue("output"));
            } else {
                printTop(io, logits, ids.length, v);
            }
        }
        return 0;
    }

    private static void printTop(Io io, Tensor logits, int seq, int vocab) {
        double[] d = logits.doubles();
        for (int p = 0; p < seq; p++) {
            int best = 0;
            for (int t = 1; t < vocab; t++) {
                if (d[p * vocab + t] > d[p * vocab + best]) {
                    best = t;
                }
            }
            io.out().printf("position %d: argmax %d (logit %.6f)%n", p, best, d[p * vocab + best]);
        }
    }

    /** Writes through a temporary file and a rename, so a failed write never leaves a partial file behind. */
    static void writeF32(Path out, Tensor t) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(t.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < t.size(); i++) {
            buf.putFloat((float) t.getDouble(i));
        }
        Path dir = out.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, ".tokc-logits", ".tmp");
        try (OutputStream os = Files.newOutputStream(tmp)) {
            os.write(buf.array());
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
