package dev.tokc.cli;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.commons.cli.CommandLine;

/**
 * {@code tokc bench ENGINE ENGINE... [--rounds N]}: compares engines on a machine whose speed moves between minutes.
 *
 * <p>Why rounds and not one run per engine: on a shared or virtualised machine the memory bandwidth a decode gets
 * moves by 20-25 % from one minute to the next (docs/benchmarks.md, "Every format against bf16"), so the ratio of
 * two runs made minutes apart, or of two best runs, says more about the machine than about the engines. Here each
 * round runs every engine once, in the order given, and each engine's decode tok/s is divided by the first
 * engine's of the same round; the summary gives the median of those per-round ratios with their range.
 *
 * <p>Why a JVM per run: C2 compiles each kernel for the types and shapes it has seen, so an engine benchmarked after
 * another in the same JVM runs code shaped by the first (a kernel that saw two segment classes ran 6-8 % slower).
 * Each run is {@code tokc bench ENGINE} in a child JVM with this JVM's flags and class path, and the figures are read
 * back from its result rows ({@link EngineBench.Row}). Without {@code --bandwidth} every child measures the read
 * bandwidth right before its run, so MBU is against the probe of the same minute.
 */
final class EngineComparison {
    private EngineComparison() {}

    /** The options forwarded to every child run, as given. */
    private static final List<String> FORWARDED = List.of("prompt-len", "gen-len", "batch", "threads", "runs", "bandwidth");

    /** One child run's result rows by batch size, and the weight bytes a decode step reads (its header line). */
    private record RunResult(Map<Integer, EngineBench.Row> rows, double weightGb) {}


    static int run(List<Path> engines, CommandLine cmd, Io io) throws IOException, InterruptedException {
        for (Path e : engines) {
            if (!Files.isRegularFile(e.resolve("manifest.json"))) {
                throw new UserError(e + " is not an engine directory (no manifest.json); compile one with tokc compile MODEL -o ENGINE");
            }
        }
        int rounds = Args.intValue(cmd, "rounds", 5, 1, 10_000);
        List<String> labels = labels(engines);
        List<String> forwarded = new ArrayList<>();
        for (String flag : FORWARDED) {
            if (cmd.hasOption(flag)) {
                forwarded.add("--" + flag);
                forwarded.add(cmd.getOptionValue(flag));
            }
        }
        io.out().printf(Locale.ROOT, "%d engines, %d rounds, each run in its own JVM: tokc bench ENGINE %s%n",
                engines.size(), rounds, String.join(" ", forwarded));
        io.out().flush();
        // results.get(engine)[round]
        List<RunResult[]> results = new ArrayList<>();
        for (int e = 0; e < engines.size(); e++) {
            results.add(new RunResult[rounds]);
        }
        for (int r = 0; r < rounds; r++) {
            for (int e = 0; e < engines.size(); e++) {
                RunResult res = runChild(engines.get(e), forwarded, r + 1);
                results.get(e)[r] = res;
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "round %d/%d %s:", r + 1, rounds,
                        labels.get(e)));
                for (EngineBench.Row row : res.rows().values()) {
                    line.append(String.format(Locale.ROOT, "  batch %d %.2f tok/s (%.1f GB/s, MBU %.0f%%)",
                            row.batch(), row.decodeTokS(), row.gbPerSecond(), row.mbuPercent()));
                }
                io.out().println(line);
                io.out().flush();
            }
        }
        printSummary(engines, labels, results, rounds, io);
        return 0;
    }

    private static void printSummary(List<Path> engines, List<String> labels, List<RunResult[]> results, int rounds,
            Io io) {
        for (int batch : results.get(0)[0].rows().keySet()) {
            io.out().printf(Locale.ROOT, "%nbatch %d, %d round%s; ratio = decode tok/s / %s's in the same round; "
                    + "byte ratio = its weight bytes per step / this engine's%n",
                    batch, rounds, rounds == 1 ? "" : "s", labels.get(0), labels.get(0));
            io.out().printf(Locale.ROOT, "%-28s %10s %10s %28s %28s %10s%n", "engine", "GB/step", "byte ratio",
                    "decode tok/s median (range)", "ratio median (range)", "MBU median");
            for (int e = 0; e < engines.size(); e++) {
                double[] tokS = new double[rounds];
                double[] ratio = new double[rounds];
                double[] mbu = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    EngineBench.Row row = row(results.get(e)[r], batch, engines.get(e));
                    tokS[r] = row.decodeTokS();
                    ratio[r] = row.decodeTokS() / row(results.get(0)[r], batch, engines.get(0)).decodeTokS();
                    mbu[r] = row.mbuPercent();
                }
                // The weights only: the ratio a purely bandwidth-bound decode would reach at short contexts.
                double gb = results.get(e)[0].weightGb();
                io.out().printf(Locale.ROOT, "%-28s %10.3f %9.2fx %28s %28s %9.0f%%%n", labels.get(e), gb,
                        results.get(0)[0].weightGb() / gb,
                        String.format(Locale.ROOT, "%.2f (%.2f-%.2f)", median(tokS), min(tokS), max(tokS)),
                        String.format(Locale.ROOT, "%.2fx (%.2f-%.2f)", median(ratio), min(ratio), max(ratio)),
                        median(mbu));
            }
        }
    }

    private static EngineBench.Row row(RunResult result, int batch, Path engine) {
        EngineBench.Row row = result.rows().get(batch);
        if (row == null) {
            throw new UserError("tokc bench " + engine + " printed no result for batch " + batch);
        }
        return row;
    }

    /** Runs {@code tokc bench ENGINE forwarded...} in a child JVM and reads back its result rows. */
    private static RunResult runChild(Path engine, List<String> forwarded, int round) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Main.class.getName());
        command.add("bench");
        command.add(engine.toString());
        command.addAll(forwarded);
        Process p = new ProcessBuilder(command).start();
        p.getOutputStream().close();
        // Both streams drained at once, so a child that writes much to one cannot block on the other.
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
        String out = readAll(p.getInputStream());
        int code = p.waitFor();
        if (code != 0) {
            String[] lines = err.join().strip().split("\n");
            throw new UserError("tokc bench " + engine + " failed in round " + round + " (exit " + code + "): "
                    + lines[lines.length - 1]);
        }
        Map<Integer, EngineBench.Row> rows = new LinkedHashMap<>();
        out.lines().map(EngineBench.Row::parse).flatMap(Optional::stream).forEach(row -> rows.put(row.batch(), row));
        if (rows.isEmpty()) {
            throw new UserError("tokc bench " + engine + " printed no result rows in round " + round);
        }
        return new RunResult(rows, EngineBench.stepWeightGb(out));
    }

    private static String readAll(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** Each engine's directory name, the part that tells engines apart in a table; the path where names repeat. */
    private static List<String> labels(List<Path> engines) {
        Map<String, Long> counts = new java.util.HashMap<>();
        for (Path e : engines) {
            counts.merge(name(e), 1L, Long::sum);
        }
        return engines.stream().map(e -> counts.get(name(e)) == 1 ? name(e) : e.toString()).toList();
    }

    private static String name(Path engine) {
        Path name = engine.toAbsolutePath().normalize().getFileName();
        return name == null ? engine.toString() : name.toString();
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }

    private static double max(double[] v) {
        return Arrays.stream(v).max().orElse(Double.NaN);
    }
}
