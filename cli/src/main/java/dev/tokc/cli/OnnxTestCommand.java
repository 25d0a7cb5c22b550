package dev.tokc.cli;

import dev.tokc.frontend.onnx.OnnxConformance;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * {@code tokc onnx-test DIR...}: runs ONNX backend node-test case folders (or folders of them) through the ONNX
 * importer and the reference interpreter; prints PASS/FAIL per case with the first mismatch, then
 * {@code N passed, M failed}. Exit 1 if any failed.
 */
final class OnnxTestCommand implements Command {
    @Override
    public String name() {
        return "onnx-test";
    }

    @Override
    public String summary() {
        return "run ONNX backend node-test cases through the importer and reference interpreter";
    }

    @Override
    public String usage() {
        return "DIR...";
    }

    @Override
    public Options options() {
        return new Options();
    }

    @Override
    public int run(CommandLine cmd, Io io) throws Exception {
        if (cmd.getArgList().isEmpty()) {
            throw new UsageError("missing DIR (a node-test case folder, or a folder of them)");
        }
        List<OnnxConformance.Result> results = new ArrayList<>();
        for (String arg : cmd.getArgList()) {
            Path dir = Path.of(arg);
            if (!Files.isDirectory(dir)) {
                throw new UserError(dir + ": not a directory (expected a node-test case folder or a folder of them)");
            }
            for (Path c : OnnxConformance.cases(dir)) {
                OnnxConformance.Result r = OnnxConformance.run(c);
                io.out().println(r.line());
                results.add(r);
            }
        }
        io.out().println(OnnxConformance.summary(results));
        return results.stream().allMatch(OnnxConformance.Result::passed) ? 0 : 1;
    }
}
