package dev.tokc.runtime.artifact;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * Reads and writes {@code manifest.json}. Reading is strict (unknown, missing, null or duplicate fields are errors)
 * because a manifest that does not say exactly what this runtime expects must not load half-understood; the
 * format version is checked before anything else so that an engine from another tokc gets a version message, not
 * a field error.
 */
final class ManifestJson {
    private static final ObjectMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    private ManifestJson() {}

    /** The manifest as indented UTF-8 JSON. */
    static byte[] write(Manifest m) {
        try {
            return JSON.writeValueAsBytes(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise a manifest", e);
        }
    }

    /**
     * Parses {@code json}.
     *
     * @throws ArtifactException naming manifest.json and the offending field, or the expected and found versions
     */
    static Manifest parse(byte[] json) {
        String where = ArtifactPaths.MANIFEST;
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (java.io.IOException e) {
            String detail = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new ArtifactException(where + ": not valid JSON (" + detail + "); the engine is damaged, recompile it");
        }
        if (root == null || !root.isObject()) {
            throw new ArtifactException(where + ": expected a JSON object");
        }
        JsonNode version = root.get("format_version");
        if (version == null || !version.canConvertToExactIntegral() || !version.canConvertToInt()) {
            throw new ArtifactException(where + ": no integer 'format_version' field; this is not a tokc engine manifest");
        }
        int found = version.intValue();
        if (found != Manifest.FORMAT_VERSION) {
            throw new ArtifactException(where + ": engine format version " + found + ", but this runtime reads format version "
                    + Manifest.FORMAT_VERSION + " (the engine was written by " + (found > Manifest.FORMAT_VERSION ? "a newer" : "an older")
                    + " tokc" + producer(root) + "); recompile the model with this tokc");
        }
        try {
            return JSON.treeToValue(root, Manifest.class);
        } catch (JsonMappingException e) {
            String detail = e instanceof ValueInstantiationException && e.getCause() != null
                    ? e.getCause().getMessage() : e.getOriginalMessage();
            throw new ArtifactException(where + ": invalid field '" + path(e) + "': " + detail, e);
        } catch (JsonProcessingException e) {
            throw new ArtifactException(where + ": " + e.getOriginalMessage(), e);
        }
    }

    private static String producer(JsonNode root) {
        JsonNode p = root.get("producer");
        return p != null && p.isTextual() ? ", " + p.textValue() : "";
    }

    // tensors[3].offset, from Jackson's reference chain.
    private static String path(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                if (!sb.isEmpty()) {
                    sb.append('.');
                }
                sb.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return sb.isEmpty() ? "(top level)" : sb.toString();
    }
}
