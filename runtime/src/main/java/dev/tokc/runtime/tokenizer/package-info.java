/**
 * Tokenizers and chat templates for the runtime: text in, token ids out, and back, matching the reference
 * libraries id for id.
 *
 * <ul>
 *   <li>{@link dev.tokc.runtime.tokenizer.Tokenizer} is the one interface; {@link dev.tokc.runtime.tokenizer.Tokenizers#load}
 *       picks the reader from the files: Hugging Face {@code tokenizer.json} (BPE: byte-level or SentencePiece-style
 *       with byte fallback), SentencePiece {@code tokenizer.model} (read with protobuf-java from
 *       {@code src/main/protobuf}), or OpenAI's GPT-2 {@code encoder.json} + {@code vocab.bpe}.</li>
 *   <li>The tokenizer.json pipeline is built from small parts named as in Hugging Face tokenizers:
 *       {@link dev.tokc.runtime.tokenizer.Normalizer}, {@link dev.tokc.runtime.tokenizer.PreTokenizer},
 *       {@link dev.tokc.runtime.tokenizer.BpeModel}, {@link dev.tokc.runtime.tokenizer.PostProcessor} and
 *       {@link dev.tokc.runtime.tokenizer.Decoder}, with added tokens matched first.</li>
 *   <li>{@link dev.tokc.runtime.tokenizer.StreamingDecoder} turns generated ids into text deltas without splitting
 *       a UTF-8 character.</li>
 *   <li>{@link dev.tokc.runtime.tokenizer.ChatTemplate} renders {@code tokenizer_config.json}'s Jinja chat template
 *       with jinjava; encode its output with {@code addSpecial = false}, since templates write BOS themselves.</li>
 *   <li>Every missing or malformed file is a {@link dev.tokc.runtime.tokenizer.TokenizerException} naming the file.</li>
 * </ul>
 */
package dev.tokc.runtime.tokenizer;
