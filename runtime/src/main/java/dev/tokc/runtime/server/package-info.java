/**
 * {@code tokc serve}: an OpenAI-compatible HTTP server over the {@link dev.tokc.runtime.sched.GenerationLoop}
 * (continuous batching over the paged KV cache), with Prometheus metrics, an explicit memory plan and graceful
 * shutdown. It lives in the runtime because a server host needs only the runtime and the engine artifact.
 *
 * <pre>
 *   HTTP (Helidon, one virtual thread per request)
 *     OpenAiServer: auth, body limit, RequestParser -> ParsedRequest, 429 admission
 *       GenerationJob: one loop request per choice, events merged  --submit/cancel-->  GenerationLoop (own thread)
 *       ChoiceWriter: OpenAI JSON / SSE chunks                                           | StepBatch
 *     ServerMetrics: /metrics from one EngineMetrics snapshot                           ProgramStepExecutor
 *   ServingModel: engine + KV pool (MemoryPlan) + tokenizer + chat template + loop        (compiled step program)
 * </pre>
 *
 * <p>Why Helidon SE's web server (4.5): it is built on virtual threads, so a request handler is plain blocking
 * code (take the next token event, write an SSE chunk, flush) with no callback or reactive layer, and a thousand
 * waiting streams cost a thousand virtual threads, not platform threads; it needs no servlet container and no
 * Kotlin runtime (Javalin 7 brings Jetty and kotlin-stdlib), and it is maintained by Oracle with regular releases.
 * The Prometheus text comes from the Prometheus Java client (metrics model + text-format writer), fed from one
 * consistent snapshot per scrape rather than from registered meters, because the counters live in the loop.
 */
package dev.tokc.runtime.server;
