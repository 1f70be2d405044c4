package dev.stasis.backend.redis;

import io.lettuce.core.RedisURI;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A 3-master Redis Cluster from the Debian {@code redis-server}/{@code redis-cli} binaries, started once per test run
 * on free ports (each port and its cluster-bus port, +10000, must be free), with working directories under
 * {@code target/redis-cluster/}, as in {@code notes/test-infra.md} §4. It is kept in the root extension store and
 * stopped (its processes killed) when the run ends; a shutdown hook is the backstop.
 */
final class LocalRedisCluster implements BeforeAllCallback {

    private static final ExtensionContext.Namespace NAMESPACE =
            ExtensionContext.Namespace.create(LocalRedisCluster.class);
    private static volatile Nodes running;

    /**
     * The seed URIs of the running cluster.
     *
     * @return one URI per node
     */
    static List<RedisURI> seeds() {
        Nodes n = running;
        if (n == null) {
            throw new IllegalStateException(
                    "LocalRedisCluster is not started: add @ExtendWith(LocalRedisCluster.class)");
        }
        List<RedisURI> uris = new ArrayList<>();
        for (RedisProcess p : n.nodes) {
            uris.add(RedisURI.create("127.0.0.1", p.port()));
        }
        return uris;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        running = context.getRoot().getStore(NAMESPACE)
                .getOrComputeIfAbsent(Nodes.class, k -> Nodes.start(), Nodes.class);
    }

    /** The running nodes; closing stops them. */
    static final class Nodes implements AutoCloseable {
        final List<RedisProcess> nodes = new ArrayList<>();

        static Nodes start() {
            String cli = RedisProcess.executable("redis-cli");
            RedisProcess.executable("redis-server");
            Path dir = Paths.get("target", "redis-cluster", Long.toString(System.currentTimeMillis())).toAbsolutePath();
            Nodes started = new Nodes();
            Runtime.getRuntime().addShutdownHook(new Thread(started::close, "redis-cluster-stop"));
            try {
                for (int p : RedisProcess.freePorts(3)) {
                    Path d = dir.resolve(Integer.toString(p));
                    started.nodes.add(new RedisProcess(p, d, List.of(
                            "--cluster-enabled", "yes", "--cluster-config-file", d.resolve("nodes.conf").toString(),
                            "--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no")).start());
                }
                List<String> create = new ArrayList<>(List.of(cli, "--cluster", "create"));
                for (RedisProcess p : started.nodes) {
                    create.add("127.0.0.1:" + p.port());
                }
                create.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
                File log = dir.resolve("cluster-create.log").toFile();
                Process creator = new ProcessBuilder(create).redirectErrorStream(true).redirectOutput(log).start();
                if (!creator.waitFor(60, TimeUnit.SECONDS) || creator.exitValue() != 0) {
                    creator.destroyForcibly();
                    throw new IllegalStateException("redis-cli --cluster create failed, see " + log + ":\n"
                            + Files.readString(log.toPath()));
                }
                for (RedisProcess p : started.nodes) {
                    RedisProcess.await(() -> RedisProcess.command(p.port(), "CLUSTER", "INFO")
                            .contains("cluster_state:ok"), "node " + p.port() + " reporting cluster_state:ok");
                }
                return started;
            } catch (IOException | RuntimeException e) {
                started.close();
                throw new IllegalStateException("could not start a local Redis Cluster in " + dir + ": " + e, e);
            } catch (InterruptedException e) {
                started.close();
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while starting a local Redis Cluster", e);
            }
        }

        @Override
        public synchronized void close() {
            nodes.forEach(RedisProcess::stop);
        }
    }
}
