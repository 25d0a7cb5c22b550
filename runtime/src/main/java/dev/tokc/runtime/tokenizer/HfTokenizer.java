package dev.tokc.runtime.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * A Hugging Face style tokenizer pipeline around a {@link BpeModel}: added tokens are cut out first, each remaining
 * segment is normalized, pre-tokenized and encoded word by word, and the post-processor adds special tokens on
 * request. Decoding maps ids to their vocabulary strings and runs the decoder.
 *
 * <p>Built by {@link TokenizerJsonLoader} from tokenizer.json and by {@link Gpt2Loader} from encoder.json +
 * vocab.bpe. Any of normalizer, pre-tokenizer, post-processor and decoder may be null (absent in the file); without
 * a decoder tokens are joined with spaces, as Hugging Face does.
 */
final class HfTokenizer implements Tokenizer {
    private final BpeModel model;
    private final AddedVocabulary added;
    private final Normalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final PostProcessor postProcessor;
    private final Decoder decoder;
    private final int bosId;
    private final int eosId;
    private final int vocabSize;

    HfTokenizer(BpeModel model, AddedVocabulary added, Normalizer normalizer, PreTokenizer preTokenizer,
                PostProcessor postProcessor, Decoder decoder, int bosId, int eosId) {
        this.model = model;
        this.added = added;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.postProcessor = postProcessor;
        this.decoder = decoder;
        this.bosId = bosId;
        this.eosId = eosId;
        this.vocabSize = Math.max(model.vocabSize(), added.maxId() + 1);
    }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList(text.length() / 3 + 4);
        for (AddedVocabulary.Segment segment : added.split(text, parseSpecial)) {
            if (segment.tokenId() >= 0) {
                out.add(segment.tokenId());
                continue;
            }
            String piece = text.substring(segment.start(), segment.end());
            if (normalizer != null) {
                piece = normalizer.apply(piece);
            }
            List<String> words = List.of(piece);
            if (preTokenizer != null) {
                words = preTokenizer.split(words, segment.start() == 0);
            }
            for (String word : words) {
                model.encodeWord(word, out);
            }
        }
        int[] ids = out.toArray();
        return addSpecial && postProcessor != null ? postProcessor.addSpecial(ids) : ids;
    }

    @Override
    public String decode(int[] ids, boolean skipSpecial) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            if (skipSpecial && isSpecial(id)) {
                continue;
            }
            String token = idToToken(id);
            if (token == null) {
                throw new IllegalArgumentException("token id " + id + " is not in the vocabulary (size " + vocabSize + ")");
            }
            tokens.add(token);
        }
        return decoder == null ? String.join(" ", tokens) : decoder.decode(tokens);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int tokenToId(String token) {
        int id = added.idOf(token);
        return id >= 0 ? id : model.tokenToId(token);
    }

    @Override
    public String idToToken(int id) {
        AddedVocabulary.AddedToken t = added.get(id);
        return t != null ? t.content() : model.idToToken(id);
    }

    @Override
    public boolean isSpecial(int id) {
        AddedVocabulary.AddedToken t = added.get(id);
        return t != null && t.special();
    }

    @Override
    public int bosId() {
        return bosId;
    }

    @Override
    public int eosId() {
        return eosId;
    }
}
