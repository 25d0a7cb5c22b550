package dev.tokc.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chat templates rendered through jinjava: the Llama 3 reference cases exactly, Qwen 3's template (tools, thinking,
 * tool responses) against hand-derived Jinja output, and each extension on its own.
 */
class ChatTemplateTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TestFactory
    Stream<DynamicTest> llama3RendersEveryReferenceCase() {
        if (!SharedData.exists("tokenizers/chat-template-vectors.json")) {
            return SharedData.skipped("tokenizers/chat-template-vectors.json");
        }
        JsonNode vectors = SharedData.json(SharedData.require("tokenizers/chat-template-vectors.json"));
        ChatTemplate template = ChatTemplate.load(SharedData.require("tokenizers/llama3/tokenizer_config.json"));
        List<DynamicTest> tests = new ArrayList<>();
        int index = 0;
        for (JsonNode c : vectors.get("llama3")) {
            List<Map<String, Object>> messages = messages(c.get("messages"));
            tests.add(dynamicTest("llama3 chat #" + index++ + " (" + messages.size() + " messages)", () ->
                    assertEquals(c.get("rendered").asText(),
                            template.render(messages, c.get("add_generation_prompt").asBoolean()))));
        }
        return tests.stream();
    }

    @Test
    void qwen3TemplateRendersAConversationWithThinkingSplit() {
        ChatTemplate template = ChatTemplate.load(SharedData.require("tokenizers/qwen3"));
        List<Map<String, Object>> messages = List.of(
                Map.of("role", "system", "content", "Be brief."),
                Map.of("role", "user", "content", "Hi"),
                Map.of("role", "assistant", "content", "<think>\nplan\n</think>\n\nHello!"),
                Map.of("role", "user", "content", "Bye"));
        String expected = "<|im_start|>system\nBe brief.<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\nHello!<|im_end|>\n"
                + "<|im_start|>user\nBye<|im_end|>\n"
                + "<|im_start|>assistant\n";
        assertEquals(expected, template.render(messages, true));
        assertEquals(expected + "<think>\n\n</think>\n\n",
                template.render(messages, true, Map.of("enable_thinking", false)));
    }

    @Test
    void qwen3TemplateRendersToolsWithPythonJsonSpacing() {
        ChatTemplate template = ChatTemplate.load(SharedData.require("tokenizers/qwen3"));
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("type", "function");
        tool.put("function", Map.of("name", "now"));
        String out = template.render(List.of(Map.of("role", "user", "content", "time?")), true,
                Map.of("tools", List.of(tool)));
        assertTrue(out.contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"now\"}}\n</tools>"), out);
        assertTrue(out.endsWith("<|im_start|>user\ntime?<|im_end|>\n<|im_start|>assistant\n"), out);
    }

    @Test
    void qwen3TemplateRendersToolCallsAndToolResponses() {
        ChatTemplate template = ChatTemplate.load(SharedData.require("tokenizers/qwen3"));
        Map<String, Object> call = Map.of("type", "function",
                "function", Map.of("name", "now", "arguments", Map.of("tz", "UTC")));
        List<Map<String, Object>> messages = List.of(
                Map.of("role", "user", "content", "What time is it?"),
                Map.of("role", "assistant", "content", "", "tool_calls", List.of(call)),
                Map.of("role", "tool", "content", "12:00"));
        assertEquals("<|im_start|>user\nWhat time is it?<|im_end|>\n"
                + "<|im_start|>assistant\n<tool_call>\n{\"name\": \"now\", \"arguments\": {\"tz\": \"UTC\"}}\n</tool_call>"
                + "<|im_end|>\n"
                + "<|im_start|>user\n<tool_response>\n12:00\n</tool_response><|im_end|>\n"
                + "<|im_start|>assistant\n", template.render(messages, true));
    }

    @Test
    void pythonStringMethods() {
        ChatTemplate template = new ChatTemplate("{{ x.startswith('ab') }} {{ x.endswith(['q', 'cd']) }} "
                + "[{{ x.split('b')|join('|') }}] [{{ '  a  b '.split()|join('|') }}] [{{ 'a,b,c'.split(',', 1)|join('|') }}] "
                + "[{{ '\\n\\nhi\\n'.lstrip('\\n') }}] [{{ 'xxhixx'.strip('x') }}] [{{ ' hi '.rstrip() }}] "
                + "{{ x.upper() }} {{ 'hello world'.title() }} {{ x.find('c') }} {{ 'aaa'.count('a') }}", null, null);
        assertEquals("true true [a|cd] [a|b] [a|b,c] [hi\n] [hi] [ hi] ABCD Hello World 2 3",
                template.render(List.of(), false, Map.of("x", "abcd")));
    }

    @Test
    void listOfNamedTemplatesPicksByName(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": {"content": "<s>"}, "eos_token": "</s>",
                 "chat_template": [{"name": "default", "template": "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{% endfor %}"},
                                   {"name": "tool_use", "template": "tools:{{ tools | length }}"}]}
                """);
        List<Map<String, Object>> messages = List.of(Map.of("role", "user", "content", "x"));
        assertEquals("<s>[user]", ChatTemplate.load(dir).render(messages, false));
        assertEquals("tools:2", ChatTemplate.load(dir, "tool_use").render(messages, false, Map.of("tools", List.of(1, 2))));
        TokenizerException e = assertThrows(TokenizerException.class, () -> ChatTemplate.load(dir, "rag"));
        assertTrue(e.getMessage().contains("default, tool_use"), e.getMessage());
    }

    @Test
    void sourceRewrites() {
        assertEquals("{% set ns = namespace(a=(true), b=(x|length - 1), c=('a,b'), d=(f(1, 2))) %}",
                JinjaSource.adapt("{% set ns = namespace(a=true, b=x|length - 1, c='a,b', d=f(1, 2)) %}\n"));
        assertEquals("{% for m in (messages|reverse) %}{% if a == b %}{% endif %}{% endfor %}\n",
                JinjaSource.adapt("{% for m in messages[::-1] %}{% if a == b %}{% endif %}{% endfor %}\n\n"));
    }

    @Test
    void messageContentIsNeverInterpretedAsTemplate() {
        ChatTemplate template = new ChatTemplate("{% for m in messages %}{{ m.content }}{% endfor %}", null, null);
        String content = "{{ 7*7 }} {% if true %}x{% endif %} {{ raise_exception('no') }}";
        assertEquals(content, template.render(List.of(Map.of("role", "user", "content", content)), false));
    }

    @Test
    void raiseExceptionFailsTheRender() {
        ChatTemplate template = new ChatTemplate(
                "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversation must start with user') }}{% endif %}ok",
                null, null);
        assertEquals("ok", template.render(List.of(Map.of("role", "user", "content", "")), false));
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> template.render(List.of(Map.of("role", "system", "content", "")), false));
        assertTrue(e.getMessage().contains("Conversation must start with user"), e.getMessage());
    }

    @Test
    void loopControlsTrimBlocksAndTojson() {
        ChatTemplate template = new ChatTemplate("""
                {% for m in messages %}
                  {% if m.role == 'skip' %}{% continue %}{% endif %}
                  {% if m.role == 'stop' %}{% break %}{% endif %}
                {{ m.content | tojson }}
                {% endfor %}
                """, null, null);
        List<Map<String, Object>> messages = List.of(Map.of("role", "a", "content", "é\"\n"),
                Map.of("role", "skip", "content", "x"), Map.of("role", "b", "content", "y"),
                Map.of("role", "stop", "content", "z"), Map.of("role", "c", "content", "w"));
        assertEquals("\"é\\\"\\n\"\n\"y\"\n", template.render(messages, false));
    }

    @Test
    void tojsonWithIndentMatchesPython() {
        ChatTemplate template = new ChatTemplate("{{ x | tojson(indent=2) }}", null, null);
        Map<String, Object> x = new LinkedHashMap<>();
        x.put("a", List.of(1, 2.5, true));
        x.put("b", Map.of());
        assertEquals("{\n  \"a\": [\n    1,\n    2.5,\n    true\n  ],\n  \"b\": {}\n}",
                template.render(List.of(), false, Map.of("x", x)));
    }

    @Test
    void strftimeDirectives() {
        var t = java.time.ZonedDateTime.of(2024, 7, 5, 14, 3, 9, 0, java.time.ZoneOffset.UTC);
        assertEquals("05 Jul 2024 / Friday July 05 / 14:03:09 02 PM / 187 %",
                Strftime.format("%d %b %Y / %A %B %d / %H:%M:%S %I %p / %j %%", t));
    }

    @Test
    void pythonJsonEscapesLikeJsonDumps() {
        assertEquals("[\"a\\u0001\\t\\\\\", 1.0, null, {\"k\": false}]",
                PythonJson.dumps(java.util.Arrays.asList("a\u0001\t\\", 1.0, null, Map.of("k", false)), null));
    }

    @Test
    void strftimeNowFormatsTheDate() {
        String out = new ChatTemplate("{{ strftime_now('%d %b %Y') }}", null, null).render(List.of(), false);
        assertTrue(out.matches("\\d\\d [A-Z][a-z]{2} \\d{4}"), out);
    }

    @Test
    void missingConfigNamesTheFile(@TempDir Path dir) {
        TokenizerException e = assertThrows(TokenizerException.class, () -> ChatTemplate.load(dir));
        assertTrue(e.getMessage().contains("tokenizer_config.json"), e.getMessage());
    }

    private static List<Map<String, Object>> messages(JsonNode array) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (JsonNode m : array) {
            @SuppressWarnings("unchecked")
            Map<String, Object> map = JSON.convertValue(m, LinkedHashMap.class);
            out.add(map);
        }
        return out;
    }
}
