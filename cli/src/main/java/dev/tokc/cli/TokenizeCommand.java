package dev.tokc.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokc.runtime.tokenizer.ChatTemplate;
import dev.tokc.runtime.tokenizer.Tokenizer;
import dev.tokc.runtime.tokenizer.Tokenizers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.OptionGroup;
import org.apache.commons.cli.Options;

/**
 * {@code tokc tokenize TOKENIZER (--text T [--special] | --decode 1,2,3 | --chat MESSAGES.json)}: encode text to
 * ids (JSON), decode ids to text, or render the chat template with the generation prompt. TOKENIZER is a model or
 * engine directory, a tokenizer.json, a tokenizer.model, or a directory with encoder.json + vocab.bpe.
 */
final class TokenizeCommand implements Command {
    @Override
    public String name() {
        return "tokenize";
    }

    @Override
    public String summary() {
        return "encode text to token ids, decode ids, or render a chat template";
    }

    @Override
    public String usage() {
        return "TOKENIZER (--text T [--special] | --decode 1,2,3 | --chat MESSAGES.json)";
    }

    @Override
    public Options options() {
        Options o = new Options();
        OptionGroup mode = new OptionGroup();
        mode.setRequired(true);
        mode.addOption(Option.builder().longOpt("text").hasArg().argName("TEXT").desc("text to encode; prints the ids as JSON").build());
        mode.addOption(Option.builder().longOpt("decode").hasArg().argName("IDS").desc("comma-separated ids to decode").build());
        mode.addOption(Option.builder().longOpt("chat").hasArg().argName("FILE")
                .desc("JSON list of {role, content} messages; prints the chat template's rendering with the generation prompt").build());
        o.addOptionGroup(mode);
        o.addOption(Option.builder().longOpt("special").desc("add BOS/EOS as the tokenizer does (with --text)").build());
        return o;
    }

    @Override
    public int run(CommandLine cmd, Io io) throws Exception {
        Path path = Args.single(cmd, "TOKENIZER");
        if (cmd.hasOption("chat")) {
            Path msgs = Path.of(cmd.getOptionValue("chat"));
            if (!Files.isRegularFile(msgs)) {
                throw new UserError(msgs + ": no such file (expected a JSON list of messages)");
            }
            List<Map<String, Object>> messages;
            try {
                messages = new ObjectMapper().readValue(msgs.toFile(), new TypeReference<>() {});
            } catch (java.io.IOException e) {
                throw new UserError(msgs + ": expected a JSON list of {\"role\": ..., \"content\": ...} objects ("
                        + e.getMessage().lines().findFirst().orElse("") + ")");
            }
            Path config = Files.isDirectory(path) ? path : path.resolveSibling("tokenizer_config.json");
            io.out().print(ChatTemplate.load(config).render(messages, true));
            return 0;
        }
        Tokenizer tok = Tokenizers.load(path);
        if (cmd.hasOption("decode")) {
            long[] ids = Args.longList("decode", cmd.getOptionValue("decode"));
            int[] asInts = new int[ids.length];
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] < 0 || ids[i] >= tok.vocabSize()) {
                    throw new UserError("token id " + ids[i] + " is outside the vocabulary [0, " + tok.vocabSize() + ")");
                }
                asInts[i] = (int) ids[i];
            }
            io.out().println(tok.decode(asInts));
            return 0;
        }
        int[] ids = tok.encode(cmd.getOptionValue("text"), cmd.hasOption("special"));
        io.out().println(Arrays.toString(ids));
        return 0;
    }
}
