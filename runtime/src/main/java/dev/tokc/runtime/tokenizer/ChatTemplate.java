package dev.tokc.runtime.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jinjava.javax.el.CompositeELResolver;

/**
 * A Hugging Face chat template (Jinja) rendered with jinjava, turning chat messages into the prompt text.
 *
 * <p>The variables are those transformers' {@code apply_chat_template} provides: {@code messages} (maps with
 * {@code role}, {@code content} and whatever else the caller puts in, e.g. {@code tool_calls}),
 * {@code add_generation_prompt}, {@code bos_token}, {@code eos_token} (when the config names them), plus any extra
 * variables ({@code tools}, {@code enable_thinking}, ...). Encode the rendered prompt with
 * {@code tokenizer.encode(prompt, false)}: templates write the BOS themselves, as transformers assumes.
 *
 * <p>jinjava is configured to behave like the Jinja environment transformers uses: {@code trim_blocks},
 * {@code lstrip_blocks}, the template's own final newline dropped, no re-rendering of Jinja
 * syntax inside values, and jinjava's "legacy overrides" switched to the Jinja behaviour (natural operator
 * precedence, so {@code a + b | trim} trims only {@code b}; backslash escapes in string literals; iteration over
 * map keys). Small extensions supply what Jinja-in-transformers has and jinjava lacks or spells differently
 * (documented in place): {@code raise_exception(msg)}, {@code strftime_now(fmt)}, a {@code tojson} filter with
 * Python's {@code json.dumps} spacing, Python's string methods ({@link PythonStringMethods}: {@code startswith},
 * {@code split}, {@code lstrip}, ...), and two source rewrites for syntax jinjava parses differently:
 * {@code name[::-1]} becomes {@code (name|reverse)}, and the keyword arguments of {@code namespace(...)} are
 * parenthesized ({@link JinjaSource}). Loop controls ({@code break}, {@code continue}),
 * {@code namespace()}, slices like {@code messages[1:]} and negative list indexes are jinjava built-ins.
 *
 * <p>Known differences that remain (none used by the supported models' templates): printed booleans read
 * {@code true}/{@code false} and a printed None is empty (Jinja: {@code True}/{@code False}/{@code None}); string
 * repetition ({@code '-' * 3}) and negative indexes into strings are not supported; the source rewrites would also
 * apply to a literal string that happens to contain {@code x[::-1]} or {@code namespace(}.
 *
 * <p>Instances are immutable and may render from several threads.
 */
public final class ChatTemplate {
    private static final Jinjava JINJAVA = createJinjava();

    private final String source;
    private final String bosToken;
    private final String eosToken;

    public ChatTemplate(String source, String bosToken, String eosToken) {
        this.source = JinjaSource.adapt(source);
        this.bosToken = bosToken;
        this.eosToken = eosToken;
    }

    /**
     * The default chat template of a model: {@code path} is a {@code tokenizer_config.json} or a directory holding
     * one (a {@code chat_template.jinja} beside it is used when the config has no {@code chat_template}).
     */
    public static ChatTemplate load(Path path) {
        return load(path, "default");
    }

    /** Like {@link #load(Path)}, choosing a named template when the config lists several (e.g. "tool_use"). */
    public static ChatTemplate load(Path path, String name) {
        Path config = Files.isDirectory(path) ? path.resolve("tokenizer_config.json") : path;
        if (!Files.isRegularFile(config)) {
            throw TokenizerException.inFile(config, "file not found (expected the model's tokenizer_config.json)");
        }
        JsonNode root = TokenizerJsonLoader.readJson(config);
        String bos = TokenizerJsonLoader.tokenName(root.get("bos_token"));
        String eos = TokenizerJsonLoader.tokenName(root.get("eos_token"));
        JsonNode template = root.get("chat_template");
        if (template == null || template.isNull()) {
            Path jinja = config.resolveSibling("chat_template.jinja");
            if (Files.isRegularFile(jinja)) {
                try {
                    return new ChatTemplate(Files.readString(jinja, StandardCharsets.UTF_8), bos, eos);
                } catch (IOException e) {
                    throw TokenizerException.inFile(jinja, "cannot read: " + e.getMessage(), e);
                }
            }
            throw TokenizerException.inFile(config, "no \"chat_template\" entry and no chat_template.jinja beside it");
        }
        if (template.isTextual()) {
            return new ChatTemplate(template.asText(), bos, eos);
        }
        if (template.isArray()) {
            // The list form: [{"name": "default", "template": "..."}, {"name": "tool_use", ...}].
            StringBuilder names = new StringBuilder();
            for (JsonNode entry : template) {
                String entryName = entry.path("name").asText();
                if (entryName.equals(name) && entry.path("template").isTextual()) {
                    return new ChatTemplate(entry.get("template").asText(), bos, eos);
                }
                names.append(names.isEmpty() ? "" : ", ").append(entryName);
            }
            throw TokenizerException.inFile(config, "no chat template named '" + name + "' (it has: " + names + ")");
        }
        throw TokenizerException.inFile(config, "\"chat_template\" must be a string or a list of {name, template}");
    }

