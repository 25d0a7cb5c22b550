package dev.tokc.runtime.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Everything {@code tokc serve} is told, as one explicit record (nothing below reads flags or the environment).
 * Build it with {@link #builder()}; the defaults are the CLI's.
 *
 * @param host                 address to bind ({@code 127.0.0.1} unless told otherwise)
 * @param port                 TCP port; 0 picks a free one (tests)
 * @param apiKey               when present, every {@code /v1/*} request needs {@code Authorization: Bearer KEY}
 * @param servedModelName      the model id of {@code /v1/models} and the {@code model} field (default: the
 *                             engine directory's name)
 * @param kvBlocks             KV blocks in the pool, the null block included ({@code --kv-blocks}); wins over
 *                             {@code kvCacheMemoryBytes}
 * @param kvCacheMemoryBytes   bytes of KV cache ({@code --kv-cache-memory}), divided into whole blocks
 * @param maxNumBatchedTokens  tokens computed per step at most
 * @param maxNumSeqs           sequences running at once at most
 * @param maxModelLen          prompt plus output per request at most (default: the model's context)
 * @param staticBatching       run batches to completion before admitting more (for comparisons only)
 * @param staticBatchWait      with static batching, how long the oldest request waits for a batch to fill
 * @param prefixCaching        share full KV blocks of equal prefixes between requests
 * @param threads              kernel threads
 * @param chatTemplate         a Jinja chat template file replacing the engine's ({@code --chat-template})
 * @param maxBodyBytes         larger request bodies are refused with 413
 * @param maxWaitingRequests   sequences allowed to wait beyond {@code maxNumSeqs}; more are refused with 429
 * @param shutdownGrace        on shutdown, how long in-flight requests may still finish before they are cancelled
 * @param requestTimeout       a request still generating after this long is cancelled (zero: no limit); this is
 *                             also what bounds a non-streamed request whose client left, which HTTP cannot tell
 */
public record ServeOptions(String host, int port, Optional<String> apiKey, Optional<String> servedModelName,
                           OptionalInt kvBlocks, long kvCacheMemoryBytes, int maxNumBatchedTokens, int maxNumSeqs,
                           OptionalInt maxModelLen, boolean staticBatching, Duration staticBatchWait,
                           boolean prefixCaching, int threads, Optional<Path> chatTemplate, long maxBodyBytes,
                           int maxWaitingRequests, Duration shutdownGrace, Duration requestTimeout) {

    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8000;
    public static final long DEFAULT_KV_CACHE_MEMORY = 1L << 30;
    public static final int DEFAULT_MAX_NUM_BATCHED_TOKENS = 1024;
    public static final int DEFAULT_MAX_NUM_SEQS = 64;
    public static final long DEFAULT_MAX_BODY_BYTES = 4L << 20;
    public static final int DEFAULT_MAX_WAITING_REQUESTS = 1024;

    public ServeOptions {
        Objects.requireNonNull(host, "host");
        require(port >= 0 && port <= 65535, "port must be in [0, 65535], got " + port);
        apiKey.ifPresent(k -> require(!k.isEmpty(), "the API key must not be empty"));
        kvBlocks.ifPresent(b -> require(b >= 2, "--kv-blocks must be >= 2 (block 0 is the null block), got " + b));
        require(kvCacheMemoryBytes > 0, "--kv-cache-memory must be > 0, got " + kvCacheMemoryBytes);
        require(maxNumBatchedTokens >= 1, "--max-num-batched-tokens must be >= 1, got " + maxNumBatchedTokens);
        require(maxNumSeqs >= 1, "--max-num-seqs must be >= 1, got " + maxNumSeqs);
        maxModelLen.ifPresent(m -> require(m >= 2, "--max-model-len must be >= 2, got " + m));
        require(!staticBatchWait.isNegative(), "the static batch wait must be >= 0");
        require(threads >= 1, "threads must be >= 1, got " + threads);
        require(maxBodyBytes >= 1024, "the body limit must be >= 1024 bytes, got " + maxBodyBytes);
        require(maxWaitingRequests >= 0, "--max-waiting-requests must be >= 0, got " + maxWaitingRequests);
        require(!shutdownGrace.isNegative(), "the shutdown grace must be >= 0");
        require(!requestTimeout.isNegative(), "the request timeout must be >= 0");
    }

    public static Builder builder() {
        return new Builder();
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Mutable builder with the CLI's defaults. */
    public static final class Builder {
        private String host = DEFAULT_HOST;
        private int port = DEFAULT_PORT;
        private Optional<String> apiKey = Optional.empty();
        private Optional<String> servedModelName = Optional.empty();
        private OptionalInt kvBlocks = OptionalInt.empty();
        private long kvCacheMemoryBytes = DEFAULT_KV_CACHE_MEMORY;
        private int maxNumBatchedTokens = DEFAULT_MAX_NUM_BATCHED_TOKENS;
        private int maxNumSeqs = DEFAULT_MAX_NUM_SEQS;
        private OptionalInt maxModelLen = OptionalInt.empty();
        private boolean staticBatching;
        private Duration staticBatchWait = Duration.ofMillis(100);
        private boolean prefixCaching = true;
        private int threads = Runtime.getRuntime().availableProcessors();
        private Optional<Path> chatTemplate = Optional.empty();
        private long maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
        private int maxWaitingRequests = DEFAULT_MAX_WAITING_REQUESTS;
        private Duration shutdownGrace = Duration.ofSeconds(30);
        private Duration requestTimeout = Duration.ZERO;

        public Builder host(String v) { host = v; return this; }
        public Builder port(int v) { port = v; return this; }
        public Builder apiKey(String v) { apiKey = Optional.ofNullable(v); return this; }
        public Builder servedModelName(String v) { servedModelName = Optional.ofNullable(v); return this; }
        public Builder kvBlocks(int v) { kvBlocks = OptionalInt.of(v); return this; }
        public Builder kvCacheMemoryBytes(long v) { kvCacheMemoryBytes = v; return this; }
        public Builder maxNumBatchedTokens(int v) { maxNumBatchedTokens = v; return this; }
        public Builder maxNumSeqs(int v) { maxNumSeqs = v; return this; }
        public Builder maxModelLen(int v) { maxModelLen = OptionalInt.of(v); return this; }
        public Builder staticBatching(boolean v) { staticBatching = v; return this; }
        public Builder staticBatchWait(Duration v) { staticBatchWait = v; return this; }
        public Builder prefixCaching(boolean v) { prefixCaching = v; return this; }
        public Builder threads(int v) { threads = v; return this; }
        public Builder chatTemplate(Path v) { chatTemplate = Optional.ofNullable(v); return this; }
        public Builder maxBodyBytes(long v) { maxBodyBytes = v; return this; }
        public Builder maxWaitingRequests(int v) { maxWaitingRequests = v; return this; }
        public Builder shutdownGrace(Duration v) { shutdownGrace = v; return this; }
        public Builder requestTimeout(Duration v) { requestTimeout = v; return this; }

        public ServeOptions build() {
            return new ServeOptions(host, port, apiKey, servedModelName, kvBlocks, kvCacheMemoryBytes,
                    maxNumBatchedTokens, maxNumSeqs, maxModelLen, staticBatching, staticBatchWait, prefixCaching,
                    threads, chatTemplate, maxBodyBytes, maxWaitingRequests, shutdownGrace, requestTimeout);
        }
    }
}
