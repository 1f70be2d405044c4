package dev.stasis.backend.filesystem;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * The tests' side channel: reads and rewrites record files with plain java.nio and its own reading of the documented
 * format (magic, version, header length, header, CRC, state length, state, CRC), without the store's classes.
 */
final class RawFiles {

    private RawFiles() {}

    static Path recordFile(Path storeDir, String flowId) {
        return storeDir.resolve("records").resolve(flowId);
    }

    /** The sealed state bytes of a record file. */
    static byte[] state(Path storeDir, String flowId) throws IOException {
        byte[] file = Files.readAllBytes(recordFile(storeDir, flowId));
        int headerLength = ByteBuffer.wrap(file, 5, 4).getInt();
        int stateStart = 9 + headerLength + 4;
        int stateLength = ByteBuffer.wrap(file, stateStart, 4).getInt();
        return Arrays.copyOfRange(file, stateStart + 4, stateStart + 4 + stateLength);
    }

    /** Rewrites a record file with other state bytes and consistent checksums, as an attacker with file access could. */
    static void replaceState(Path storeDir, String flowId, byte[] state) throws IOException {
        Path path = recordFile(storeDir, flowId);
        byte[] file = Files.readAllBytes(path);
        int headerLength = ByteBuffer.wrap(file, 5, 4).getInt();
        int headerEnd = 9 + headerLength + 4;
        ByteBuffer out = ByteBuffer.allocate(headerEnd + 4 + state.length + 4);
        out.put(file, 0, headerEnd);
        out.putInt(state.length).put(state);
        CRC32C crc = new CRC32C();
        crc.update(out.array(), headerEnd, 4 + state.length);
        out.putInt((int) crc.getValue());
        Path temp = path.resolveSibling(".side-channel.tmp");
        Files.write(temp, out.array());
        Files.move(temp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Everything stored about a flow: its record file and the index entries naming it, as ISO-8859-1 text. */
    static String dump(Path storeDir, String flowId) throws IOException {
        StringBuilder sb = new StringBuilder();
        Path record = recordFile(storeDir, flowId);
        sb.append(storeDir.relativize(record)).append(":\n")
                .append(new String(Files.readAllBytes(record), StandardCharsets.ISO_8859_1)).append('\n');
        for (String index : new String[] {"keys", "corr"}) {
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(storeDir.resolve(index))) {
                for (Path e : entries) {
                    String content = new String(Files.readAllBytes(e), StandardCharsets.ISO_8859_1);
                    if (content.equals(flowId)) {
                        sb.append(storeDir.relativize(e)).append(" -> ").append(content).append('\n');
                    }
                }
            }
        }
        return sb.toString();
    }

    /** Deletes a directory tree (test clean-up). */
    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
