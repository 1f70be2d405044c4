package dev.stasis.backend.redis;

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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import reactor.core.publisher.Mono;
import reactor.util.retry.Retry;

/**
 * One {@code redis-server} process the tests own (never the shared server on 6379): started on a given port with a
 * working directory of its own, answered PING before {@link #start} returns, stopped with SIGTERM (then SIGKILL).
 */
final class RedisProcess {

    private final int port;
    private final Path dir;
    private final List<String> extraArgs;
    private Process process;

    RedisProcess(int port, Path dir, List<String> extraArgs) {
        this.port = port;
        this.dir = dir;
        this.extraArgs = List.copyOf(extraArgs);
    }

    int port() {
        return port;
    }

    /** Starts the server (again) and waits until it answers PING. */
    synchronized RedisProcess start() throws IOException {
        Files.createDirectories(dir);
        List<String> cmd = new ArrayList<>(List.of(executable("redis-server"),
                "--port", Integer.toString(port), "--bind", "127.0.0.1", "--dir", dir.toString(),
                "--logfile", dir.resolve("redis.log").toString()));
        cmd.addAll(extraArgs);
        process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("stdout.log").toFile()))
                .start();
        await(() -> "PONG".equals(command(port, "PING")), "redis-server on " + port + " answering PING");
        return this;
    }

    /** Stops the server: SIGTERM (Redis writes its AOF/RDB and exits), SIGKILL after 10 s. */
    synchronized void stop() {
        if (process == null) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /** The absolute path of an executable on PATH; fails with instructions when it is missing. */
    static String executable(String name) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            File f = new File(d, name);
            if (f.isFile() && f.canExecute()) {
                return f.getAbsolutePath();
            }
        }
        throw new IllegalStateException(name + " not found on PATH: the Redis tests start their own Redis servers"
                + " (a 3-node cluster, a restartable server) from the Debian binaries; install them with"
                + " `apt-get install -y redis-server` (CI does)");
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

    interface Check {
        boolean ok() throws IOException;
    }

    /** Polls a check every 50 ms (on Reactor's timer, no sleeping thread) for up to 30 seconds. */
    static void await(Check check, String what) {
        Mono.fromCallable(() -> {
                    if (!check.ok()) {
                        throw new IllegalStateException("not yet: " + what);
                    }
                    return true;
                })
                // the check does socket I/O: run each attempt off Reactor's timer threads (BlockHound watches them)
                .subscribeOn(reactor.core.scheduler.Schedulers.boundedElastic())
                .retryWhen(Retry.fixedDelay(600, Duration.ofMillis(50)))
                .block(Duration.ofSeconds(40));
    }

    /** Sends one command in RESP; returns a simple or bulk string reply (enough for PING and CLUSTER INFO). */
    static String command(int port, String... args) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            s.setSoTimeout(2000);
            StringBuilder req = new StringBuilder("*").append(args.length).append("\r\n");
            for (String a : args) {
                req.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a)
                        .append("\r\n");
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
                return new String(in.readNBytes(Integer.parseInt(first.substring(1))), StandardCharsets.UTF_8);
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
