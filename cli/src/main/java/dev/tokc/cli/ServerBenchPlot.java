package dev.tokc.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Stroke;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.List;
import java.util.function.ToDoubleFunction;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.LogarithmicAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The chart of {@code tokc bench --server --plot}: concurrency on a log-2 axis; above, output tokens/s; below, on a
 * log axis, TTFT p50 (solid), TTFT p99 (dashed) and ITL p50 (dotted) in ms. One colour per run, so {@code --compare}
 * puts e.g. continuous and static batching side by side. Requests/s stays in the table: drawn here it would only
 * retrace tokens/s divided by the mean output length.
 */
final class ServerBenchPlot {
    private ServerBenchPlot() {}

    private static final Color[] COLOURS = {
        new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e), new Color(0x9467bd),
        new Color(0x8c564b)};
    private static final Stroke SOLID = new BasicStroke(2f);
    private static final Stroke DASHED = new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
            new float[] {8f, 5f}, 0f);
    private static final Stroke DOTTED = new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 10f,
            new float[] {2f, 4f}, 0f);

    static void write(Path png, List<ServerBenchRun> runs) {
        // No display needed (CI, servers): must be set before the first AWT class initialises.
        System.setProperty("java.awt.headless", "true");
        try {
            Path parent = png.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            ChartUtils.saveChartAsPNG(png.toFile(), chart(runs), 1000, 800);
        } catch (IOException e) {
            throw new UserError("cannot write --plot " + png + ": " + e.getMessage());
        } catch (RuntimeException | LinkageError e) {
            // e.g. a JDK without fonts or AWT libraries: say what failed instead of a stack trace
            throw new UserError("cannot draw --plot " + png + " (" + e.getClass().getSimpleName() + ": "
                    + e.getMessage() + "); the results above are complete");
        }
    }

    static JFreeChart chart(List<ServerBenchRun> runs) {
        LogAxis conc = new LogAxis("concurrency (requests in flight)");
        conc.setBase(2);
        conc.setTickUnit(new NumberTickUnit(1));
        conc.setNumberFormatOverride(new DecimalFormat("0"));
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(conc);
        plot.setGap(12);

        XYPlot throughput = new XYPlot();
        NumberAxis tokPerS = new NumberAxis("output tokens/s");
        tokPerS.setAutoRangeIncludesZero(true);
        throughput.setRangeAxis(tokPerS);
        throughput.setDataset(series(runs, "out tok/s", ServerBenchLevel::outputTokensPerS));
        throughput.setRenderer(renderer(runs.size(), SOLID));
        plot.add(throughput, 1);

        // Log scale: TTFT p99 under load can be a thousand times ITL p50. This axis labels 1-2-5 style steps.
        LogarithmicAxis ms = new LogarithmicAxis("latency, ms (log scale)");
        ms.setStrictValuesFlag(false);
        ms.setAutoRangeNextLogFlag(false);
        XYPlot latency = new XYPlot();
        latency.setRangeAxis(ms);
        latency.setDataset(0, series(runs, "TTFT p50", l -> l.ttftMs().p50()));
        latency.setDataset(1, series(runs, "TTFT p99", l -> l.ttftMs().p99()));
        latency.setDataset(2, series(runs, "ITL p50", l -> l.itlMs().p50()));
        latency.setRenderer(0, renderer(runs.size(), SOLID));
        latency.setRenderer(1, renderer(runs.size(), DASHED));
        latency.setRenderer(2, renderer(runs.size(), DOTTED));
        plot.add(latency, 1);

        ServerBenchRun last = runs.get(runs.size() - 1);
        boolean oneMode = runs.stream().allMatch(r -> r.mode().equals(last.mode()));
        String title = "tokc bench --server: " + last.model() + ", prompt " + last.promptLen() + ", gen "
                + last.genLen() + (oneMode ? ", " + last.mode() : "");
        JFreeChart chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 14), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    /** One series per run of {@code metric} against concurrency; points that a log axis cannot show are left out. */
    private static XYSeriesCollection series(List<ServerBenchRun> runs, String metric,
            ToDoubleFunction<ServerBenchLevel> value) {
        XYSeriesCollection c = new XYSeriesCollection();
        for (ServerBenchRun run : runs) {
            XYSeries s = new XYSeries(run.label() + ": " + metric, true, true);
            for (ServerBenchLevel l : run.levels()) {
                double v = value.applyAsDouble(l);
                if (v > 0 && Double.isFinite(v)) {
                    s.add(l.concurrency(), v);
                }
            }
            c.addSeries(s);
        }
        return c;
    }

    private static XYLineAndShapeRenderer renderer(int runs, Stroke stroke) {
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        for (int i = 0; i < runs; i++) {
            r.setSeriesPaint(i, COLOURS[i % COLOURS.length]);
            r.setSeriesStroke(i, stroke);
        }
        return r;
    }
}
