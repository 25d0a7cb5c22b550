package dev.tokc.runtime.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads OpenAI's original GPT-2 tokenizer files: {@code encoder.json} (token -> id) and {@code vocab.bpe} (a
 * {@code #version} line, then one merge {@code "left right"} per line in rank order).
 *
 * <p>The result behaves like OpenAI's encoder: GPT-2's regex, byte-level BPE, no normalization, and no added-token
 * matching, so {@code "<|endoftext|>"} in the input is ordinary text. That token, when present, is special (skipped
 * by {@code decode(ids, true)}) and is both BOS and EOS; {@code encode(text, true)} adds nothing (GPT-2 never
 * prepended it).
 */
final class Gpt2Loader {
    private Gpt2Loader() {}

    static Tokenizer load(Path directory) {
        Path encoderFile = directory.resolve("encoder.json");
        Path mergesFile = directory.resolve("vocab.bpe");
        if (!Files.isRegularFile(encoderFile)) {
            throw TokenizerException.inFile(encoderFile, "file not found (a GPT-2 tokenizer needs encoder.json and vocab.bpe)");
        }
        if (!Files.isRegularFile(mergesFile)) {
            throw TokenizerException.inFile(mergesFile, "file not found (a GPT-2 tokenizer needs encoder.json and vocab.bpe)");
        }
        JsonNode encoder = TokenizerJsonLoader.readJson(encoderFile);
        if (!encoder.isObject()) {
            throw TokenizerException.inFile(encoderFile, "expected a JSON object of token -> id");
        }
        Map<String, Integer> vocab = new HashMap<>(encoder.size() * 2);
        for (Map.Entry<String, JsonNode> e : encoder.properties()) {
            if (!e.getValue().canConvertToInt()) {
                throw TokenizerException.inFile(encoderFile, "id of '" + e.getKey() + "' is not an integer");
            }
            vocab.put(e.getKey(), e.getValue().asInt());
        }
        List<String[]> merges = new ArrayList<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(mergesFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw TokenizerException.inFile(mergesFile, "cannot read: " + e.getMessage(), e);
        }
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank() || (i == 0 && line.startsWith("#version"))) {
                continue;
            }
            // Byte-level tokens never contain whitespace, so stripping only drops a stray "\r" or trailing space.
            String[] parts = line.strip().split(" ");
            if (parts.length != 2) {
                throw TokenizerException.inFile(mergesFile, "line " + (i + 1) + " is not a merge \"left right\": " + line);
            }
            merges.add(parts);
        }
        BpeModel model;
        try {
            model = new BpeModel(vocab, merges, BpeModel.Options.DEFAULT);
        } catch (TokenizerException e) {
            throw TokenizerException.inFile(mergesFile, e.getMessage(), e);
        }
        int endOfText = model.tokenToId("<|endoftext|>");
        List<AddedVocabulary.AddedToken> specials = endOfText < 0 ? List.of()
                : List.of(new AddedVocabulary.AddedToken(endOfText, "<|endoftext|>", true, false, false, false));
        return new HfTokenizer(model, new AddedVocabulary(specials, false), null,
                new PreTokenizer.ByteLevelSplit(false, true), null, new Decoder.ByteLevelDecoder(), endOfText, endOfText);
    }
}
