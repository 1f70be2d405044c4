package dev.stasis.backend.filesystem;

import dev.stasis.PersistenceHub;
import dev.stasis.security.KeyRing;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The second process of {@link TwoProcessResumeIT}: opens the same store directory with the key ring from
 * {@code STASIS_KEYS}, prints {@code READY}, waits for {@code GO} on stdin, resumes every key of the keys file
 * {@code perKey} times, and prints what it won and charged.
 *
 * <p>Arguments: store directory, keys file ({@code flowId key} per line), resumes per key.
 */
public final class TwoProcessChild {

    private TwoProcessChild() {}

    /**
     * Runs the child.
     *
     * @param args store directory, keys file, resumes per key
     * @throws Exception on any failure (the parent sees a non-zero exit)
     */
    public static void main(String[] args) throws Exception {
        Path storeDir = Path.of(args[0]);
        List<StormFlow.Started> flows = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(args[1]), StandardCharsets.UTF_8)) {
            String[] parts = line.split(" ");
            flows.add(new StormFlow.Started(parts[0], parts[1]));
        }
        int perKey = Integer.parseInt(args[2]);
        StormFlow storm = new StormFlow();
        PersistenceHub hub = PersistenceHub.builder(FilesystemStore.builder(storeDir).build(), KeyRing.fromEnvironment())
                .register(storm.flow)
                .instanceId("child")
                .build();
        hub.provision().block(Duration.ofSeconds(30));
        // warm up the code paths on a key nobody holds
        hub.result(flows.get(0).flowId()).block(Duration.ofSeconds(30));
        System.out.println("READY");
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        if (!"GO".equals(in.readLine())) {
            throw new IllegalStateException("expected GO");
        }
        StormFlow.Outcome outcome = StormFlow.storm(hub, flows, perKey, "child");
        for (String id : outcome.won()) {
            System.out.println("WIN " + id);
        }
        for (Map.Entry<String, AtomicInteger> e : storm.charges.entrySet()) {
            System.out.println("CHARGE " + e.getKey() + " " + e.getValue().get());
        }
        for (String o : outcome.other()) {
            System.out.println("OTHER " + o);
        }
        System.out.println("DONE refused=" + outcome.refused());
        System.out.flush();
        System.exit(0);
    }
}
