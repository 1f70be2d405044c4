package dev.stasis.samples;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@code java -jar target/stasis-samples.jar approval-server --port 0} as a process, takes the {@code curl} line
 * it prints, and sends exactly that request over real HTTP.
 */
class ApprovalServerIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final List<Server> servers = new ArrayList<>();

    @AfterEach
    void stopServers() throws InterruptedException {
        for (Server s : servers) {
            s.process.destroy();
            s.process.waitFor(30, TimeUnit.SECONDS);
            s.process.destroyForcibly();
        }
    }

    @Test
    @DisplayName("the printed curl line approves the purchase (200 COMPLETED); the same POST again gets 409; bad JSON"
            + " and a schema violation get 400 problem+json; the printed admin token works")
    void curlLineResumesThePurchase() throws Exception {
        Server server = start("approval-server", "--port", "0", "--data", tmp.resolve("data").toString(),
                "--dev-key");
        String curl = server.awaitLine("curl ");
        Curl request = Curl.parse(curl);
        assertThat(request.method()).isEqualTo("POST");
        assertThat(request.url()).startsWith("http://127.0.0.1:").contains("/resume/sk1_")
                .isEqualTo(server.valueOf("resume URL: "));
        assertThat(request.headers()).containsExactly("Content-Type", "application/json");

        // bad input first, while the flow waits: the key keeps working
        HttpResponse<String> malformed = post(request.url(), "{\"approved\":");
        assertThat(malformed.statusCode()).isEqualTo(400);
        assertThat(malformed.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(JSON.readTree(malformed.body()).path("status").asInt()).isEqualTo(400);

        HttpResponse<String> wrongType = post(request.url(), "{\"approved\":\"yes\",\"approver\":\"Eve\"}");
        assertThat(wrongType.statusCode()).isEqualTo(400);
        assertThat(wrongType.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(wrongType.body()).contains("manager-approval").contains("/approved");

        // the exact request the server printed
        HttpResponse<String> approved = http.send(request.toHttpRequest(), HttpResponse.BodyHandlers.ofString());
        assertThat(approved.statusCode()).as(approved.body()).isEqualTo(200);
        JsonNode result = JSON.readTree(approved.body());
        assertThat(result.path("status").asText()).isEqualTo("COMPLETED");
        assertThat(result.path("output").path("approvedBy").asText()).isEqualTo("Grace Hopper");
        assertThat(result.path("output").path("supplierReference").asText()).startsWith("SUP-");
        server.awaitLine("flow " + result.path("flowId").asText() + " is COMPLETED");

        HttpResponse<String> again = http.send(request.toHttpRequest(), HttpResponse.BodyHandlers.ofString());
        assertThat(again.statusCode()).isEqualTo(409);
        assertThat(again.headers().firstValue("Content-Type")).hasValue("application/problem+json");

        // the printed admin token opens the admin API
        String base = request.url().substring(0, request.url().indexOf("/resume/"));
        String token = server.valueOf("admin token: ");
        HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(base + "/admin/health"))
                .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).as(health.body()).isEqualTo(200);
        HttpResponse<String> noToken = http.send(HttpRequest.newBuilder(URI.create(base + "/admin/health")).GET()
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(noToken.statusCode()).isEqualTo(401);
        assertThat(server.valueOf("Or approve in the browser: ")).isEqualTo(base + "/inbox");

        // the key is printed for the user, and nowhere else
        String key = request.url().substring(request.url().lastIndexOf('/') + 1);
        assertThat(server.err.toString()).doesNotContain(key);
        assertThat(server.out.toString()).doesNotContain("Exception");
    }

    @Test
    @DisplayName("--exit-after-resume: the server exits 0 once the curl line's request completed the purchase")
    void exitsAfterTheResume() throws Exception {
        Server server = start("approval-server", "--port", "0", "--exit-after-resume", "--data",
                tmp.resolve("data").toString(), "--dev-key");
        Curl request = Curl.parse(server.awaitLine("curl "));
        HttpResponse<String> approved = http.send(request.toHttpRequest(), HttpResponse.BodyHandlers.ofString());
        assertThat(approved.statusCode()).as(approved.body()).isEqualTo(200);
        assertThat(server.process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the server exits").isTrue();
        assertThat(server.process.exitValue()).as(server.out.toString()).isZero();
        assertThat(server.out.toString()).contains("is COMPLETED: Receipt[")
                .contains("placed the order with the supplier");
    }

    private HttpResponse<String> post(String url, String body) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private Server start(String... args) throws IOException {
        Path jar = Path.of(System.getProperty("stasis.samples.jar", "target/stasis-samples.jar"));
        assertThat(jar).as("the shaded jar (run the integration-test phase after package)").isRegularFile();
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(tmp.toFile());
        pb.environment().remove("STASIS_KEYS");
        pb.environment().remove("STASIS_KEY_FILE");
        Server s = new Server(pb.start());
        servers.add(s);
        return s;
    }

    /** A running server process with its output collected line by line. */
    private static final class Server {
        final Process process;
        final StringBuffer out = new StringBuffer();
        final StringBuffer err = new StringBuffer();
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final List<String> seen = new ArrayList<>();

        Server(Process process) {
            this.process = process;
            pump(process.getInputStream(), out, lines);
            pump(process.getErrorStream(), err, new LinkedBlockingQueue<>());
        }

        private static void pump(InputStream in, StringBuffer all, BlockingQueue<String> lines) {
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                    for (String line = r.readLine(); line != null; line = r.readLine()) {
                        all.append(line).append('\n');
                        lines.add(line);
                    }
                } catch (IOException e) {
                    all.append("[pump] ").append(e).append('\n');
                }
            });
            t.setDaemon(true);
            t.start();
        }

        /** The first line (seen so far or coming) that starts with or contains {@code text}. */
        String awaitLine(String text) throws InterruptedException {
            for (String line : seen) {
                if (line.contains(text)) {
                    return line;
                }
            }
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                String line = lines.poll(1, TimeUnit.SECONDS);
                if (line != null) {
                    seen.add(line);
                    if (line.contains(text)) {
                        return line;
                    }
                } else if (!process.isAlive()) {
                    break;
                }
            }
            throw new AssertionError("no line with '" + text + "' in:\n" + out + "\nstderr:\n" + err);
        }

        /** The rest of the line that starts with {@code prefix}. */
        String valueOf(String prefix) throws InterruptedException {
            String line = awaitLine(prefix);
            assertThat(line).startsWith(prefix);
            return line.substring(prefix.length()).trim();
        }
    }

    /**
     * A {@code curl} command line as the server prints it: {@code curl -sS -X METHOD -H 'Name: value' -d 'body' URL},
     * with shell single quotes.
     */
    private record Curl(String method, List<String> headers, String body, String url) {

        static Curl parse(String line) {
            List<String> words = shellWords(line);
            assertThat(words).as(line).first().isEqualTo("curl");
            String method = "GET";
            List<String> headers = new ArrayList<>();
            String body = "";
            String url = "";
            for (int i = 1; i < words.size(); i++) {
                String w = words.get(i);
                switch (w) {
                    case "-sS" -> { }
                    case "-X" -> method = words.get(++i);
                    case "-H" -> {
                        String h = words.get(++i);
                        int colon = h.indexOf(':');
                        headers.add(h.substring(0, colon).trim());
                        headers.add(h.substring(colon + 1).trim());
                    }
                    case "-d" -> body = words.get(++i);
                    default -> {
                        assertThat(w).as("an unexpected curl option in " + line).doesNotStartWith("-");
                        url = w;
                    }
                }
            }
            return new Curl(method, headers, body, url);
        }

        HttpRequest toHttpRequest() {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url))
                    .method(method, HttpRequest.BodyPublishers.ofString(body));
            for (int i = 0; i < headers.size(); i += 2) {
                b.header(headers.get(i), headers.get(i + 1));
            }
            return b.build();
        }

        private static List<String> shellWords(String line) {
            List<String> words = new ArrayList<>();
            StringBuilder current = new StringBuilder();
            boolean quoted = false;
            boolean inWord = false;
            for (char c : line.toCharArray()) {
                if (c == '\'') {
                    quoted = !quoted;
                    inWord = true;
                } else if (c == ' ' && !quoted) {
                    if (inWord) {
                        words.add(current.toString());
                        current.setLength(0);
                        inWord = false;
                    }
                } else {
                    current.append(c);
                    inWord = true;
                }
            }
            assertThat(quoted).as("unbalanced quotes in " + line).isFalse();
            if (inWord) {
                words.add(current.toString());
            }
            return words;
        }
    }
}