    /** Renders messages (each a map with at least {@code role} and {@code content}). */
    public String render(List<? extends Map<String, ?>> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /** Renders with extra template variables, e.g. {@code tools} or {@code enable_thinking}. */
    public String render(List<? extends Map<String, ?>> messages, boolean addGenerationPrompt, Map<String, ?> extra) {
        Map<String, Object> bindings = new HashMap<>(extra);
        bindings.put("messages", messages.stream().map(m -> (Object) new LinkedHashMap<>(m)).toList());
        bindings.put("add_generation_prompt", addGenerationPrompt);
        if (bosToken != null) {
            bindings.putIfAbsent("bos_token", bosToken);
        }
        if (eosToken != null) {
            bindings.putIfAbsent("eos_token", eosToken);
        }
        RenderResult result = JINJAVA.renderForResult(source, bindings);
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new TokenizerException("chat template failed at line " + error.getLineno() + ": "
                        + describe(error), error.getException());
            }
        }
        return result.getOutput();
    }

    /** jinjava wraps a failing function call; the message of raise_exception is what the template author wrote. */
    private static String describe(TemplateError error) {
        for (Throwable t = error.getException(); t != null; t = t.getCause()) {
            if (t instanceof TemplateRaisedException) {
                return t.getMessage();
            }
        }
        return error.getMessage();
    }

    public String source() {
        return source;
    }

    private static Jinjava createJinjava() {
        // Every jinjava "legacy override" that moves it towards Jinja, except WhitespaceRequiredWithinTokens, which
        // stops "{%-" at the start of a template from parsing.
        LegacyOverrides jinjaBehaviour = LegacyOverrides.newBuilder()
                .withEvaluateMapKeys(true)
                .withIterateOverMapKeys(true)
                .withUsePyishObjectMapper(true)
                .withUseNaturalOperatorPrecedence(true)
                .withParseWhitespaceControlStrictly(true)
                .withAllowAdjacentTextNodes(true)
                .withUseTrimmingForNotesAndExpressions(true)
                .withKeepNullableLoopValues(true)
                .withHandleBackslashInQuotesOnly(true)
                .build();
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withKeepTrailingNewline(true)
                .withLegacyOverrides(jinjaBehaviour)
                .withElResolver(resolver)
                // jinjava would otherwise render Jinja syntax found in values a second time: a message saying
                // "{{ 7*7 }}" must reach the model as written, not as "49".
                .withNestedInterpretationEnabled(false)
                .build();
        Jinjava jinjava = new Jinjava(config);
        var context = jinjava.getGlobalContext();
        context.registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class,
                "raiseException", String.class));
        context.registerFunction(new ELFunctionDefinition("", "strftime_now", ChatTemplate.class,
                "strftimeNow", String.class));
        context.registerFilter(new ToJson());
        return jinjava;
    }

    /** {@code raise_exception(msg)}: templates call it to reject unsupported conversations. */
    public static Object raiseException(String message) {
        throw new TemplateRaisedException(message);
    }

    /** {@code strftime_now(fmt)}: the current local time in Python strftime notation (Llama 3.1+ date lines). */
    public static String strftimeNow(String format) {
        return Strftime.format(format, ZonedDateTime.now());
    }

    /** Raised by {@code raise_exception}; rendering reports it as a {@link TokenizerException}. */
    static final class TemplateRaisedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TemplateRaisedException(String message) {
            super("raise_exception: " + message);
        }
    }

    /**
     * Replaces jinjava's {@code tojson} (compact Jackson output) with Python's {@code json.dumps} spacing, because
     * transformers' templates dump tool schemas with it and the model was trained on that spelling.
     */
    static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            Integer indent = args.length > 0 && args[0] != null ? Integer.valueOf(args[0]) : null;
            return PythonJson.dumps(var, indent);
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : args.length > 0 ? args[0] : null;
            return PythonJson.dumps(var, indent == null ? null : ((Number) indent).intValue());
        }
    }
}
