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
import java.util.regex.Pattern;
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
 * {@code lstrip_blocks}, the template's own final newline dropped (see the constructor), no re-rendering of Jinja
 * syntax inside values, and jinjava's "legacy overrides" switched to the Jinja behaviour (natural operator
 * precedence, so {@code a + b | trim} trims only {@code b}; backslash escapes in string literals; iteration over
 * map keys). Small extensions supply what Jinja-in-transformers has and jinjava lacks or spells differently
 * (documented in place): {@code raise_exception(msg)}, {@code strftime_now(fmt)}, a {@code tojson} filter with
 * Python's {@code json.dumps} spacing, Python's string methods ({@link PythonStringMethods}: {@code startswith},
 * {@code split}, {@code lstrip}, ...), and two source rewrites for syntax jinjava parses differently:
 * {@code name[::-1]} becomes {@code (name|reverse)}, and the keyword arguments of {@code namespace(...)} are
 * parenthesized ({@link #parenthesizeNamespaceArguments}). Loop controls ({@code break}, {@code continue}),
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
    /** {@code name[::-1]} (Python's reversing slice), which jinjava's expression parser does not accept. */
    private static final Pattern REVERSE_SLICE = Pattern.compile("([A-Za-z_][A-Za-z0-9_.]*)\\[::-1\\]");

    private final String source;
    private final String bosToken;
    private final String eosToken;

    public ChatTemplate(String source, String bosToken, String eosToken) {
        // Jinja drops one newline at the very end of the template source (keep_trailing_newline=False). jinjava's
        // own switch for it trims the rendered output instead, which would eat a "\n\n" the template prints at
        // the end (Llama 3's generation prompt), so the source is trimmed here and jinjava keeps its output whole.
        if (source.endsWith("\r\n")) {
            source = source.substring(0, source.length() - 2);
        } else if (source.endsWith("\n")) {
            source = source.substring(0, source.length() - 1);
        }
        // jinjava cannot parse the step slice; "(x|reverse)" is the same list reversed.
        source = REVERSE_SLICE.matcher(source).replaceAll("($1|reverse)");
        this.source = parenthesizeNamespaceArguments(source);
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

    /**
     * Wraps each keyword argument of {@code namespace(...)} in parentheses: jinjava binds {@code k=v} tighter than
     * a filter, so {@code namespace(i=messages|length - 1)} would subtract 1 from the parameter itself, while Jinja
     * reads the whole {@code messages|length - 1} as the value. Parenthesized, both agree.
     */
    static String parenthesizeNamespaceArguments(String source) {
        StringBuilder out = new StringBuilder(source.length() + 16);
        int from = 0;
        for (int at = source.indexOf("namespace(", from); at >= 0; at = source.indexOf("namespace(", from)) {
            int open = at + "namespace".length();
            int close = matchingParen(source, open);
            if (close < 0) {
                break;
            }
            out.append(source, from, open + 1);
            List<String> args = splitTopLevel(source.substring(open + 1, close));
            for (int i = 0; i < args.size(); i++) {
                String arg = args.get(i);
                java.util.regex.Matcher m = KEYWORD_ARGUMENT.matcher(arg);
                out.append(i > 0 ? "," : "").append(m.matches() ? m.group(1) + "=(" + m.group(2) + ")" : arg);
            }
            out.append(')');
            from = close + 1;
        }
        return out.append(source, from, source.length()).toString();
    }

    private static final Pattern KEYWORD_ARGUMENT = Pattern.compile("(\\s*[A-Za-z_][A-Za-z0-9_]*\\s*)=(?!=)(.+)",
            Pattern.DOTALL);

    /** Index of the parenthesis closing the one at {@code open}, skipping quoted strings; -1 if unbalanced. */
    private static int matchingParen(String s, int open) {
        int depth = 0;
        for (int i = open; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = endOfString(s, i);
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if ((c == ')' || c == ']' || c == '}') && --depth == 0) {
                return c == ')' ? i : -1;
            }
        }
        return -1;
    }

    private static int endOfString(String s, int quote) {
        for (int i = quote + 1; i < s.length(); i++) {
            if (s.charAt(i) == '\\') {
                i++;
            } else if (s.charAt(i) == s.charAt(quote)) {
                return i;
            }
        }
        return s.length();
    }

    /** Splits on commas outside brackets and strings. */
    private static List<String> splitTopLevel(String s) {
        List<String> parts = new java.util.ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = endOfString(s, i);
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (c == ',' && depth == 0) {
                parts.add(s.substring(start, i));
                start = i + 1;
            }
        }
        parts.add(s.substring(start));
        return parts;
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
