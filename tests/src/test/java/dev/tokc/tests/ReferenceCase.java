package dev.tokc.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokc.ir.testing.SharedData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * One reference of ../shared/models: a prompt's token ids, the framework's float32 logits [seq, vocab] for it and
 * its greedy continuation, as README.md of shared/ describes.
 */
record ReferenceCase(String model, Path modelDir, String name, long[] inputIds, float[] logits, int vocab,
                     long[] greedyIds) {

    @Override
    public String toString() {
        return model + "/" + name;
    }

    float logit(int position, int token) {
        return logits[position * vocab + token];
    }

    static List<ReferenceCase> all() throws IOException {
        List<ReferenceCase> out = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(SharedData.models())) {
            for (Path dir : dirs.filter(Files::isDirectory).sorted().toList()) {
                try (Stream<Path> files = Files.list(dir)) {
                    for (Path f : files.filter(p -> p.getFileName().toString().matches("reference(-\\d+)?\\.json")).sorted().toList()) {
                        out.add(read(dir, f));
                    }
                }
            }
        }
        return out;
    }

    static ReferenceCase read(Path dir, Path json) throws IOException {
        JsonNode j = new ObjectMapper().readTree(json.toFile());
        long[] ids = longs(j.get("input_ids"));
        long[] greedy = longs(j.get("greedy_ids"));
        JsonNode shape = j.get("logits_shape");
        int seq = shape.get(0).asInt();
        int vocab = shape.get(1).asInt();
        byte[] raw = Files.readAllBytes(dir.resolve(j.get("logits_file").asText()));
        if (raw.length != 4L * seq * vocab || seq != ids.length) {
            throw new IOException(json + ": logits file does not hold [" + seq + ", " + vocab + "] float32");
        }
        float[] logits = new float[seq * vocab];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(logits);
        String name = json.getFileName().toString().replace(".json", "");
        return new ReferenceCase(dir.getFileName().toString(), dir, name, ids, logits, vocab, greedy);
    }

    private static long[] longs(JsonNode arr) {
        long[] out = new long[arr.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = arr.get(i).asLong();
        }
        return out;
    }
}
