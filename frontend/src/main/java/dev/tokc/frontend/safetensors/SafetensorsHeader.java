package dev.tokc.frontend.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.tokc.frontend.ModelFormatException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The validated JSON header of a safetensors file: tensor entries in header order plus the optional
 * {@code __metadata__} string map.
 *
 * <p>Validation is separate from mapping the file so that the offset arithmetic (longs throughout) can be tested
 * against data areas of many gigabytes without writing them. {@link #parse} accepts exactly what the format
 * specifies and rejects everything else with a {@link ModelFormatException} naming the file and the tensor or
 * field:
 * <ul>
 *   <li>the header is one JSON object (UTF-8, no duplicate keys, only trailing whitespace after it);</li>
 *   <li>{@code __metadata__}, if present, maps strings to strings;</li>
 *   <li>every other key is a tensor with exactly the fields {@code dtype} (a supported {@link DType} name),
 *       {@code shape} (non-negative integers) and {@code data_offsets} ({@code [begin, end]}, {@code 0 <= begin <= end
 *       <= data area size});</li>
 *   <li>{@code end - begin} equals the element count times the dtype size;</li>
 *   <li>the byte ranges neither overlap nor leave holes and together cover the data area exactly (the format
 *       forbids holes so that a file cannot hide a second payload).</li>
 * </ul>
 */
public record SafetensorsHeader(String file, Map<String, String> metadata, List<TensorEntry> tensors, long dataSize) {
    /** The reference implementation's bound on the header; larger headers are treated as corrupt. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final Set<String> TENSOR_FIELDS = Set.of("dtype", "shape", "data_offsets");

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    public SafetensorsHeader {
        metadata = Map.copyOf(metadata);
        tensors = List.copyOf(tensors);
    }

    /**
     * Validates {@code json}, the header bytes of {@code file}, against a data area of {@code dataSize} bytes.
     *
     * @param file the file name used in error messages
     */
    public static SafetensorsHeader parse(String file, byte[] json, long dataSize) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(file + ": header is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ModelFormatException(file + ": header is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(file + ": header must be a JSON object");
        }
        Map<String, String> metadata = Map.of();
        List<TensorEntry> tensors = new ArrayList<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            if (field.getKey().equals("__metadata__")) {
                metadata = parseMetadata(file, field.getValue());
            } else {
                tensors.add(parseEntry(file, field.getKey(), field.getValue(), dataSize));
            }
        }
        checkLayout(file, tensors, dataSize);
        return new SafetensorsHeader(file, metadata, tensors, dataSize);
    }

    private static Map<String, String> parseMetadata(String file, JsonNode node) {
        if (!node.isObject()) {
            throw new ModelFormatException(file + ": __metadata__ must be an object of strings, got " + node.getNodeType());
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) {
                throw new ModelFormatException(file + ": __metadata__ field '" + e.getKey() + "' must be a string, got "
                        + e.getValue().getNodeType());
            }
            metadata.put(e.getKey(), e.getValue().textValue());
        }
        return metadata;
    }

    private static TensorEntry parseEntry(String file, String name, JsonNode node, long dataSize) {
        String where = file + ": tensor '" + name + "'";
        if (!node.isObject()) {
            throw new ModelFormatException(where + ": entry must be an object, got " + node.getNodeType());
        }
        for (Map.Entry<String, JsonNode> property : node.properties()) {
            String f = property.getKey();
            if (!TENSOR_FIELDS.contains(f)) {
                throw new ModelFormatException(where + ": unknown field '" + f + "' (expected dtype, shape, data_offsets)");
            }
        }
        JsonNode dtypeNode = required(where, node, "dtype");
        if (!dtypeNode.isTextual()) {
            throw new ModelFormatException(where + ": field 'dtype' must be a string");
        }
        DType dtype = DType.fromName(dtypeNode.textValue()).orElseThrow(() -> new ModelFormatException(
                where + ": unknown dtype '" + dtypeNode.textValue() + "' (supported: " + DType.names() + ")"));

        JsonNode shapeNode = required(where, node, "shape");
        if (!shapeNode.isArray()) {
            throw new ModelFormatException(where + ": field 'shape' must be an array of integers");
        }
        List<Long> shape = new ArrayList<>();
        for (int i = 0; i < shapeNode.size(); i++) {
            long d = integer(where, "shape[" + i + "]", shapeNode.get(i));
            if (d < 0) {
                throw new ModelFormatException(where + ": field 'shape' has negative dimension " + d + " at index " + i);
            }
            shape.add(d);
        }

        JsonNode offsets = required(where, node, "data_offsets");
        if (!offsets.isArray() || offsets.size() != 2) {
            throw new ModelFormatException(where + ": field 'data_offsets' must be an array [begin, end]");
        }
        long begin = integer(where, "data_offsets[0]", offsets.get(0));
        long end = integer(where, "data_offsets[1]", offsets.get(1));
        if (begin < 0 || begin > end) {
            throw new ModelFormatException(where + ": field 'data_offsets' [" + begin + ", " + end
                    + "] must satisfy 0 <= begin <= end");
        }
        if (end > dataSize) {
            throw new ModelFormatException(where + ": field 'data_offsets' [" + begin + ", " + end
                    + "] runs past the end of the data area (" + dataSize + " bytes)");
        }
        long elements;
        try {
            elements = 1;
            for (long d : shape) {
                elements = Math.multiplyExact(elements, d);
            }
            long expected = Math.multiplyExact(elements, (long) dtype.byteSize());
            if (expected != end - begin) {
                throw new ModelFormatException(where + ": shape " + shape + " x " + dtype + " (" + dtype.byteSize()
                        + " bytes) needs " + expected + " bytes but data_offsets [" + begin + ", " + end + "] hold "
                        + (end - begin));
            }
        } catch (ArithmeticException e) {
            throw new ModelFormatException(where + ": shape " + shape + " overflows a 64-bit byte count", e);
        }
        return new TensorEntry(name, dtype, shape, begin, end);
    }

    private static JsonNode required(String where, JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            throw new ModelFormatException(where + ": missing field '" + field + "'");
        }
        return v;
    }

    private static long integer(String where, String field, JsonNode v) {
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong()) {
            throw new ModelFormatException(where + ": " + field + " must be an integer that fits in 64 bits, got "
                    + (v == null ? "nothing" : v.toString()));
        }
        return v.longValue();
    }

    /** Sorted by offset, the ranges must tile [0, dataSize) exactly: no overlaps, no holes, no trailing bytes. */
    private static void checkLayout(String file, List<TensorEntry> tensors, long dataSize) {
        List<TensorEntry> byOffset = new ArrayList<>(tensors);
        // Zero-length tensors sort before a non-empty one at the same offset, so they never look like overlaps.
        byOffset.sort(Comparator.comparingLong(TensorEntry::begin).thenComparingLong(TensorEntry::end));
        long cursor = 0;
        TensorEntry previous = null;
        for (TensorEntry t : byOffset) {
            if (t.begin() < cursor) {
                throw new ModelFormatException(file + ": tensor '" + t.name() + "' [" + t.begin() + ", " + t.end()
                        + ") overlaps tensor '" + previous.name() + "' [" + previous.begin() + ", " + previous.end() + ")");
            }
            if (t.begin() > cursor) {
                throw new ModelFormatException(file + ": hole in the data area: bytes [" + cursor + ", " + t.begin()
                        + ") before tensor '" + t.name() + "' belong to no tensor");
            }
            cursor = t.end();
            previous = t;
        }
        if (cursor != dataSize) {
            throw new ModelFormatException(file + ": data area has " + dataSize + " bytes but the tensors cover only "
                    + cursor + " (trailing bytes belong to no tensor)");
        }
    }
}
