package dev.tokc.runtime.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads a Hugging Face {@code tokenizer.json} into an {@link HfTokenizer}.
 *
 * <p>Supported: model BPE (byte-level or SentencePiece-style with byte fallback); normalizers Sequence, Prepend,
 * Replace, NFC/NFD/NFKC/NFKD, Lowercase, Strip; pre-tokenizers Sequence, Split, ByteLevel, Metaspace, Whitespace,
 * Digits; post-processors TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence; decoders
 * ByteLevel, Sequence, Replace, ByteFallback, Fuse, Strip, Metaspace, BPEDecoder. Anything else fails with a
 * {@link TokenizerException} naming the file and the component, rather than tokenizing differently from the
 * reference.
 *
 * <p>BOS and EOS come from a {@code tokenizer_config.json} beside the file when there is one ({@code bos_token},
 * {@code eos_token}); otherwise the first special token of a TemplateProcessing template is the BOS and the
 * well-known names ({@code </s>}, {@code <|end_of_text|>}, {@code <|endoftext|>}, ...) give the EOS.
 */
final class TokenizerJsonLoader {
    /**
     * Field names are neither interned nor canonicalized: a vocabulary is an object with 150k distinct keys, and
     * interning each of them was most of the parse time.
     */
    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .build());
    private static final List<String> KNOWN_BOS = List.of("<|begin_of_text|>", "<s>", "<bos>", "<|startoftext|>");
    private static final List<String> KNOWN_EOS =
            List.of("<|end_of_text|>", "</s>", "<eos>", "<|endoftext|>", "<|im_end|>", "<|eot_id|>");

    private final Path file;

    private TokenizerJsonLoader(Path file) {
        this.file = file;
    }

    static Tokenizer load(Path file) {
        return new TokenizerJsonLoader(file).load();
    }

    static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw TokenizerException.inFile(file, "file not found");
        } catch (JsonProcessingException e) {
            throw TokenizerException.inFile(file, "not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw TokenizerException.inFile(file, "cannot read: " + e.getMessage(), e);
        }
    }

    private Tokenizer load() {
        if (!Files.isRegularFile(file)) {
            throw TokenizerException.inFile(file, "file not found");
        }
        Parsed parsed = parse();
        JsonNode root = parsed.root();
        JsonNode modelNode = root.path("model");
        if (!modelNode.isObject()) {
            throw TokenizerException.inFile(file, "expected a \"model\" object (a Hugging Face tokenizer.json)");
        }
        BpeModel model = model(modelNode, parsed.vocab(), parsed.merges());
        AddedVocabulary added = addedTokens(root.path("added_tokens"));
        Normalizer normalizer = nullable(root.get("normalizer")) ? null : normalizer(root.get("normalizer"));
        PreTokenizer pre = nullable(root.get("pre_tokenizer")) ? null : preTokenizer(root.get("pre_tokenizer"));
        PostProcessor post = nullable(root.get("post_processor")) ? null : postProcessor(root.get("post_processor"));
        Decoder decoder = nullable(root.get("decoder")) ? null : decoder(root.get("decoder"));

        int[] specials = specialIds(root.get("post_processor"), added, model);
        return new HfTokenizer(model, added, normalizer, pre, post, decoder, specials[0], specials[1]);
    }

    /** The file's JSON, except model.vocab and model.merges, which are returned separately (null when absent). */
    private record Parsed(ObjectNode root, Map<String, Integer> vocab, List<String[]> merges) {}

    /**
     * Reads the file with the streaming parser for the two big entries, model.vocab and model.merges, and as a tree
     * for everything else: building tree nodes for a few hundred thousand merges is most of a naive load.
     */
    private Parsed parse() {
        try (JsonParser p = JSON.createParser(file.toFile())) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw TokenizerException.inFile(file, "expected a JSON object with a \"model\" entry");
            }
            ObjectNode root = JSON.createObjectNode();
            Map<String, Integer> vocab = null;
            List<String[]> merges = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (!name.equals("model") || value != JsonToken.START_OBJECT) {
                    root.set(name, p.readValueAsTree());
                    continue;
                }
                ObjectNode model = JSON.createObjectNode();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String field = p.currentName();
                    JsonToken token = p.nextToken();
                    if (field.equals("vocab") && token == JsonToken.START_OBJECT) {
                        vocab = readVocab(p);
                    } else if (field.equals("merges") && token == JsonToken.START_ARRAY) {
                        merges = readMerges(p);
                    } else {
                        model.set(field, p.readValueAsTree());
                    }
                }
                root.set("model", model);
            }
            return new Parsed(root, vocab, merges);
        } catch (JsonProcessingException e) {
            throw TokenizerException.inFile(file, "not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw TokenizerException.inFile(file, "cannot read: " + e.getMessage(), e);
        }
    }

    private Map<String, Integer> readVocab(JsonParser p) throws IOException {
        Map<String, Integer> vocab = new HashMap<>(1 << 18);
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String token = p.currentName();
            if (p.nextToken() != JsonToken.VALUE_NUMBER_INT || p.getIntValue() < 0) {
                throw TokenizerException.inFile(file, "model.vocab['" + token + "'] must be a non-negative id");
            }
            vocab.put(token, p.getIntValue());
        }
        return vocab;
    }

    /** Merges as "left right" strings (older files; tokens never contain a space then) or [left, right] pairs. */
    private List<String[]> readMerges(JsonParser p) throws IOException {
        List<String[]> merges = new ArrayList<>(1 << 18);
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            if (t == JsonToken.VALUE_STRING) {
                String s = p.getText();
                int space = s.indexOf(' ', 1);
                if (space < 0 || s.indexOf(' ', space + 1) >= 0) {
                    throw TokenizerException.inFile(file, "merge '" + s + "' is not two tokens separated by a space");
                }
                merges.add(new String[] {s.substring(0, space), s.substring(space + 1)});
            } else if (t == JsonToken.START_ARRAY && p.nextToken() == JsonToken.VALUE_STRING) {
                String left = p.getText();
                String right = p.nextToken() == JsonToken.VALUE_STRING ? p.getText() : null;
                if (right == null || p.nextToken() != JsonToken.END_ARRAY) {
                    throw TokenizerException.inFile(file, "merge " + merges.size() + " is not a pair [\"a\", \"b\"]");
                }
                merges.add(new String[] {left, right});
            } else {
                throw TokenizerException.inFile(file, "merge " + merges.size() + " is neither \"a b\" nor [\"a\", \"b\"]");
            }
        }
        return merges;
    }

    private static boolean nullable(JsonNode node) {
        return node == null || node.isNull();
    }

    private BpeModel model(JsonNode node, Map<String, Integer> vocab, List<String[]> merges) {
        String type = node.path("type").asText("BPE");
        if (!type.equals("BPE")) {
            throw TokenizerException.inFile(file, "model type '" + type + "' is not supported (tokc reads BPE models)");
        }
        if (vocab == null) {
            throw TokenizerException.inFile(file, "expected model.vocab to be an object of token -> id");
        }
        if (merges == null) {
            if (node.has("merges")) {
                throw TokenizerException.inFile(file, "expected model.merges to be a list");
            }
            merges = List.of();
        }
        if (!nullable(node.get("dropout")) && node.get("dropout").asDouble() > 0) {
            throw TokenizerException.inFile(file, "BPE dropout is not supported");
        }
        BpeModel.Options options = new BpeModel.Options(
                text(node, "unk_token"), node.path("fuse_unk").asBoolean(false),
                node.path("byte_fallback").asBoolean(false), node.path("ignore_merges").asBoolean(false),
                emptyToNull(text(node, "continuing_subword_prefix")), emptyToNull(text(node, "end_of_word_suffix")));
        try {
            return new BpeModel(vocab, merges, options);
        } catch (TokenizerException e) {
            throw TokenizerException.inFile(file, e.getMessage(), e);
        }
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    private AddedVocabulary addedTokens(JsonNode node) {
        List<AddedVocabulary.AddedToken> tokens = new ArrayList<>();
        for (JsonNode t : node) {
            if (!t.has("id") || !t.has("content")) {
                throw TokenizerException.inFile(file, "added token " + t + " needs \"id\" and \"content\"");
            }
            tokens.add(new AddedVocabulary.AddedToken(t.get("id").asInt(), t.get("content").asText(),
                    t.path("special").asBoolean(false), t.path("lstrip").asBoolean(false),
                    t.path("rstrip").asBoolean(false), t.path("single_word").asBoolean(false)));
        }
        return new AddedVocabulary(tokens);
    }

    private String type(JsonNode node, String what) {
        JsonNode type = node.get("type");
        if (type == null || !type.isTextual()) {
            throw TokenizerException.inFile(file, what + " " + abbreviate(node) + " has no \"type\"");
        }
        return type.asText();
    }

    private TokenizerException unsupported(String what, String type) {
        return TokenizerException.inFile(file, what + " type '" + type + "' is not supported");
    }

    private Normalizer normalizer(JsonNode node) {
        String type = type(node, "normalizer");
        return switch (type) {
            case "Sequence" -> {
                List<Normalizer> list = new ArrayList<>();
                node.path("normalizers").forEach(n -> list.add(normalizer(n)));
                yield new Normalizer.Sequence(list);
            }
            case "Prepend" -> new Normalizer.Prepend(node.path("prepend").asText());
            case "Replace" -> new Normalizer.Replace(pattern(node.path("pattern"), "normalizer Replace"),
                    node.path("content").asText());
            case "NFC" -> new Normalizer.Unicode(java.text.Normalizer.Form.NFC);
            case "NFD" -> new Normalizer.Unicode(java.text.Normalizer.Form.NFD);
            case "NFKC" -> new Normalizer.Unicode(java.text.Normalizer.Form.NFKC);
            case "NFKD" -> new Normalizer.Unicode(java.text.Normalizer.Form.NFKD);
            case "Lowercase" -> new Normalizer.Lowercase();
            case "Strip" -> new Normalizer.Strip(node.path("strip_left").asBoolean(true),
                    node.path("strip_right").asBoolean(true));
            default -> throw unsupported("normalizer", type);
        };
    }

    private PreTokenizer preTokenizer(JsonNode node) {
        String type = type(node, "pre_tokenizer");
        return switch (type) {
            case "Sequence" -> {
                List<PreTokenizer> list = new ArrayList<>();
                node.path("pretokenizers").forEach(n -> list.add(preTokenizer(n)));
                yield new PreTokenizer.Sequence(list);
            }
            case "Split" -> new PreTokenizer.Split(pattern(node.path("pattern"), "pre_tokenizer Split"),
                    behavior(node.path("behavior").asText("Isolated")), node.path("invert").asBoolean(false));
            case "ByteLevel" -> new PreTokenizer.ByteLevelSplit(node.path("add_prefix_space").asBoolean(true),
                    node.path("use_regex").asBoolean(true));
            case "Metaspace" -> new PreTokenizer.Metaspace(replacement(node), prependScheme(node),
                    node.path("split").asBoolean(true));
            case "Whitespace" -> new PreTokenizer.Whitespace();
            case "Digits" -> new PreTokenizer.Digits(node.path("individual_digits").asBoolean(false));
            default -> throw unsupported("pre_tokenizer", type);
        };
    }

    private PreTokenizer.Behavior behavior(String name) {
        return switch (name) {
            case "Removed" -> PreTokenizer.Behavior.REMOVED;
            case "Isolated" -> PreTokenizer.Behavior.ISOLATED;
            case "MergedWithPrevious" -> PreTokenizer.Behavior.MERGED_WITH_PREVIOUS;
            case "MergedWithNext" -> PreTokenizer.Behavior.MERGED_WITH_NEXT;
            case "Contiguous" -> PreTokenizer.Behavior.CONTIGUOUS;
            default -> throw TokenizerException.inFile(file, "Split behavior '" + name + "' is not known");
        };
    }

    private char replacement(JsonNode node) {
        String r = node.path("replacement").asText("\u2581");
        if (r.length() != 1) {
            throw TokenizerException.inFile(file, "Metaspace replacement must be one character, got '" + r + "'");
        }
        return r.charAt(0);
    }

    private PreTokenizer.PrependScheme prependScheme(JsonNode node) {
        if (node.has("prepend_scheme")) {
            String scheme = node.get("prepend_scheme").asText().toUpperCase(Locale.ROOT);
            try {
                return PreTokenizer.PrependScheme.valueOf(scheme);
            } catch (IllegalArgumentException e) {
                throw TokenizerException.inFile(file, "Metaspace prepend_scheme '" + scheme + "' is not known");
            }
        }
        // Files older than prepend_scheme only say whether to add the prefix space.
        return node.path("add_prefix_space").asBoolean(true) ? PreTokenizer.PrependScheme.ALWAYS
                : PreTokenizer.PrependScheme.NEVER;
    }

    /** A {@code {"String": "..."}} literal or a {@code {"Regex": "..."}} pattern. */
    private Pattern pattern(JsonNode node, String where) {
        if (node.has("String")) {
            return Pattern.compile(Pattern.quote(node.get("String").asText()));
        }
        if (node.has("Regex")) {
            try {
                return PreTokenizer.compile(node.get("Regex").asText());
            } catch (java.util.regex.PatternSyntaxException e) {
                throw TokenizerException.inFile(file, where + " regex does not compile: " + e.getMessage(), e);
            }
        }
        throw TokenizerException.inFile(file, where + " pattern must be {\"String\": ...} or {\"Regex\": ...}, got "
                + abbreviate(node));
    }

    private PostProcessor postProcessor(JsonNode node) {
        String type = type(node, "post_processor");
        return switch (type) {
            case "ByteLevel" -> new PostProcessor.Identity();
            case "Sequence" -> {
                List<PostProcessor> list = new ArrayList<>();
                node.path("processors").forEach(n -> list.add(postProcessor(n)));
                yield new PostProcessor.Sequence(list);
            }
            case "TemplateProcessing" -> {
                List<PostProcessor.Piece> pieces = new ArrayList<>();
                for (JsonNode item : node.path("single")) {
                    if (item.has("Sequence")) {
                        pieces.add(PostProcessor.Piece.SEQUENCE);
                    } else if (item.has("SpecialToken")) {
                        String name = item.get("SpecialToken").path("id").asText();
                        JsonNode special = node.path("special_tokens").path(name);
                        if (!special.path("ids").isArray()) {
                            throw TokenizerException.inFile(file, "TemplateProcessing uses special token '" + name
                                    + "' but special_tokens has no ids for it");
                        }
                        int[] ids = new int[special.get("ids").size()];
                        for (int i = 0; i < ids.length; i++) {
                            ids[i] = special.get("ids").get(i).asInt();
                        }
                        pieces.add(new PostProcessor.Piece(ids));
                    } else {
                        throw TokenizerException.inFile(file, "TemplateProcessing item " + item + " is not known");
                    }
                }
                yield new PostProcessor.Template(pieces);
            }
            case "RobertaProcessing", "BertProcessing" -> new PostProcessor.Surround(
                    node.path("cls").path(1).asInt(), node.path("sep").path(1).asInt());
            default -> throw unsupported("post_processor", type);
        };
    }

    private Decoder decoder(JsonNode node) {
        String type = type(node, "decoder");
        return switch (type) {
            case "ByteLevel" -> new Decoder.ByteLevelDecoder();
            case "Sequence" -> {
                List<Decoder> list = new ArrayList<>();
                node.path("decoders").forEach(n -> list.add(decoder(n)));
                yield new Decoder.Sequence(list);
            }
            case "Replace" -> new Decoder.Replace(pattern(node.path("pattern"), "decoder Replace"),
                    node.path("content").asText());
            case "ByteFallback" -> new Decoder.ByteFallback();
            case "Fuse" -> new Decoder.Fuse();
            case "Strip" -> {
                String content = node.path("content").asText(" ");
                if (content.length() != 1) {
                    throw TokenizerException.inFile(file, "Strip decoder content must be one character");
                }
                yield new Decoder.Strip(content.charAt(0), node.path("start").asInt(0), node.path("stop").asInt(0));
            }
            case "Metaspace" -> new Decoder.Metaspace(replacement(node),
                    prependScheme(node) != PreTokenizer.PrependScheme.NEVER);
            case "BPEDecoder" -> new Decoder.Bpe(node.path("suffix").asText("</w>"));
            default -> throw unsupported("decoder", type);
        };
    }

    /** {bos, eos}: from tokenizer_config.json beside the file, else from the template and well-known names. */
    private int[] specialIds(JsonNode postProcessor, AddedVocabulary added, BpeModel model) {
        Path config = file.resolveSibling("tokenizer_config.json");
        if (Files.isRegularFile(config)) {
            JsonNode cfg = readJson(config);
            return new int[] {idOf(tokenName(cfg.get("bos_token")), added, model),
                    idOf(tokenName(cfg.get("eos_token")), added, model)};
        }
        int bos = -1;
        if (postProcessor != null && "TemplateProcessing".equals(postProcessor.path("type").asText())) {
            JsonNode first = postProcessor.path("single").path(0);
            if (first.has("SpecialToken")) {
                JsonNode ids = postProcessor.path("special_tokens").path(first.get("SpecialToken").path("id").asText())
                        .path("ids");
                bos = ids.isArray() && ids.size() == 1 ? ids.get(0).asInt() : -1;
            }
        }
        if (bos < 0) {
            bos = firstKnown(KNOWN_BOS, added, model);
        }
        return new int[] {bos, firstKnown(KNOWN_EOS, added, model)};
    }

    /** A special token in tokenizer_config.json: a string, an AddedToken object with "content", or null. */
    static String tokenName(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        return node.isObject() ? node.path("content").asText(null) : node.asText();
    }

    private static int idOf(String token, AddedVocabulary added, BpeModel model) {
        if (token == null) {
            return -1;
        }
        int id = added.idOf(token);
        return id >= 0 ? id : model.tokenToId(token);
    }

    private static int firstKnown(List<String> names, AddedVocabulary added, BpeModel model) {
        for (String name : names) {
            int id = idOf(name, added, model);
            if (id >= 0) {
                return id;
            }
        }
        return -1;
    }

    private static String abbreviate(JsonNode node) {
        String s = node.toString();
        return s.length() > 80 ? s.substring(0, 77) + "..." : s;
    }
}
