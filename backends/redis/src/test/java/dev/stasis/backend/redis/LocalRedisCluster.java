package dev.stasis.backend.redis;

import io.lettuce.core.RedisURI;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import reactor.core.publisher.Mono;
import reactor.util.retry.Retry;

/**
 * A 3-master Redis Cluster from the Debian {@code redis-server}/{@code redis-cli} binaries, started once per test run
 * on free ports (each port and its cluster-bus port, +10000, must be free), with working directories under
 * {@code target/}. It is kept in the root extension store and stopped (its processes killed) when the run ends; a
 * shutdown hook is the backstop.
 */
final class LocalRedisCluster implements BeforeAllCallback {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(LocalRedisCluster.class);
    private static volatile Nodes running;

    /**
     * The seed URIs of the running cluster.
     *
     * @return one URI per node
     */
    static List<RedisURI> seeds() {
        Nodes n = running;
        if (n == null) {
            throw new IllegalStateException("LocalRedisCluster is not started: add @ExtendWith(LocalRedisCluster.class)");
        }
        List<RedisURI> uris = new ArrayList<>();
        for (int p : n.ports) {
            uris.add(RedisURI.create("127.0.0.1", p));
        }
        return uris;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        running = context.getRoot().getStore(NAMESPACE)
                .getOrComputeIfAbsent(Nodes.class, k -> Nodes.start(), Nodes.class);
    }

    /** The running processes; closing kills them. */
    static final class Nodes implements AutoCloseable {
        final List<Integer> ports;
        final List<Process> processes;
        final Path dir;

        private Nodes(List<Integer> ports, List<Process> processes, Path dir) {
            this.ports = ports;
            this.processes = processes;
            this.dir = dir;
        }

        static Nodes start() {
            String server = executable("redis-server");
            String cli = executable("redis-cli");
            Path dir = Paths.get("target", "redis-cluster", Long.toString(System.currentTimeMillis())).toAbsolutePath();
            List<Integer> ports = freePorts(3);
            List<Process> processes = new ArrayList<>();
            Nodes nodes = new Nodes(ports, processes, dir);
            Runtime.getRuntime().addShutdownHook(new Thread(nodes::close, "redis-cluster-stop"));
            try {
                for (int p : ports) {
                    Path d = Files.createDirectories(dir.resolve(Integer.toString(p)));
                    processes.add(new ProcessBuilder(server,
                            "--port", Integer.toString(p), "--bind", "127.0.0.1",
                            "--cluster-enabled", "yes", "--cluster-config-file", d.resolve("nodes.conf").toString(),
                            "--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no",
                            "--dir", d.toString(), "--logfile", d.resolve("redis.log").toString())
                            .redirectErrorStream(true)
                            .redirectOutput(d.resolve("stdout.log").toFile())
                            .start());
                }
                for (int p : ports) {
                    await(() -> command(p, "PING").equals("PONG"), "node " + p + " answering PING");
                }
                List<String> create = new ArrayList<>(List.of(cli, "--cluster", "create"));
                for (int p : ports) {
                    create.add("127.0.0.1:" + p);
                }
                create.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
                File log = dir.resolve("cluster-create.log").toFile();
                Process creator = new ProcessBuilder(create).redirectErrorStream(true).redirectOutput(log).start();
                if (!creator.waitFor(60, TimeUnit.SECONDS) || creator.exitValue() != 0) {
                    creator.destroyForcibly();
                    throw new IllegalStateException("redis-cli --cluster create failed, see " + log + ":\n"
                            + Files.readString(log.toPath()));
                }
                for (int p : ports) {
                    await(() -> command(p, "CLUSTER", "INFO").contains("cluster_state:ok"),
                            "node " + p + " reporting cluster_state:ok");
                }
                return nodes;
            } catch (IOException | RuntimeException e) {
                nodes.close();
                throw new IllegalStateException("could not start a local Redis Cluster in " + dir + ": " + e, e);
            } catch (InterruptedException e) {
                nodes.close();
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while starting a local Redis Cluster", e);
            }
        }

        @Override
        public synchronized void close() {
            for (Process p : processes) {
                p.destroy();
            }
            for (Process p : processes) {
                try {
                    if (!p.waitFor(5, TimeUnit.SECONDS)) {
                        p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                    }
                } catch (InterruptedException e) {
                    p.destroyForcibly();
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** The absolute path of an executable on PATH; fails with instructions when it is missing. */
    static String executable(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            File f = new File(dir, name);
            if (f.isFile() && f.canExecute()) {
                return f.getAbsolutePath();
            }
        }
        throw new IllegalStateException(name + " not found on PATH: RedisClusterStoreIT starts a 3-node Redis Cluster"
                + " from the Debian binaries; install them with `apt-get install -y redis-server` (CI does)");
    }

    /** {@code n} ports that are free, each together with its cluster-bus port (+10000). */
    static List<Integer> freePorts(int n) {
        List<Integer> ports = new ArrayList<>();
        for (int attempt = 0; attempt < 500 && ports.size() < n; attempt++) {
            int p = ThreadLocalRandom.current().nextInt(20_000, 50_000);
            if (!ports.contains(p) && !ports.contains(p + 10_000) && !ports.contains(p - 10_000)
                    && isFree(p) && isFree(p + 10_000)) {
                ports.add(p);
            }
        }
        if (ports.size() < n) {
            throw new IllegalStateException("found no " + n + " free port pairs (p, p+10000)");
        }
        return ports;
    }

    private static boolean isFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private interface Check {
        boolean ok() throws IOException;
    }

    /** Polls a check every 50 ms (on Reactor's timer, no sleeping thread) for up to 30 seconds. */
    private static void await(Check check, String what) {
        Mono.fromCallable(() -> {
                    if (!check.ok()) {
                        throw new IllegalStateException("not yet: " + what);
                    }
                    return true;
                })
                .retryWhen(Retry.fixedDelay(600, Duration.ofMillis(50)))
                .block(Duration.ofSeconds(40));
    }

    /** Sends one command in RESP and returns a simple or bulk string reply (enough for PING and CLUSTER INFO). */
    static String command(int port, String... args) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            s.setSoTimeout(2000);
            StringBuilder req = new StringBuilder("*").append(args.length).append("\r\n");
            for (String a : args) {
                req.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a).append("\r\n");
            }
            OutputStream out = s.getOutputStream();
            out.write(req.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            InputStream in = s.getInputStream();
            String first = readLine(in);
            if (first.startsWith("+")) {
                return first.substring(1);
            }
            if (first.startsWith("$")) {
                int len = Integer.parseInt(first.substring(1));
                byte[] body = in.readNBytes(len);
                return new String(body, StandardCharsets.UTF_8);
            }
            throw new IOException("unexpected reply: " + first);
        }
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\r') {
                in.read();
                break;
            }
            sb.append((char) c);
        }
        return sb.toString();
    }
}
