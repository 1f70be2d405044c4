package dev.stasis.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import dev.stasis.security.KeyRing;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.StateStore;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;

/**
 * Crash injection for stores that several processes can share: child JVMs ({@link CrashWorker}) run flows against
 * the store and are killed with SIGKILL at random moments of suspend and resume; after the last restart every flow
 * whose key was handed out must be completed, and the ledger in the store must hold its side effect exactly once.
 *
 * <p>Every incarnation starts {@link #flowsPerIncarnation()} new flows and resumes every key handed out before, so
 * each child is killed while it has work in flight (an idle child's death would prove nothing). {@link #parallelChildren()}
 * children run at once against the same store, so kills also land while another process is claiming the same keys.
 * The number of kills is {@link #kills()} (system property {@code stasis.crash.kills}, default 100). A last child
 * starts nothing new and runs to the end: it resumes every key and recovers the orphans of the killed ones.
 */
public abstract class AbstractCrashRecoveryTest {

    /**
     * The factory the child uses to open the same store.
     *
     * @return the factory class (public, no-argument constructor)
     */
    protected abstract Class<? extends ChildStoreFactory> childFactory();

    /**
     * Environment variables the child's factory reads (store location, credentials, prefix).
     *
     * @return the variables
     */
    protected abstract Map<String, String> childEnvironment();

    /**
     * The parent's own view of the same store, for the final checks.
     *
     * @return the store
     * @throws Exception when it cannot be opened
     */
    protected abstract StateStore parentStore() throws Exception;

    /**
     * How many SIGKILLs to inflict.
     *
     * @return the count
     */
    protected int kills() {
        return Integer.getInteger("stasis.crash.kills", 100);
    }

    /**
     * How many new flows each child starts (and resumes at once).
     *
     * @return the count
     */
    protected int flowsPerIncarnation() {
        return Integer.getInteger("stasis.crash.flowsPerIncarnation", 6);
    }

    /**
     * How many children run at once.
     *
     * @return the count
     */
    protected int parallelChildren() {
        return Integer.getInteger("stasis.crash.parallel", 2);
    }

