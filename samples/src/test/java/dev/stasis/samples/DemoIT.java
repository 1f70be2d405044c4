package dev.stasis.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the README's demo command on the packaged jar ({@code java -jar target/stasis-samples.jar demo}) in a fresh data
 * directory, as a process without any key configured, and checks its story and the files it leaves behind.
 */
class DemoIT {

    @TempDir
    Path tmp;

    @Test
    @DisplayName("the demo runs end to end, exits 0, and leaves neither the key nor plaintext on disk")
    void demoRunsEndToEnd() throws Exception {
        Path jar = Path.of(System.getProperty("stasis.samples.jar", "target/stasis-samples.jar"));
        assertThat(jar).as("the shaded jar (run the integration-test phase after package)").isRegularFile();
        Path data = tmp.resolve("data");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(java.toString(), "-jar", jar.toString(), "demo", "--data",
                data.toString()).redirectErrorStream(true).directory(tmp.toFile());
        pb.environment().remove("STASIS_KEYS");
        pb.environment().remove("STASIS_KEY_FILE");
        pb.environment().remove("STASIS_PRIMARY_KEY");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(3, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();

        assertThat(out).contains("DEVELOPMENT MODE")
                .contains("1. Start a purchase flow")
                .contains("The flow is SUSPENDED")
                .contains("resume key:")
                .contains("deadline:")
                .contains("2. A bad input is rejected, and the flow stays suspended")
                .contains("Rejected: the input does not fit wait 'manager-approval'")
                .contains("/approved")
                .contains("Flow status afterwards: SUSPENDED")
                .contains("3. Resume it in a separate process")
                .contains("the store says: COMPLETED")
                .contains("4. A second resume of the same key is refused")
                .contains("Refused: already resumed")
                .contains("5. Where the state lives")
                .contains("No readable state")
                .contains("All steps behaved as expected")
                .doesNotContain("Exception in thread")
                .doesNotContain("\tat ");

        // the resume ran in another process than the demo, and only there did the order get placed
        long demoPid = Long.parseLong(group(out, "demo process:\\s+(\\d+)"));
        long childPid = Long.parseLong(group(out, "process (\\d+): resuming with"));
        assertThat(childPid).isNotEqualTo(demoPid);
        assertThat(out).contains("[side effect in process " + demoPid + "] reserved")
                .contains("[side effect in process " + childPid + "] placed the order")
                .doesNotContain("[side effect in process " + childPid + "] reserved");

        // our own grep over the data directory
        String key = group(out, "resume key:\\s+(sk1_[A-Za-z0-9_-]+)");
        String orderId = group(out, "Order (PO-\\d+):");
        List<Path> files;
        try (Stream<Path> s = Files.walk(data)) {
            files = s.filter(Files::isRegularFile).toList();
        }
        assertThat(files).hasSizeGreaterThanOrEqualTo(3);
        try (Stream<Path> s = Files.walk(data)) {
            for (Path f : s.toList()) {
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).as(f.toString())
                        .isEqualTo(Files.isDirectory(f) ? "rwx------" : "rw-------");
            }
        }
        for (String secret : List.of(key, key.substring(4), orderId, "Ada Lovelace", "Standing desk", "Grace Hopper",
                "Q3 furniture")) {
            for (Path f : files) {
                assertThat(contains(f, secret)).as(secret + " in " + f).isFalse();
            }
        }
    }

    private static String group(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertThat(m.find()).as("/" + regex + "/ in the output").isTrue();
        return m.group(1);
    }

    private static boolean contains(Path file, String needle) throws IOException {
        String haystack = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
        return haystack.contains(new String(needle.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1));
    }
}
