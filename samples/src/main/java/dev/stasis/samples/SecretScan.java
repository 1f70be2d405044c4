package dev.stasis.samples;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** A byte-level grep: which files under a directory contain a string (UTF-8). */
final class SecretScan {

    private SecretScan() {}

    /**
     * Every regular file under {@code root}.
     *
     * @param root the directory
     * @return the files, sorted
     * @throws IOException on read errors
     */
    static List<Path> files(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    /**
     * The files under {@code root} whose bytes contain {@code needle}.
     *
     * @param root the directory
     * @param needle the text
     * @return the files that contain it
     * @throws IOException on read errors
     */
    static List<Path> filesContaining(Path root, String needle) throws IOException {
        byte[] n = needle.getBytes(StandardCharsets.UTF_8);
        List<Path> hits = new ArrayList<>();
        for (Path f : files(root)) {
            if (indexOf(Files.readAllBytes(f), n) >= 0) {
                hits.add(f);
            }
        }
        return hits;
    }

    static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
