package dev.stasis.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

/**
 * Just enough of the W3C WebDriver protocol, spoken with {@link java.net.http.HttpClient} to a {@code chromedriver}
 * this class starts (and stops) itself, driving headless Debian Chromium.
 */
final class WebDriver implements AutoCloseable {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final String ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

    private final Process driver;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final String base;
    private final String session;

    WebDriver(Path userDataDir) throws IOException, InterruptedException {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        driver = new ProcessBuilder(CHROMEDRIVER.toString(), "--port=" + port).redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(driver.getInputStream(), StandardCharsets.UTF_8));
            String line;
            StringBuilder seen = new StringBuilder();
            while ((line = out.readLine()) != null && !line.contains("started successfully")) {
                seen.append(line).append('\n');
            }
            if (line == null) {
                throw new IllegalStateException("chromedriver did not start:\n" + seen);
            }
            // keep draining its output so that it never blocks on a full pipe
            Thread drain = new Thread(() -> {
                try {
                    while (out.readLine() != null) {
                        // discard
                    }
                } catch (IOException ignored) {
                    // the process ended
                }
            }, "chromedriver-output");
            drain.setDaemon(true);
            drain.start();
            base = "http://127.0.0.1:" + port;

            ObjectNode caps = Fixture.JSON.createObjectNode();
            ObjectNode always = caps.putObject("capabilities").putObject("alwaysMatch");
            always.put("browserName", "chrome");
            ObjectNode options = always.putObject("goog:chromeOptions");
            options.put("binary", CHROMIUM.toString());
            ArrayNode args = options.putArray("args");
            for (String a : List.of("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1200,900", "--user-data-dir=" + userDataDir)) {
                args.add(a);
            }
            session = call("POST", "/session", caps).get("sessionId").asText();
            ObjectNode timeouts = Fixture.JSON.createObjectNode().put("implicit", 15_000).put("pageLoad", 30_000);
            call("POST", "/session/" + session + "/timeouts", timeouts);
        } catch (IOException | InterruptedException | RuntimeException e) {
            driver.destroyForcibly();
            throw e;
        }
    }

    void open(String url) throws IOException, InterruptedException {
        call("POST", "/session/" + session + "/url", Fixture.JSON.createObjectNode().put("url", url));
    }

    String currentUrl() throws IOException, InterruptedException {
        return call("GET", "/session/" + session + "/url", null).asText();
    }

    /** Finds an element by CSS selector (waiting up to the implicit timeout). */
    String find(String css) throws IOException, InterruptedException {
        ObjectNode by = Fixture.JSON.createObjectNode().put("using", "css selector").put("value", css);
        return call("POST", "/session/" + session + "/element", by).get(ELEMENT).asText();
    }

    void click(String css) throws IOException, InterruptedException {
        call("POST", "/session/" + session + "/element/" + find(css) + "/click", Fixture.JSON.createObjectNode());
    }

    void type(String css, String text) throws IOException, InterruptedException {
        call("POST", "/session/" + session + "/element/" + find(css) + "/value",
                Fixture.JSON.createObjectNode().put("text", text));
    }

    String text(String css) throws IOException, InterruptedException {
        return call("GET", "/session/" + session + "/element/" + find(css) + "/text", null).asText();
    }

    String title() throws IOException, InterruptedException {
        return call("GET", "/session/" + session + "/title", null).asText();
    }

    void screenshot(Path png) throws IOException, InterruptedException {
        String data = call("GET", "/session/" + session + "/screenshot", null).asText();
        Files.createDirectories(png.getParent());
        Files.write(png, Base64.getDecoder().decode(data));
    }

    private JsonNode call(String method, String path, ObjectNode body) throws IOException, InterruptedException {
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
        if (body == null) {
            req.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            req.header("Content-Type", "application/json; charset=utf-8")
                    .method(method, HttpRequest.BodyPublishers.ofString(body.toString()));
        }
        HttpResponse<String> res = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = Fixture.JSON.readTree(res.body());
        if (res.statusCode() != 200) {
            throw new IllegalStateException("WebDriver " + method + " " + path + " → " + res.statusCode() + ": "
                    + json.path("value").path("message").asText(res.body()));
        }
        return json.get("value");
    }

    @Override
    public void close() {
        try {
            call("DELETE", "/session/" + session, null);
        } catch (IOException | InterruptedException | RuntimeException e) {
            // the browser may already be gone; the driver is stopped below either way
        } finally {
            driver.destroy();
        }
    }
}
