package dev.tokc.cli;

import dev.tokc.runtime.server.MemoryPlan;
import dev.tokc.runtime.server.OpenAiServer;
import dev.tokc.runtime.server.ServeException;
import dev.tokc.runtime.server.ServeOptions;
import dev.tokc.runtime.server.ServingModel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code tokc serve ENGINE [--host 127.0.0.1] [--port 8000] ...}: the OpenAI-compatible server
 * ({@link OpenAiServer}). Prints the memory plan, then serves until SIGTERM or Ctrl-C, on which it stops accepting,
 * lets in-flight requests finish for {@code --shutdown-grace} seconds, cancels the rest and exits 0.
 */
final class ServeCommand implements Command {
    @Override
    public String name() {
        return "serve";
    }

    @Override
    public String summary() {
        return "serve an engine over an OpenAI-compatible HTTP API (continuous batching, /metrics)";
    }

    @Override
    public String usage() {
        return "ENGINE [--host 127.0.0.1] [--port 8000] [--api-key KEY] [--kv-cache-memory 1GiB | --kv-blocks N] "
                + "[--max-num-batched-tokens N] [--max-num-seqs N] [--max-model-len N] [--static-batching] ...";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(opt("host", "ADDR", "address to bind (default 127.0.0.1; 0.0.0.0 for all interfaces)"));
        o.addOption(opt("port", "N", "TCP port (default 8000; 0 picks a free one)"));
        o.addOption(opt("api-key", "KEY", "require 'Authorization: Bearer KEY' on /v1/* (default: none)"));
        o.addOption(opt("served-model-name", "NAME", "the model id clients send (default: the engine directory's name)"));
        o.addOption(opt("kv-cache-memory", "SIZE", "KV cache size, e.g. 2GiB, 512MiB (default 1GiB)"));
        o.addOption(opt("kv-blocks", "N", "KV cache size in blocks, the reserved block 0 included (overrides --kv-cache-memory)"));
        o.addOption(opt("max-num-batched-tokens", "N", "tokens computed per step at most (default "
                + ServeOptions.DEFAULT_MAX_NUM_BATCHED_TOKENS + ")"));
        o.addOption(opt("max-num-seqs", "N", "sequences running at once at most (default " + ServeOptions.DEFAULT_MAX_NUM_SEQS + ")"));
        o.addOption(opt("max-model-len", "N", "prompt + output tokens per request at most (default: the model's context)"));
        o.addOption(opt("max-waiting-requests", "N", "sequences that may wait beyond --max-num-seqs before 429 (default "
                + ServeOptions.DEFAULT_MAX_WAITING_REQUESTS + ")"));
        o.addOption(Option.builder().longOpt("static-batching")
                .desc("wait for a batch, run it to completion, repeat (only to compare with continuous batching)").build());
        o.addOption(opt("static-batch-wait-ms", "MS", "static batching: how long the oldest request waits for a full batch (default 100)"));
        o.addOption(Option.builder().longOpt("no-prefix-caching").desc("do not share KV blocks of equal prompt prefixes").build());
        o.addOption(opt("chat-template", "FILE", "Jinja chat template (or a tokenizer_config.json) replacing the engine's"));
        o.addOption(opt("max-body-bytes", "SIZE", "larger request bodies get 413 (default 4MiB)"));
        o.addOption(opt("shutdown-grace", "SECONDS", "on SIGTERM/Ctrl-C, how long in-flight requests may finish (default 30)"));
        o.addOption(opt("request-timeout", "SECONDS", "cancel a request still generating after this long (504; default: no limit)"));
        o.addOption(opt("threads", "N", "kernel threads (default: available processors)"));
        return o;
    }

    private static Option opt(String name, String arg, String desc) {
        return Option.builder().longOpt(name).hasArg().argName(arg).desc(desc).build();
    }

