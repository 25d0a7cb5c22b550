package dev.tokc.runtime.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A tokenizer.json decoder: turns the vocabulary strings of a token sequence back into text.
 *
 * <p>As in Hugging Face tokenizers, a decoder maps a list of token strings to a list of strings ({@link #chain}) so
 * that decoders compose in a {@link Sequence}; the text is the concatenation of the final list.
 */
public sealed interface Decoder {

    List<String> chain(List<String> tokens);

    default String decode(List<String> tokens) {
        return String.join("", chain(tokens));
    }

    /** Applies each decoder in turn. */
    record Sequence(List<Decoder> decoders) implements Decoder {
        public Sequence {
            decoders = List.copyOf(decoders);
        }

        @Override
        public List<String> chain(List<String> tokens) {
            for (Decoder d : decoders) {
                tokens = d.chain(tokens);
            }
            return tokens;
        }
    }

    /** Byte-level tokens back to bytes, then UTF-8 (invalid sequences become U+FFFD); yields a single string. */
    record ByteLevelDecoder() implements Decoder {
        @Override
        public List<String> chain(List<String> tokens) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (String token : tokens) {
                ByteLevel.appendBytes(token, bytes);
            }
            return List.of(bytes.toString(StandardCharsets.UTF_8));
        }
    }

    /**
     * Runs of {@code <0xXX>} tokens become the text of their bytes; a run that is not valid UTF-8 becomes one U+FFFD
     * per byte (Hugging Face's rule).
     */
    record ByteFallback() implements Decoder {
        @Override
        public List<String> chain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            ByteArrayOutputStream run = new ByteArrayOutputStream();
            for (String token : tokens) {
                int b = byteToken(token);
                if (b >= 0) {
                    run.write(b);
                    continue;
                }
                flush(run, out);
                out.add(token);
            }
            flush(run, out);
            return out;
        }

        static int byteToken(String token) {
            if (token.length() == 6 && token.startsWith("<0x") && token.charAt(5) == '>') {
                int hi = Character.digit(token.charAt(3), 16);
                int lo = Character.digit(token.charAt(4), 16);
                if (hi >= 0 && lo >= 0) {
                    return hi * 16 + lo;
                }
            }
            return -1;
        }

        private static void flush(ByteArrayOutputStream run, List<String> out) {
            if (run.size() == 0) {
                return;
            }
            byte[] bytes = run.toByteArray();
            run.reset();
            var decoder = StandardCharsets.UTF_8.newDecoder();
            try {
                out.add(decoder.decode(java.nio.ByteBuffer.wrap(bytes)).toString());
            } catch (java.nio.charset.CharacterCodingException e) {
                for (int i = 0; i < bytes.length; i++) {
                    out.add("\uFFFD");
                }
            }
        }
    }

    /** Joins all tokens into one string. */
    record Fuse() implements Decoder {
        @Override
        public List<String> chain(List<String> tokens) {
            return List.of(String.join("", tokens));
        }
    }

    /** Removes up to {@code start} leading and {@code stop} trailing {@code content} characters from each token. */
    record Strip(char content, int start, int stop) implements Decoder {
        @Override
        public List<String> chain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String token : tokens) {
                int from = 0;
                int to = token.length();
                while (from < to && from < start && token.charAt(from) == content) {
                    from++;
                }
                int stripped = 0;
                while (to > from && stripped < stop && token.charAt(to - 1) == content) {
                    to--;
                    stripped++;
                }
                out.add(token.substring(from, to));
            }
            return out;
        }
    }

    /** Replaces every match of a literal or regex in each token. */
    record Replace(Pattern pattern, String content) implements Decoder {
        @Override
        public List<String> chain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            String replacement = Matcher.quoteReplacement(content);
            for (String token : tokens) {
                out.add(pattern.matcher(token).replaceAll(replacement));
            }
            return out;
        }
    }

    /**
     * Metaspace: {@code replacement} back to spaces, except in the first token, where Hugging Face drops every
     * replacement character (the prepended one and any others) unless the prepend scheme is "never".
     */
    record Metaspace(char replacement, boolean dropInFirstToken) implements Decoder {
        @Override
        public List<String> chain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                String token = tokens.get(i);
                out.add(i == 0 && dropInFirstToken ? token.replace(String.valueOf(replacement), "")
                        : token.replace(replacement, ' '));
            }
            return out;
        }
    }

    /** The BPE decoder of suffix-marked vocabularies: the end-of-word suffix becomes a space (none after the last). */
    record Bpe(String suffix) implements Decoder {
        @Override
        public List<String> chain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                out.add(tokens.get(i).replace(suffix, i == tokens.size() - 1 ? "" : " "));
            }
            return out;
        }
    }
}
