package dev.stasis.samples;

import dev.stasis.AlreadyResumedException;
import dev.stasis.FlowResult;
import dev.stasis.InputValidationException;
import dev.stasis.ResumeOptions;
import dev.stasis.WaitHandle;
import dev.stasis.security.ResumeKeys;
import dev.stasis.spi.FlowRecord;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code demo}: the approval walk-through. Starts a purchase that suspends for a manager's approval, shows that a bad
 * input is rejected while the flow stays suspended, resumes it from a second JVM ({@code resume KEY JSON} of this
 * same program), shows that a second resume of the key is refused, and finally greps the data directory for the key
 * and the order's plaintext (finding neither). Runs in development key mode.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Approval walk-through on the filesystem store (development key mode).")
final class DemoCommand implements Callable<Integer> {

    private static final Duration T = Duration.ofMinutes(1);
    private static final String BAD_INPUT = "{\"approved\":\"yes\"}";
    private static final String APPROVER = "Grace Hopper";
    private static final String COMMENT = "Within the Q3 furniture budget";
    private static final String GOOD_INPUT = "{\"approved\":true,\"approver\":\"" + APPROVER + "\",\"comment\":\""
            + COMMENT + "\"}";

    @Mixin
    Main.DataOptions options = new Main.DataOptions();

