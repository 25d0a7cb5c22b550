package dev.tokc.runtime.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads a {@link Tokenizer} from whatever form a model or engine artifact ships it in.
 *
 * <p>{@link #load(Path)} accepts a {@code tokenizer.json} file, a SentencePiece {@code tokenizer.model} file (or any
 * {@code *.model}), or a directory, in which it looks, in this order, for {@code tokenizer.json},
 * {@code tokenizer.model}, and {@code encoder.json} + {@code vocab.bpe}. A directory with none of them, or a file of
 * another kind, is a {@link TokenizerException} that lists what was looked for.
 */
public final class Tokenizers {
    private Tokenizers() {}

    public static Tokenizer load(Path path) {
        if (Files.isDirectory(path)) {
            Path json = path.resolve("tokenizer.json");
            if (Files.isRegularFile(json)) {
                return TokenizerJsonLoader.load(json);
            }
            Path model = path.resolve("tokenizer.model");
            if (Files.isRegularFile(model)) {
                return SentencePieceTokenizer.load(model);
            }
            if (Files.isRegularFile(path.resolve("encoder.json")) || Files.isRegularFile(path.resolve("vocab.bpe"))) {
                return Gpt2Loader.load(path);
            }
            throw new TokenizerException("no tokenizer in directory " + path
                    + ": expected tokenizer.json, tokenizer.model, or encoder.json with vocab.bpe");
        }
        if (!Files.exists(path)) {
            throw TokenizerException.inFile(path, "file not found");
        }
        String name = path.getFileName().toString();
        if (name.endsWith(".json")) {
            if (name.equals("encoder.json")) {
                return Gpt2Loader.load(path.toAbsolutePath().getParent());
            }
            return TokenizerJsonLoader.load(path);
        }
        if (name.endsWith(".model")) {
            return SentencePieceTokenizer.load(path);
        }
        if (name.equals("vocab.bpe")) {
            return Gpt2Loader.load(path.toAbsolutePath().getParent());
        }
        throw TokenizerException.inFile(path, "not a known tokenizer file: expected tokenizer.json, a SentencePiece "
                + "*.model, or a directory holding one of them or encoder.json + vocab.bpe");
    }
}