    @Test
    @DisplayName("guarantee 4: SIGKILL at random points of suspend and resume loses no suspension and applies each side effect once")
    void sigkillLosesNothing(@TempDir Path dir) throws Exception {
        String prefix = "crash" + UUID.randomUUID().toString().substring(0, 8);
        Path keysFile = dir.resolve("keys.txt");
        byte[] key = KeyRing.generateKey();
        Map<String, String> env = new HashMap<>(childEnvironment());
        env.put(KeyRing.ENV_KEYS, "crash:" + Base64.getEncoder().encodeToString(key));
        Map<String, String> keys = new LinkedHashMap<>();
        AtomicInteger killed = new AtomicInteger();
        AtomicInteger incarnations = new AtomicInteger();
        long t0 = System.nanoTime();
        ExecutorService drivers = Executors.newFixedThreadPool(parallelChildren());
        try {
            List<Future<?>> loops = new ArrayList<>();
            for (int d = 0; d < parallelChildren(); d++) {
                loops.add(drivers.submit(() -> {
                    Random random = new Random();
                    while (killed.get() < kills()) {
                        incarnations.incrementAndGet();
                        Child child = Child.start(childFactory(), keysFile, flowsPerIncarnation(), prefix, env);
                        try {
                            assertThat(child.ready.await(120, TimeUnit.SECONDS))
                                    .as("child became ready; output:%n%s", child.output).isTrue();
                            // let it work for 0-600 ms, then kill it wherever it is
                            boolean exited = child.process.waitFor(random.nextInt(600), TimeUnit.MILLISECONDS);
                            if (!exited) {
                                child.process.destroyForcibly();
                                child.process.waitFor(30, TimeUnit.SECONDS);
                                killed.incrementAndGet();
                            }
                        } finally {
                            child.process.destroyForcibly();
                            child.drain();
                            record(keys, child.keys, keysFile);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> loop : loops) {
                loop.get(30, TimeUnit.MINUTES);
            }
        } finally {
            drivers.shutdownNow();
        }
        // a last incarnation runs to the end
        Child last = Child.start(childFactory(), keysFile, 0, prefix, env);
        boolean finished = last.process.waitFor(5, TimeUnit.MINUTES);
        last.drain();
        record(keys, last.keys, keysFile);
        assertThat(finished).as("final child finished").isTrue();
        assertThat(last.done.get()).as("final child reported DONE; output:\n" + last.output).isTrue();
        long seconds = (System.nanoTime() - t0) / 1_000_000_000L;

        StateStore store = parentStore();
        int completed = 0;
        List<String> notCompleted = new ArrayList<>();
        for (String flowId : keys.keySet()) {
            FlowRecord r = store.findById(flowId).block(Duration.ofSeconds(30));
            if (r != null && r.status() == FlowStatus.COMPLETED) {
                completed++;
            } else {
                notCompleted.add(flowId + "=" + (r == null ? "missing" : r.status()));
            }
        }
        Map<String, Integer> ledger = count(store, prefix + "-ledger", "ledger:");
        Map<String, Integer> attempts = count(store, prefix + "-attempt", "attempt:");
        long reExecuted = attempts.values().stream().filter(n -> n > 1).count();
        long orphans = Flux.from(store.query(QueryCriteria.builder().flowName(prefix + "-crash")
                        .status(FlowStatus.SUSPENDED).limit(QueryCriteria.MAX_LIMIT).build()))
                .count().block(Duration.ofMinutes(1));
        System.err.printf("[tck] %s crash injection: %d kills over %d incarnations, %d flows with keys, %d completed,"
                        + " %d ledger entries, %d flows whose last step ran more than once, %d suspended without a"
                        + " handed-out key, %d s%n",
                getClass().getSimpleName(), killed.get(), incarnations.get(), keys.size(), completed, ledger.size(), reExecuted,
                orphans, seconds);
        assertThat(killed.get()).isGreaterThanOrEqualTo(kills());
        assertThat(keys).isNotEmpty();
        assertThat(notCompleted).as("flows not completed").isEmpty();
        for (String flowId : keys.keySet()) {
            assertThat(ledger.getOrDefault(flowId, 0)).as("ledger entries of " + flowId).isEqualTo(1);
        }
    }

    private static Map<String, Integer> count(StateStore store, String flowName, String prefix) {
        Map<String, Integer> counts = new HashMap<>();
        String cursor = null;
        while (true) {
            QueryCriteria.Builder q = QueryCriteria.builder().flowName(flowName).limit(1000);
            if (cursor != null) q.afterFlowId(cursor);
            List<FlowRecord> page = store.query(q.build()).collectList().block(Duration.ofMinutes(1));
            if (page == null || page.isEmpty()) return counts;
            for (FlowRecord r : page) {
                String corr = r.correlationId();
                if (corr != null && corr.startsWith(prefix)) {
                    String flowId = corr.substring(prefix.length()).split(":")[0];
                    counts.merge(flowId, 1, Integer::sum);
                }
            }
            cursor = page.get(page.size() - 1).id();
        }
    }

    private static synchronized void record(Map<String, String> keys, List<String[]> fresh, Path keysFile) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String[] k : fresh) {
            if (keys.putIfAbsent(k[0], k[1]) == null) {
                sb.append(k[0]).append(' ').append(k[1]).append('\n');
            }
        }
        Files.writeString(keysFile, sb, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    /** One child JVM and what it printed. */
    private static final class Child {
        final Process process;
        final CountDownLatch ready = new CountDownLatch(1);
        final AtomicBoolean done = new AtomicBoolean();
        final List<String[]> keys = new java.util.concurrent.CopyOnWriteArrayList<>();
        final StringBuffer output = new StringBuffer();
        final Thread reader;

        private Child(Process process) {
            this.process = process;
            this.reader = new Thread(this::read, "crash-child-reader");
            this.reader.setDaemon(true);
            this.reader.start();
        }

        static Child start(Class<?> factory, Path keysFile, int newFlows, String prefix, Map<String, String> env)
                throws IOException {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            ProcessBuilder pb = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m",
                    "-cp", System.getProperty("java.class.path"), CrashWorker.class.getName(), factory.getName(),
                    keysFile.toString(), String.valueOf(newFlows), prefix);
            pb.environment().putAll(env);
            pb.redirectErrorStream(true);
            return new Child(pb.start());
        }

        private void read() {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.equals("READY")) {
                        ready.countDown();
                    } else if (line.equals("DONE")) {
                        done.set(true);
                    } else if (line.startsWith("KEY ")) {
                        String[] parts = line.split(" ");
                        if (parts.length == 3 && parts[1].length() == 32 && parts[2].startsWith("sk1_")
                                && parts[2].length() == 47) {
                            keys.add(new String[] {parts[1], parts[2]});
                        }
                    } else if (output.length() < 20_000) {
                        output.append(line).append('\n');
                    }
                }
            } catch (IOException e) {
                // the child was killed: its pipe closes
            }
        }

        void drain() throws InterruptedException {
            reader.join(TimeUnit.SECONDS.toMillis(30));
        }
    }
}