    @Override
    public int run(CommandLine cmd, Io io) throws Exception {
        Path engine = Args.single(cmd, "ENGINE");
        ServeOptions options = options(cmd);
        ServingModel model;
        try {
            model = ServingModel.open(engine, options, io.err()::println);
        } catch (ServeException e) {
            throw new UserError(e.getMessage(), e);
        }
        OpenAiServer server;
        try {
            server = OpenAiServer.start(model, options, io.err()::println);
        } catch (ServeException e) {
            throw new UserError(e.getMessage(), e);
        }
        CountDownLatch stop = new CountDownLatch(1);
        // SIGTERM and Ctrl-C end the wait below instead of the JVM, so shutdown drains and the exit code is 0.
        for (String sig : new String[] {"TERM", "INT"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(sig), s -> stop.countDown());
            } catch (IllegalArgumentException e) {
                // signal not available on this platform: the default handling stays
            }
        }
        io.err().println("serving '" + model.name() + "' on " + server.url()
                + " (POST /v1/completions, /v1/chat/completions; GET /v1/models, /health, /metrics); Ctrl-C stops");
        stop.await();
        io.err().println("shutting down: finishing in-flight requests (up to " + options.shutdownGrace().toSeconds() + " s)...");
        server.shutdown();
        io.err().println("stopped");
        return 0;
    }

    static ServeOptions options(CommandLine cmd) {
        ServeOptions.Builder b = ServeOptions.builder();
        try {
            if (cmd.hasOption("host")) {
                b.host(cmd.getOptionValue("host"));
            }
            b.port(Args.intValue(cmd, "port", ServeOptions.DEFAULT_PORT, 0, 65535));
            if (cmd.hasOption("api-key")) {
                b.apiKey(cmd.getOptionValue("api-key"));
            }
            if (cmd.hasOption("served-model-name")) {
                b.servedModelName(cmd.getOptionValue("served-model-name"));
            }
            if (cmd.hasOption("kv-cache-memory")) {
                b.kvCacheMemoryBytes(MemoryPlan.parseBytes(cmd.getOptionValue("kv-cache-memory")));
            }
            if (cmd.hasOption("kv-blocks")) {
                b.kvBlocks(Args.intValue(cmd, "kv-blocks", 0, 2, Integer.MAX_VALUE / 2));
            }
            b.maxNumBatchedTokens(Args.intValue(cmd, "max-num-batched-tokens", ServeOptions.DEFAULT_MAX_NUM_BATCHED_TOKENS, 1, 1 << 20));
            b.maxNumSeqs(Args.intValue(cmd, "max-num-seqs", ServeOptions.DEFAULT_MAX_NUM_SEQS, 1, 1 << 16));
            if (cmd.hasOption("max-model-len")) {
                b.maxModelLen(Args.intValue(cmd, "max-model-len", 0, 2, 1 << 24));
            }
            b.maxWaitingRequests(Args.intValue(cmd, "max-waiting-requests", ServeOptions.DEFAULT_MAX_WAITING_REQUESTS, 0, 1 << 24));
            b.staticBatching(cmd.hasOption("static-batching"));
            b.staticBatchWait(Duration.ofMillis(Args.intValue(cmd, "static-batch-wait-ms", 100, 0, 3_600_000)));
            b.prefixCaching(!cmd.hasOption("no-prefix-caching"));
            if (cmd.hasOption("chat-template")) {
                b.chatTemplate(Path.of(cmd.getOptionValue("chat-template")));
            }
            if (cmd.hasOption("max-body-bytes")) {
                b.maxBodyBytes(MemoryPlan.parseBytes(cmd.getOptionValue("max-body-bytes")));
            }
            b.shutdownGrace(Duration.ofSeconds(Args.intValue(cmd, "shutdown-grace", 30, 0, 86_400)));
            if (cmd.hasOption("request-timeout")) {
                double secs;
                try {
                    secs = Double.parseDouble(cmd.getOptionValue("request-timeout"));
                } catch (NumberFormatException e) {
                    throw new UsageError("--request-timeout expects seconds, got '" + cmd.getOptionValue("request-timeout") + "'");
                }
                if (!(secs >= 0 && secs <= 86_400)) {
                    throw new UsageError("--request-timeout must be between 0 and 86400 seconds, got " + secs);
                }
                b.requestTimeout(Duration.ofMillis(Math.round(secs * 1000)));
            }
            b.threads(Args.intValue(cmd, "threads", Runtime.getRuntime().availableProcessors(), 1, 1024));
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new UsageError(e.getMessage());
        }
    }
}
