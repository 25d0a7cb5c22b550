package dev.tokc.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokc.runtime.artifact.Engine;
import dev.tokc.runtime.artifact.KvCacheInfo;
import dev.tokc.runtime.exec.JvmExecutor;
import dev.tokc.runtime.exec.ProgramLoader;
import dev.tokc.runtime.exec.ProgramStepExecutor;
import dev.tokc.runtime.exec.StepProgramRunner;
import dev.tokc.runtime.sched.GenerationLoop;
import dev.tokc.runtime.sched.LoopOptions;
import dev.tokc.runtime.sched.SchedulerConfig;
import dev.tokc.runtime.tokenizer.ChatTemplate;
import dev.tokc.runtime.tokenizer.Tokenizer;
import dev.tokc.runtime.tokenizer.TokenizerException;
import dev.tokc.runtime.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * One engine ready to serve: the compiled step program behind a {@link ProgramStepExecutor}, the
 * {@link GenerationLoop} (scheduler + block manager of the same geometry) on its own thread, the tokenizer, the chat
 * template and the end-of-sequence ids. {@link #open} decides the {@link MemoryPlan} before allocating the KV pool
 * and refuses a plan that cannot work.
 *
 * <p>Chat template: {@code --chat-template FILE} when given, else the engine's {@code tokenizer_config.json}
 * template, else {@link #FALLBACK_CHAT_TEMPLATE} (plain {@code role: content} lines; engines of base models such as
 * shakespeare-llama ship none).
 */
public final class ServingModel implements AutoCloseable {

    /**
     * The template of engines without one: a BOS, one {@code role: content} line per message, then
     * {@code assistant:} when a generation prompt is asked for.
     */
    public static final String FALLBACK_CHAT_TEMPLATE = "{{ bos_token if bos_token else '' }}"
            + "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
            + "{% if add_generation_prompt %}assistant:{% endif %}";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String name;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final String chatTemplateSource;
    private final Set<Integer> eosTokenIds;
    private final int maxModelLen;
    private final MemoryPlan plan;
    private final ProgramStepExecutor executor;
    private final GenerationLoop loop;
    private final long created = System.currentTimeMillis() / 1000;

    private ServingModel(String name, Tokenizer tokenizer, ChatTemplate chatTemplate, String chatTemplateSource,
                         Set<Integer> eos, int maxModelLen, MemoryPlan plan, ProgramStepExecutor executor,
                         GenerationLoop loop) {
        this.name = name;
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
        this.chatTemplateSource = chatTemplateSource;
        this.eosTokenIds = eos;
        this.maxModelLen = maxModelLen;
        this.plan = plan;
        this.executor = executor;
        this.loop = loop;
    }

    /**
     * Opens the engine at {@code dir}, plans memory, allocates the KV pool, runs a warm-up step and starts the
     * generation loop; progress lines (the memory plan among them) go to {@code log}.
     *
     * @throws ServeException when anything about the engine or the plan keeps it from serving
     */
    public static ServingModel open(Path dir, ServeOptions options, Consumer<String> log) {
        if (!Files.isRegularFile(dir.resolve("manifest.json"))) {
            throw new ServeException(dir + " is not an engine directory (no manifest.json); compile one with tokc compile MODEL -o ENGINE");
        }
        Engine engine;
        try {
            engine = Engine.open(dir);
        } catch (IOException | RuntimeException e) {
            throw new ServeException("cannot open engine " + dir + ": " + e.getMessage(), e);
        }
        StepProgramRunner runner = null;
        try {
            if (!ProgramLoader.info(engine).graph().equals("step")) {
                throw new ServeException(dir + " holds a full-forward program; tokc serve needs a step-program engine "
                        + "(compile it again with the default pipeline)");
            }
            String name = options.servedModelName().orElse(dir.toAbsolutePath().normalize().getFileName().toString());
            Tokenizer tokenizer;
            try {
                tokenizer = Tokenizers.load(dir);
            } catch (TokenizerException e) {
                throw new ServeException("engine " + dir + " has no usable tokenizer: " + e.getMessage(), e);
            }
            ChatTemplate chat;
            String chatSource;
            String bos = tokenizer.bosId() >= 0 ? tokenizer.idToToken(tokenizer.bosId()) : null;
            String eosText = tokenizer.eosId() >= 0 ? tokenizer.idToToken(tokenizer.eosId()) : null;
            if (options.chatTemplate().isPresent()) {
                Path p = options.chatTemplate().get();
                chat = loadTemplateFile(p, bos, eosText);
                chatSource = p.toString();
            } else if (hasChatTemplate(dir)) {
                chat = ChatTemplate.load(dir);
                chatSource = "the engine's tokenizer_config.json";
            } else {
                chat = new ChatTemplate(FALLBACK_CHAT_TEMPLATE, bos, eosText);
                chatSource = "none in the engine: plain 'role: content' lines";
            }
            JsonNode config = engine.manifest().modelConfig();
            int modelLen = contextLength(config);
            int maxModelLen = options.maxModelLen().orElse(modelLen);
            if (maxModelLen > modelLen) {
                throw new ServeException("--max-model-len " + maxModelLen + " exceeds the model's context of " + modelLen);
            }
            Set<Integer> eos = eosIds(tokenizer, config, dir);

            KvCacheInfo kv = engine.manifest().kvCache();
            long perBlock = StepProgramRunner.kvBytesPerBlock(kv);
            long blocks = MemoryPlan.requestedBlocks(options, perBlock);
            long weights = 0;
            for (String f : engine.manifest().parallel().weightFiles()) {
                weights += engine.weightsFile(f).byteSize();
            }
            MemoryPlan plan = new MemoryPlan(weights, 0, blocks, perBlock, kv.blockSize(), maxModelLen,
                    MemoryPlan.availableMemory());
            if (plan.problem().isPresent()) {
                throw new ServeException("cannot serve " + dir + ": " + plan.problem().get());
            }
            try {
                runner = StepProgramRunner.open(engine, options.threads(), JvmExecutor.KernelChoice.VECTOR, (int) blocks);
            } catch (OutOfMemoryError e) {
                throw new ServeException("cannot allocate the KV pool of " + MemoryPlan.bytes(plan.kvBytes())
                        + ": " + e.getMessage() + "; lower --kv-cache-memory / --kv-blocks", e);
            }
            ProgramStepExecutor executor = new ProgramStepExecutor(runner);
            executor.warmUp(options.maxNumBatchedTokens(), maxModelLen);
            plan = plan.withActivationBytes(runner.activationBytes());
            log.accept(plan.describe());
            log.accept("chat template: " + chatSource);

            SchedulerConfig sc = SchedulerConfig.of(options.maxNumBatchedTokens(), options.maxNumSeqs());
            LoopOptions lo = LoopOptions.continuous(sc, eos, maxModelLen);
            if (options.staticBatching()) {
                lo = lo.withStaticBatching(options.maxNumSeqs(), options.staticBatchWait());
                log.accept("static batching: batches of up to " + options.maxNumSeqs() + " run to completion "
                        + "(waiting up to " + options.staticBatchWait().toMillis() + " ms for a batch to fill)");
            }
            GenerationLoop loop = new GenerationLoop(executor, executor.newBlockManager(options.prefixCaching()), lo);
            loop.start();
            return new ServingModel(name, tokenizer, chat, chatSource, eos, maxModelLen, plan, executor, loop);
        } catch (ServeException e) {
            closeQuietly(runner, engine);
            throw e;
        } catch (IOException | RuntimeException e) {
            closeQuietly(runner, engine);
            throw new ServeException("cannot serve " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void closeQuietly(StepProgramRunner runner, Engine engine) {
        if (runner != null) {
            runner.close();   // closes the engine too
        } else {
            engine.close();
        }
    }

    private static boolean hasChatTemplate(Path dir) throws IOException {
        Path config = dir.resolve("tokenizer_config.json");
        if (Files.isRegularFile(dir.resolve("chat_template.jinja"))) {
            return true;
        }
        if (!Files.isRegularFile(config)) {
            return false;
        }
        JsonNode t = JSON.readTree(config.toFile()).get("chat_template");
        return t != null && !t.isNull();
    }

    /** A {@code tokenizer_config.json} (its template) or a raw Jinja file. */
    private static ChatTemplate loadTemplateFile(Path p, String bos, String eos) {
        if (!Files.isRegularFile(p)) {
            throw new ServeException("--chat-template " + p + ": file not found");
        }
        if (p.getFileName().toString().endsWith(".json")) {
            try {
                return ChatTemplate.load(p);
            } catch (TokenizerException e) {
                throw new ServeException("--chat-template " + p + ": " + e.getMessage(), e);
            }
        }
        try {
            return new ChatTemplate(Files.readString(p), bos, eos);
        } catch (IOException e) {
            throw new ServeException("--chat-template " + p + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** The model's context length from its config (the names Llama/Qwen/Mistral and GPT-2 use). */
    static int contextLength(JsonNode config) {
        for (String key : new String[] {"max_position_embeddings", "n_positions", "max_sequence_length", "n_ctx"}) {
            JsonNode v = config.get(key);
            if (v != null && v.canConvertToInt() && v.asInt() >= 2) {
                return v.asInt();
            }
        }
        return 2048;
    }

    /** EOS ids: the tokenizer's, the config's and generation_config.json's (an id or a list of ids). */
    static Set<Integer> eosIds(Tokenizer tokenizer, JsonNode config, Path dir) throws IOException {
        Set<Integer> eos = new TreeSet<>();
        if (tokenizer.eosId() >= 0) {
            eos.add(tokenizer.eosId());
        }
        addIds(eos, config.get("eos_token_id"));
        Path gen = dir.resolve("generation_config.json");
        if (Files.isRegularFile(gen)) {
            addIds(eos, JSON.readTree(gen.toFile()).get("eos_token_id"));
        }
        eos.removeIf(id -> id < 0 || id >= tokenizer.vocabSize());
        return Set.copyOf(eos);
    }

    private static void addIds(Set<Integer> into, JsonNode v) {
        if (v == null) {
            return;
        }
        if (v.isArray()) {
            v.forEach(e -> addIds(into, e));
        } else if (v.canConvertToInt()) {
            into.add(v.asInt());
        }
    }

    public String name() {
        return name;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    public String chatTemplateSource() {
        return chatTemplateSource;
    }

    public Set<Integer> eosTokenIds() {
        return eosTokenIds;
    }

    public int maxModelLen() {
        return maxModelLen;
    }

    public int vocabSize() {
        return executor.vocabSize();
    }

    public MemoryPlan plan() {
        return plan;
    }

    public GenerationLoop loop() {
        return loop;
    }

    /** Seconds since the epoch when the model was loaded ({@code created} in {@code /v1/models}). */
    public long created() {
        return created;
    }

    /**
     * Stops the loop (in-flight requests get up to {@code grace}, then are cancelled) and frees the engine.
     */
    public void shutdown(Duration grace) throws InterruptedException {
        try {
            loop.shutdown(grace);
        } finally {
            executor.close();
        }
    }

    @Override
    public void close() {
        try {
            shutdown(Duration.ZERO);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
