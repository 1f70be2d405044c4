package dev.stasis.backend.filesystem;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.FlowResult;
import dev.stasis.FlowStatus;
import dev.stasis.PersistenceHub;
import dev.stasis.security.KeyRing;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;

/**
 * Two JVMs resume the same keys in the same directory at the same time: across both processes exactly one resume
 * wins per key and the side effect runs once per flow. The child is {@link TwoProcessChild}, started with this JVM's
 * {@code java} and class path and the same key ring through {@code STASIS_KEYS}.
 */
class TwoProcessResumeIT {

    private static final int KEYS = 100;
    private static final int PER_KEY = 8;

    @TempDir
    Path tmp;

    @Test
    @DisplayName("two processes, 100 keys x 8 resumes each: one winner per key and one charge per flow in all")
    void twoProcessesOneWinnerPerKey() throws Exception {
        Path storeDir = tmp.resolve("store");
        String keys = "two:" + Base64.getEncoder().encodeToString(KeyRing.generateKey());
        KeyRing ring = KeyRing.fromEnvironment(Map.of(KeyRing.ENV_KEYS, keys));
        StormFlow storm = new StormFlow();
        PersistenceHub hub = PersistenceHub.builder(FilesystemStore.builder(storeDir).build(), ring)
                .register(storm.flow)
                .instanceId("parent")
                .build();
        List<StormFlow.Started> flows = Flux.range(0, KEYS)
                .concatMap(i -> hub.start(storm.flow, new StormFlow.Order("o-" + i, 10 * i)))
                .cast(FlowResult.Suspended.class)
                .map(s -> new StormFlow.Started(s.flowId(), s.key()))
                .collectList()
                .block(Duration.ofMinutes(2));
        assertThat(flows).hasSize(KEYS);
        Path keysFile = tmp.resolve("keys.txt");
        List<String> lines = new ArrayList<>();
        flows.forEach(f -> lines.add(f.flowId() + " " + f.key()));
        Files.write(keysFile, lines, StandardCharsets.UTF_8);

        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                TwoProcessChild.class.getName(), storeDir.toString(), keysFile.toString(), String.valueOf(PER_KEY));
        pb.environment().put(KeyRing.ENV_KEYS, keys);
        pb.redirectError(tmp.resolve("child.err").toFile());
        Process child = pb.start();
        BlockingQueue<String> out = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    out.add(line);
                }
            } catch (IOException e) {
                out.add("READ-ERROR " + e);
            }
            out.add("EOF");
        }, "child-stdout");
        reader.start();
        try {
            String first = out.poll(2, TimeUnit.MINUTES);
            assertThat(first).as("child start-up; stderr: " + childErr()).isEqualTo("READY");
            try (OutputStream stdin = child.getOutputStream()) {
                stdin.write("GO\n".getBytes(StandardCharsets.US_ASCII));
            }
            StormFlow.Outcome mine = StormFlow.storm(hub, flows, PER_KEY, "parent");
            assertThat(child.waitFor(5, TimeUnit.MINUTES)).as("child finished").isTrue();
            reader.join(TimeUnit.MINUTES.toMillis(1));
            assertThat(child.exitValue()).as("child exit; stderr: " + childErr()).isZero();

            List<String> childLines = new ArrayList<>();
            out.drainTo(childLines);
            Map<String, Integer> childCharges = new HashMap<>();
            List<String> childWins = new ArrayList<>();
            int childRefused = -1;
            for (String line : childLines) {
                String[] p = line.split(" ");
                switch (p[0]) {
                    case "WIN" -> childWins.add(p[1]);
                    case "CHARGE" -> childCharges.put(p[1], Integer.parseInt(p[2]));
                    case "DONE" -> childRefused = Integer.parseInt(p[1].substring("refused=".length()));
                    case "EOF" -> { }
                    default -> throw new AssertionError("unexpected child output: " + line);
                }
            }
            System.err.printf("[two-process] %d keys x %d resumes in each of 2 JVMs: parent won %d, child won %d,"
                    + " refused %d + %d%n", KEYS, PER_KEY, mine.won().size(), childWins.size(), mine.refused(),
                    childRefused);
            assertThat(mine.other()).as("parent's unexpected outcomes").isEmpty();
            for (StormFlow.Started f : flows) {
                int wins = (mine.won().contains(f.flowId()) ? 1 : 0) + (childWins.contains(f.flowId()) ? 1 : 0);
                assertThat(wins).as("winners of " + f.flowId()).isEqualTo(1);
                AtomicInteger parentCharges = storm.charges.get(f.flowId());
                int charges = (parentCharges == null ? 0 : parentCharges.get())
                        + childCharges.getOrDefault(f.flowId(), 0);
                assertThat(charges).as("charges of " + f.flowId()).isEqualTo(1);
                assertThat(hub.result(f.flowId()).map(FlowResult::status).block(Duration.ofSeconds(30)))
                        .isEqualTo(FlowStatus.COMPLETED);
            }
            assertThat(mine.won().size() + childWins.size()).isEqualTo(KEYS);
            assertThat(mine.refused() + childRefused).isEqualTo(KEYS * (2 * PER_KEY - 1));
        } finally {
            child.destroyForcibly();
        }
    }

    private String childErr() {
        try {
            return Files.readString(tmp.resolve("child.err"));
        } catch (IOException e) {
            return e.toString();
        }
    }
}