    /** A step that did not go as the demo expects. */
    static final class DemoFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        DemoFailure(String message) {
            super(message);
        }
    }

    @Override
    public Integer call() throws IOException, InterruptedException {
        try {
            run();
            return 0;
        } catch (DemoFailure e) {
            System.out.println();
            System.out.println("DEMO FAILED: " + e.getMessage());
            return 1;
        }
    }

    private void run() throws IOException, InterruptedException {
        long pid = ProcessHandle.current().pid();
        title("Stasis demo: a purchase approval on the filesystem store");
        Workspace ws = Workspace.open(options.data, true, "demo-" + pid);
        field("demo process", String.valueOf(pid));
        field("data directory", ws.data.toString());
        field("store", ws.storeDir.toString());
        field("key", ws.keySource);
        if (ws.keySource.startsWith("DEVELOPMENT")) {
            System.out.println("  (development mode was asked for explicitly by this demo; without it and without"
                    + " STASIS_KEYS or STASIS_KEY_FILE, Stasis refuses to start)");
        }

        // 1 ------------------------------------------------------------------------------------------------------
        section("1. Start a purchase flow");
        PurchaseFlow.Order order = new PurchaseFlow.Order(
                String.format("PO-%06d", ThreadLocalRandom.current().nextInt(1_000_000)), "Ada Lovelace",
                "Standing desk, walnut", 1500);
        System.out.println("Order " + order.orderId() + ": " + order.customer() + " buys \"" + order.item() + "\" for "
                + order.amountEur() + " EUR (over 1000 EUR: a manager must approve).");
        FlowResult started = ws.hub.start(PurchaseFlow.FLOW, order).block(T);
        if (!(started instanceof FlowResult.Suspended s)) {
            throw new DemoFailure("expected the flow to suspend, got " + started);
        }
        String key = s.key();
        WaitHandle wait = s.waits().get(0);
        Instant deadline = Objects.requireNonNull(s.expiresAt(), "deadline");
        System.out.println("The flow is SUSPENDED: nothing of it is in memory any more, its state is sealed on disk.");
        field("flow id", s.flowId());
        field("waiting for", wait.awaitId() + " (" + wait.name() + ": " + wait.description() + ")");
        field("resume key", key);
        Duration left = Duration.between(Instant.now(), deadline);
        field("deadline", deadline.truncatedTo(ChronoUnit.SECONDS) + " (in " + left.toHours() + "h "
                + left.toMinutesPart() + "m; then the wait times out)");
        System.out.println("The key is a bearer capability handed out once; the store keeps only its SHA-256.");

        // 2 ------------------------------------------------------------------------------------------------------
        section("2. A bad input is rejected, and the flow stays suspended");
        long versionBefore = version(ws, s.flowId());
        System.out.println("Resume with " + BAD_INPUT + " ...");
        try {
            ws.hub.resumeJson(key, BAD_INPUT, ResumeOptions.none()).block(T);
            throw new DemoFailure("the bad input was accepted");
        } catch (InputValidationException e) {
            System.out.println("Rejected: the input does not fit wait '" + e.awaitId() + "' (a webhook answers 400):");
            e.violations().forEach(v -> System.out.println("  - " + (v.path().isEmpty() ? "(the document)"
                    : v.path()) + ": " + v.message()));
        }
        FlowResult afterBad = ws.hub.result(s.flowId()).block(T);
        long versionAfter = version(ws, s.flowId());
        if (!(afterBad instanceof FlowResult.Suspended) || versionAfter != versionBefore) {
            throw new DemoFailure("the flow changed after a rejected input: " + afterBad);
        }
        System.out.println("Flow status afterwards: " + afterBad.status() + " (record version " + versionAfter
                + ", unchanged). The key still works.");

        // 3 ------------------------------------------------------------------------------------------------------
        section("3. Resume it in a separate process");
        String classPath = System.getProperty("java.class.path");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = List.of(java.toString(), "-cp", classPath, Main.class.getName(), "resume", key,
                GOOD_INPUT, "--data", ws.data.toString(), "--dev-key");
        System.out.println("This JVM starts another one, which opens the same directory and resumes the key:");
        System.out.println("$ java -cp " + shorten(classPath) + " " + Main.class.getName() + " resume " + key + " '"
                + GOOD_INPUT + "' --data " + ws.data + " --dev-key");
        int exit = runChild(command);
        if (exit != 0) {
            throw new DemoFailure("the resume process exited with " + exit);
        }
        FlowResult done = ws.hub.result(s.flowId()).block(T);
        if (!(done instanceof FlowResult.Completed c)) {
            throw new DemoFailure("expected the flow to be completed, got " + done);
        }
        System.out.println("Back in the demo process " + pid + ", the store says: " + done.status());
        field("receipt", String.valueOf(c.output()));
        System.out.println("\"reserved ... budget\" ran once, before the suspension; the resumed flow replayed it"
                + " from its journal and only placed the order.");

        // 4 ------------------------------------------------------------------------------------------------------
        section("4. A second resume of the same key is refused");
        System.out.println("Resume again with the same key ...");
        try {
            FlowResult again = ws.hub.resumeJson(key, GOOD_INPUT, ResumeOptions.none()).block(T);
            throw new DemoFailure("a second resume was accepted: " + again);
        } catch (AlreadyResumedException e) {
            System.out.println("Refused: already resumed (" + e.getMessage() + "; a webhook answers 409)."
                    + " Exactly one resume of a key wins.");
        }

        // 5 ------------------------------------------------------------------------------------------------------
        section("5. Where the state lives, and what the files reveal");
        String keyHash = ResumeKeys.hash(key);
        Path recordFile = ws.storeDir.resolve("records").resolve(s.flowId());
        Path keyEntry = ws.storeDir.resolve("keys").resolve(keyHash);
        System.out.println("Files of this flow:");
        listFile(ws.data, recordFile, "plain index header + the AES-256-GCM sealed state");
        listFile(ws.data, keyEntry, "the key's SHA-256 -> flow id (lookups go by hash)");
        System.out.println("Searching every file under " + ws.data + " (" + SecretScan.files(ws.data).size()
                + " files) for readable state:");
        Map<String, String> secrets = new LinkedHashMap<>();
        secrets.put("the resume key", key);
        secrets.put("the resume key without its prefix", key.substring(ResumeKeys.PREFIX.length()));
        secrets.put("order id \"" + order.orderId() + "\"", order.orderId());
        secrets.put("customer \"" + order.customer() + "\"", order.customer());
        secrets.put("item \"" + order.item() + "\"", order.item());
        secrets.put("approver \"" + APPROVER + "\"", APPROVER);
        secrets.put("comment \"" + COMMENT + "\"", COMMENT);
        List<String> leaks = new ArrayList<>();
        for (Map.Entry<String, String> e : secrets.entrySet()) {
            List<Path> hits = SecretScan.filesContaining(ws.data, e.getValue());
            System.out.printf("  %-45s %s%n", e.getKey(), hits.isEmpty() ? "not found" : "FOUND in " + hits);
            if (!hits.isEmpty()) {
                leaks.add(e.getKey());
            }
        }
        List<Path> hashHits = SecretScan.filesContaining(ws.data, keyHash);
        System.out.printf("  %-45s found in %s (expected: lookups go by hash)%n",
                "the key's SHA-256 (" + keyHash.substring(0, 12) + "...)",
                hashHits.stream().map(p -> ws.data.relativize(p).toString()).toList());
        if (!leaks.isEmpty()) {
            throw new DemoFailure("readable state found on disk: " + leaks);
        }
        System.out.println("No readable state: the order and the approval are inside the sealed state only.");

        section("Done");
        System.out.println("All steps behaved as expected. Look around:");
        System.out.println("  java -jar samples/target/stasis-samples.jar list --data " + options.data + " --dev-key");
        System.out.println("  ls -lR " + options.data);
    }

    private static long version(Workspace ws, String flowId) {
        FlowRecord r = ws.store.findById(flowId).block(T);
        if (r == null) {
            throw new DemoFailure("flow " + flowId + " is not stored");
        }
        return r.version();
    }

    private static int runChild(List<String> command) throws IOException, InterruptedException {
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                System.out.println("  | " + line);
            }
        }
        if (!child.waitFor(2, TimeUnit.MINUTES)) {
            child.destroyForcibly();
            throw new DemoFailure("the resume process did not finish within 2 minutes");
        }
        System.out.println("  (process " + child.pid() + " exited with " + child.exitValue() + ")");
        return child.exitValue();
    }

    private static void listFile(Path base, Path file, String what) throws IOException {
        if (!Files.exists(file)) {
            throw new DemoFailure("expected " + file + " to exist");
        }
        String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
        System.out.printf("  %s %5d bytes  %s%n      %s%n", mode, Files.size(file), base.relativize(file), what);
    }

    private static String shorten(String classPath) {
        return classPath.length() > 60 ? classPath.substring(0, 57) + "..." : classPath;
    }

    private static void title(String text) {
        System.out.println(text);
        System.out.println("=".repeat(text.length()));
    }

    private static void section(String text) {
        System.out.println();
        System.out.println(text);
        System.out.println("-".repeat(text.length()));
    }

    private static void field(String name, String value) {
        System.out.printf("  %-15s %s%n", name + ":", value);
    }
}
