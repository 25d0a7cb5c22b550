package dev.tokc.frontend.onnx;

import dev.tokc.frontend.ModelFormatException;
import dev.tokc.frontend.onnx.proto.StringStringEntryProto;
import dev.tokc.frontend.onnx.proto.TensorProto;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Where the bytes of a tensor stored outside the model file are: a byte range of a file next to the model.
 *
 * <p>ONNX writes large initializers to separate files and records, in the TensorProto's {@code external_data}
 * entries, a {@code location} relative to the model file's directory and optionally {@code offset} and
 * {@code length} in bytes. {@link #resolve} turns those entries into a checked range: the location must name a
 * regular file inside the model's directory (after following symbolic links, so a crafted model cannot read
 * {@code ../../etc/passwd}), and the range must lie within the file. It does not read anything, so an importer
 * can memory-map the range instead of copying it; {@link #read} copies it for small tensors.
 *
 * @param location the location string as written in the model
 * @param file     the resolved real path of the data file
 * @param offset   the first byte of the tensor in {@code file}
 * @param length   the number of bytes of the tensor
 */
public record OnnxExternalData(String location, Path file, long offset, long length) {

    /**
     * Resolves the external-data entries of {@code tensor} against {@code baseDirectory}, the directory of the
     * model file that contains it.
     *
     * @throws ModelFormatException when an entry is malformed, the file is missing or lies outside
     *                              {@code baseDirectory}, or the range does not fit in the file
     */
    public static OnnxExternalData resolve(TensorProto tensor, Path baseDirectory) {
        String what = "tensor '" + tensor.getName() + "'";
        String location = null;
        long offset = 0;
        long length = -1;
        for (StringStringEntryProto e : tensor.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> location = e.getValue();
                case "offset" -> offset = parseNonNegative(e.getValue(), "offset", what);
                case "length" -> length = parseNonNegative(e.getValue(), "length", what);
                default -> { } // "checksum" and keys of later IR versions do not change where the bytes are
            }
        }
        if (location == null || location.isEmpty()) {
            throw new ModelFormatException(what + " has external data without a 'location' entry");
        }
        Path file;
        try {
            Path base = baseDirectory.toRealPath();
            Path relative = Path.of(location);
            if (relative.isAbsolute()) {
                throw new ModelFormatException(what + ": external data location '" + location
                        + "' is absolute; ONNX requires a path relative to the model's directory");
            }
            Path candidate = base.resolve(relative).normalize();
            if (!candidate.startsWith(base)) {
                throw new ModelFormatException(what + ": external data location '" + location
                        + "' points outside the model's directory " + base);
            }
            if (!Files.isRegularFile(candidate)) {
                throw new ModelFormatException(what + ": external data file '" + location + "' not found in " + base);
            }
            file = candidate.toRealPath();
            if (!file.startsWith(base)) {
                throw new ModelFormatException(what + ": external data location '" + location
                        + "' links to " + file + ", outside the model's directory " + base);
            }
            long size = Files.size(file);
            if (offset > size) {
                throw new ModelFormatException(what + ": external data offset " + offset + " is past the end of '"
                        + location + "' (" + size + " bytes)");
            }
            if (length < 0) length = size - offset;
            if (length > size - offset) {
                throw new ModelFormatException(what + ": external data range [" + offset + ", " + offset + " + "
                        + length + ") runs past the end of '" + location + "' (" + size + " bytes)");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading external data of " + what + " in " + baseDirectory, e);
        }
        return new OnnxExternalData(location, file, offset, length);
    }

    /** Copies the range into a new array (so it must be under 2 GiB). */
    public byte[] read() {
        if (length > Integer.MAX_VALUE - 8) {
            throw new ModelFormatException("external data '" + location + "' range of " + length
                    + " bytes is too large to read into memory; map it instead");
        }
        ByteBuffer buffer = ByteBuffer.allocate((int) length);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long position = offset;
            while (buffer.hasRemaining()) {
                int n = channel.read(buffer, position);
                if (n < 0) {
                    throw new ModelFormatException("external data file '" + location + "' shrank while reading");
                }
                position += n;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading external data file " + file, e);
        }
        return buffer.array();
    }

    private static long parseNonNegative(String value, String key, String what) {
        try {
            long v = Long.parseLong(value.strip());
            if (v >= 0) return v;
        } catch (NumberFormatException ignored) {
            // reported below with the key it came from
        }
        throw new ModelFormatException(what + ": external data '" + key + "' is not a non-negative integer: '"
                + value + "'");
    }
}
