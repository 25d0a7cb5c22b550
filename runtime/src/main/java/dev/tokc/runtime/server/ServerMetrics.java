package dev.tokc.runtime.server;

import dev.tokc.runtime.sched.EngineMetrics;
import dev.tokc.runtime.sched.GenerationLoop;
import dev.tokc.runtime.sched.LatencyHistogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * {@code /metrics}: the serving counters of DESIGN.md in Prometheus text format, through the Prometheus Java
 * client's model and text writer. Every scrape takes one {@link EngineMetrics} snapshot from the loop, so the
 * numbers of one scrape agree with each other.
 *
 * <pre>
 *   tokc_prefill_tokens_per_second, tokc_decode_tokens_per_second   gauges over the last ~10 s
 *   tokc_time_to_first_token_seconds, tokc_inter_token_latency_seconds, tokc_e2e_request_latency_seconds
 *   tokc_queue_depth, tokc_num_requests_running, tokc_num_requests_waiting
 *   tokc_kv_blocks_used, tokc_kv_blocks_free, tokc_kv_blocks_total, tokc_prefix_cache_hit_rate
 *   tokc_preemptions_total, tokc_prefill_tokens_total, tokc_decode_tokens_total, ... (counters)
 *   tokc_http_responses_total{status}
 * </pre>
 *
 * The token rates are gauges (as the design asks) computed from counter samples that {@link #sample()} takes
 * about once a second; the counters are exported too, for Prometheus's own {@code rate()}.
 */
final class ServerMetrics implements MultiCollector {
    /** Rate window: samples kept (one a second). */
    private static final int WINDOW = 11;

    private record Sample(long nanos, long prefill, long decode) {}

    private final GenerationLoop loop;
    private final LongSupplier clock;
    private final ArrayDeque<Sample> samples = new ArrayDeque<>();
    private final Map<Integer, LongAdder> responses = new ConcurrentHashMap<>();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();

    ServerMetrics(GenerationLoop loop, LongSupplier clock) {
        this.loop = loop;
        this.clock = clock;
    }

    /** Counts one HTTP response by status. */
    void countResponse(int status) {
        responses.computeIfAbsent(status, s -> new LongAdder()).increment();
    }

    /** Records the token counters now, for the rate gauges. */
    synchronized void sample() {
        EngineMetrics m = loop.metrics();
        samples.addLast(new Sample(clock.getAsLong(), m.prefillTokens(), m.decodeTokens()));
        while (samples.size() > WINDOW) {
            samples.removeFirst();
        }
    }

    /** Tokens per second over the window: {prefill, decode}; zeros before two samples. */
    synchronized double[] rates() {
        if (samples.size() < 2) {
            return new double[2];
        }
        Sample a = samples.peekFirst();
        Sample b = samples.peekLast();
        double secs = (b.nanos - a.nanos) / 1e9;
        return secs <= 0 ? new double[2] : new double[] {(b.prefill - a.prefill) / secs, (b.decode - a.decode) / secs};
    }

    String contentType() {
        return writer.getContentType();
    }

    byte[] scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            writer.write(out, collect());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    @Override
    public MetricSnapshots collect() {
        EngineMetrics m = loop.metrics();
        double[] tps = rates();
        List<MetricSnapshot> s = new ArrayList<>();
        s.add(gauge("tokc_prefill_tokens_per_second", "Prompt tokens computed per second over the last ~10 s", tps[0]));
        s.add(gauge("tokc_decode_tokens_per_second", "Output tokens computed per second over the last ~10 s", tps[1]));
        s.add(histogram("tokc_time_to_first_token_seconds", "Submission to first token", m.ttft()));
        s.add(histogram("tokc_inter_token_latency_seconds", "Time between consecutive tokens of a request", m.interTokenLatency()));
        s.add(histogram("tokc_e2e_request_latency_seconds", "Submission to last token", m.e2eLatency()));
        s.add(gauge("tokc_queue_depth", "Requests submitted and not yet admitted", m.queueDepth()));
        s.add(gauge("tokc_num_requests_running", "Sequences holding KV blocks", m.runningSequences()));
        s.add(gauge("tokc_num_requests_waiting", "Sequences waiting, preempted ones included", m.waitingSequences()));
        s.add(gauge("tokc_kv_blocks_used", "KV blocks referenced by a sequence", m.kvBlocksUsed()));
        s.add(gauge("tokc_kv_blocks_free", "KV blocks free (cached prefixes included)", m.kvBlocksFree()));
        s.add(gauge("tokc_kv_blocks_total", "Usable KV blocks (the null block excluded)", m.kv().totalBlocks()));
        s.add(gauge("tokc_kv_blocks_cached", "KV blocks holding a reusable prefix", m.kv().cachedBlocks()));
        s.add(gauge("tokc_prefix_cache_hit_rate", "Prompt tokens served from the prefix cache / prompt tokens looked up",
                m.prefixCacheHitRate()));
        s.add(counter("tokc_preemptions", "Sequences preempted (blocks freed, recomputed later)", m.preemptions()));
        s.add(counter("tokc_prefill_tokens", "Prompt tokens computed", m.prefillTokens()));
        s.add(counter("tokc_decode_tokens", "Output tokens computed", m.decodeTokens()));
        s.add(counter("tokc_recomputed_tokens", "Tokens computed again after preemptions", m.recomputedTokens()));
        s.add(counter("tokc_generated_tokens", "Tokens sampled and streamed", m.generatedTokens()));
        s.add(counter("tokc_steps", "Model steps run", m.steps()));
        s.add(counter("tokc_requests_finished", "Sequences that ended, cancelled ones included", m.requestsFinished()));
        s.add(counter("tokc_requests_cancelled", "Sequences cancelled (client gone, shutdown)", m.requestsCancelled()));
        s.add(counter("tokc_prefix_cache_queried_tokens", "Prompt tokens looked up in the prefix cache", m.kv().queriedTokens()));
        s.add(counter("tokc_prefix_cache_hit_tokens", "Prompt tokens whose KV came from the prefix cache", m.kv().hitTokens()));
        CounterSnapshot.Builder http = CounterSnapshot.builder().name("tokc_http_responses")
                .help("HTTP responses by status");
        new TreeMap<>(responses).forEach((status, n) -> http.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder()
                .labels(Labels.of("status", String.valueOf(status))).value(n.sum()).build()));
        s.add(http.build());
        return new MetricSnapshots(s);
    }

    private static GaugeSnapshot gauge(String name, String help, double v) {
        return GaugeSnapshot.builder().name(name).help(help)
                .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(v).build()).build();
    }

    /** {@code name} without {@code _total}: the writer appends it. */
    private static CounterSnapshot counter(String name, String help, double v) {
        return CounterSnapshot.builder().name(name).help(help)
                .dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(v).build()).build();
    }

    private static HistogramSnapshot histogram(String name, String help, LatencyHistogram.Snapshot h) {
        double[] bounds = new double[h.bounds().length + 1];
        System.arraycopy(h.bounds(), 0, bounds, 0, h.bounds().length);
        bounds[bounds.length - 1] = Double.POSITIVE_INFINITY;
        return HistogramSnapshot.builder().name(name).help(help)
                .dataPoint(HistogramSnapshot.HistogramDataPointSnapshot.builder()
                        .classicHistogramBuckets(ClassicHistogramBuckets.of(bounds, h.bucketCounts()))
                        .sum(h.sum()).build())
                .build();
    }
}
