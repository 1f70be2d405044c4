package dev.stasis.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.FlowResult;
import dev.stasis.FlowStatus;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import reactor.netty.DisposableServer;

/** The approval inbox over plain HTTP: login, session cookie, pages, generated forms, CSRF, outcomes. */
class InboxIT {

    private static final String FORM = "application/x-www-form-urlencoded";

    private final Fixture f = new Fixture();
    private DisposableServer server;
    private Fixture.Http http;

    @BeforeEach
    void start() {
        server = f.serve(f.routes().adminToken(Fixture.ADMIN_TOKEN).build());
        http = new Fixture.Http(server);
    }

    @AfterEach
    void stop() {
        server.disposeNow();
    }

    private static String form(Map<String, String> fields) {
        return fields.entrySet().stream()
                .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                        + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
    }

    /** Logs in and returns the Cookie header value. */
    private String login() {
        Fixture.Res res = http.post("/login", Map.of("Content-Type", FORM), form(Map.of("token", Fixture.ADMIN_TOKEN)));
        assertThat(res.status()).isEqualTo(303);
        String setCookie = res.header("Set-Cookie");
        return setCookie.substring(0, setCookie.indexOf(';'));
    }

    private static String hidden(String html, String name) {
        Matcher m = Pattern.compile("name=\"" + name + "\" value=\"([^\"]*)\"").matcher(html);
        assertThat(m.find()).as("hidden field " + name).isTrue();
        return m.group(1);
    }

    @Test
    @DisplayName("pages without a session redirect to the login; the login sets a hardened, derived session cookie")
    void loginAndSession() {
        assertThat(http.get("/inbox", Map.of()).status()).isEqualTo(303);
        assertThat(http.get("/inbox", Map.of()).header("Location")).isEqualTo("/login");
        assertThat(http.get("/inbox/flows/abc", Map.of()).header("Location")).isEqualTo("/login");
        assertThat(http.post("/inbox/flows/abc/waits/x", Map.of("Content-Type", FORM), "a=b").header("Location"))
                .isEqualTo("/login");

        Fixture.Res page = http.get("/login", Map.of());
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.body()).contains("<input type=\"password\" id=\"token\" name=\"token\"");

        Fixture.Res wrong = http.post("/login", Map.of("Content-Type", FORM), form(Map.of("token", "guess")));
        assertThat(wrong.status()).isEqualTo(401);
        assertThat(wrong.header("Set-Cookie")).isNull();
        assertThat(wrong.body()).contains("That token is not valid.");
        assertThat(http.post("/login", Map.of("Content-Type", "application/json"), "{}").status()).isEqualTo(415);

        Fixture.Res ok = http.post("/login", Map.of("Content-Type", FORM), form(Map.of("token", Fixture.ADMIN_TOKEN)));
        assertThat(ok.status()).isEqualTo(303);
        assertThat(ok.header("Location")).isEqualTo("/inbox");
        String setCookie = ok.header("Set-Cookie");
        assertThat(setCookie).startsWith(InboxRoutes.COOKIE + "=")
                .contains("; HttpOnly").contains("; SameSite=Strict").contains("; Path=/;").contains("Max-Age=28800")
                .doesNotContain(Fixture.ADMIN_TOKEN);
        String cookie = setCookie.substring(0, setCookie.indexOf(';'));
        assertThat(http.get("/inbox", Map.of("Cookie", cookie)).status()).isEqualTo(200);
        assertThat(http.get("/login", Map.of("Cookie", cookie)).header("Location")).isEqualTo("/inbox");

        int i = cookie.length() - 10;
        String forged = cookie.substring(0, i) + (cookie.charAt(i) == 'A' ? 'B' : 'A') + cookie.substring(i + 1);
        assertThat(http.get("/inbox", Map.of("Cookie", forged)).status()).isEqualTo(303);
        assertThat(http.get("/inbox", Map.of("Cookie", InboxRoutes.COOKIE + "=" + Fixture.ADMIN_TOKEN)).status())
                .isEqualTo(303);
        f.clock.advance(Duration.ofHours(9));
        assertThat(http.get("/inbox", Map.of("Cookie", cookie)).status()).isEqualTo(303);
    }

    @Test
    @DisplayName("the inbox lists pending waits with name, description, metadata and deadline, HTML-escaped")
    void list() {
        String cookie = login();
        f.startPurchase("i-1");
        f.hub.start(f.review, new Fixture.Note("r")).block();

        Fixture.Res res = http.get("/inbox", Map.of("Cookie", cookie));

        assertThat(res.status()).isEqualTo(200);
        assertThat(res.header("Content-Type")).isEqualTo("text/html; charset=utf-8");
        assertThat(res.header("Content-Security-Policy")).contains("default-src 'none'").contains("script-src 'self'");
        assertThat(res.header("X-Frame-Options")).isEqualTo("DENY");
        String html = res.body();
        assertThat(html).contains("2 waits open for input")
                .contains(">Manager approval</a>")
                .contains("A manager approves purchases over 1000 EUR")
                .contains("<span class=\"k\">department</span> finance")
                .contains("<time datetime=\"2026-03-02T13:00:00Z\">2026-03-02 13:00 UTC</time>")
                .contains("Quality review &lt;b&gt;")
                .contains("Rate the delivery &amp; decide")
                .contains("&lt;qa&gt;")
                .doesNotContain("<qa>").doesNotContain("review <b>")
                .doesNotContain("sk1_");
    }

    @Test
    @DisplayName("the flow page has a form generated from the wait's schema: select, number, text, required marks")
    void generatedForm() {
        String cookie = login();
        FlowResult.Suspended s = (FlowResult.Suspended) f.hub.start(f.review, new Fixture.Note("r")).block();

        String html = http.get("/inbox/flows/" + s.flowId(), Map.of("Cookie", cookie)).body();

        assertThat(html).contains("<select id=\"w-review-decision\" name=\"field.decision\" required>")
                .contains("<option value=\"APPROVE\">APPROVE</option>")
                .contains("<option value=\"ESCALATE\">ESCALATE</option>")
                .contains("<input type=\"number\" step=\"1\" id=\"w-review-score\" name=\"field.score\" required")
                .contains("<input type=\"number\" step=\"any\" id=\"w-review-weight\" name=\"field.weight\" required")
                .contains("<select id=\"w-review-urgent\" name=\"field.urgent\" required>")
                .contains("<option value=\"true\">yes</option>")
                .contains("<input type=\"text\" id=\"w-review-note\" name=\"field.note\" value=\"\">")
                .contains("name=\"_csrf\"").contains("name=\"_submission\"");
        assertThat(html.split("class=\"req\" title=\"required\"", -1)).hasSize(5);
        assertThat(http.get("/inbox/flows/0000000000000000000000000000dead", Map.of("Cookie", cookie)).status())
                .isEqualTo(404);
    }

    @Test
    @DisplayName("submitting: CSRF checked, violations shown on the form, then the outcome; duplicates are safe")
    void submit() {
        String cookie = login();
        FlowResult.Suspended s = (FlowResult.Suspended) f.hub.start(f.review, new Fixture.Note("r")).block();
        String page = http.get("/inbox/flows/" + s.flowId(), Map.of("Cookie", cookie)).body();
        String csrf = hidden(page, "_csrf");
        String submission = hidden(page, "_submission");
        String action = "/inbox/flows/" + s.flowId() + "/waits/review";
        Map<String, String> headers = Map.of("Cookie", cookie, "Content-Type", FORM);

        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("_submission", submission);
        fields.put("field.decision", "APPROVE");
        fields.put("field.score", "7");
        fields.put("field.weight", "0.5");
        fields.put("field.urgent", "false");
        fields.put("field.note", "looks <fine>");

        Map<String, String> noCsrf = new LinkedHashMap<>(fields);
        assertThat(http.post(action, headers, form(noCsrf)).status()).isEqualTo(403);
        noCsrf.put("_csrf", csrf + "x");
        assertThat(http.post(action, headers, form(noCsrf)).status()).isEqualTo(403);
        assertThat(http.post(action, Map.of("Cookie", cookie, "Content-Type", "application/json"), "{}").status())
                .isEqualTo(415);

        Map<String, String> invalid = new LinkedHashMap<>(fields);
        invalid.put("_csrf", csrf);
        invalid.put("field.score", "seven");
        invalid.remove("field.decision");
        Fixture.Res rejected = http.post(action, headers, form(invalid));
        assertThat(rejected.status()).isEqualTo(400);
        assertThat(rejected.body())
                .containsPattern("<div class=\"field invalid\"><label for=\"w-review-decision\">")
                .containsPattern("<div class=\"field invalid\"><label for=\"w-review-score\">")
                .contains("value=\"seven\"")
                .contains("value=\"looks &lt;fine&gt;\"");
        assertThat(f.hub.describe(s.flowId()).block().info().status()).isEqualTo(FlowStatus.SUSPENDED);

        fields.put("_csrf", csrf);
        Fixture.Res done = http.post(action, headers, form(fields));
        assertThat(done.status()).isEqualTo(200);
        assertThat(done.body()).contains("<h1>Flow completed</h1>")
                .contains("&quot;decision&quot; : &quot;APPROVE&quot;")
                .contains("&quot;score&quot; : 7")
                .contains("&quot;weight&quot; : 0.5")
                .contains("&quot;note&quot; : &quot;looks &lt;fine&gt;&quot;");
        assertThat(f.hub.describe(s.flowId()).block().info().status()).isEqualTo(FlowStatus.COMPLETED);

        Fixture.Res twice = http.post(action, headers, form(fields));
        assertThat(twice.status()).isEqualTo(200);
        assertThat(twice.body()).contains("<h1>Flow completed</h1>");
        fields.put("_submission", "another-form");
        Fixture.Res other = http.post(action, headers, form(fields));
        assertThat(other.status()).isEqualTo(409);
        assertThat(other.body()).contains("Already answered");
    }

    @Test
    @DisplayName("logging out clears the cookie; assets are served; without an admin token there is no inbox")
    void logoutAssetsAndDisabled() {
        String cookie = login();
        String csrf = hidden(http.get("/inbox", Map.of("Cookie", cookie)).body(), "_csrf");
        Fixture.Res out = http.post("/logout", Map.of("Cookie", cookie, "Content-Type", FORM),
                form(Map.of("_csrf", csrf)));
        assertThat(out.status()).isEqualTo(303);
        assertThat(out.header("Location")).isEqualTo("/login");
        assertThat(out.header("Set-Cookie")).startsWith(InboxRoutes.COOKIE + "=;").contains("Max-Age=0");

        Fixture.Res css = http.get("/inbox/assets/inbox.css", Map.of());
        assertThat(css.status()).isEqualTo(200);
        assertThat(css.header("Content-Type")).startsWith("text/css");
        assertThat(http.get("/inbox/assets/inbox.js", Map.of()).body()).contains("wait-form");
        assertThat(http.get("/inbox/assets/secrets.txt", Map.of()).status()).isEqualTo(404);

        DisposableServer bare = f.serve(f.routes().build());
        try {
            Fixture.Http plain = new Fixture.Http(bare);
            assertThat(plain.get("/inbox", Map.of()).status()).isEqualTo(404);
            assertThat(plain.get("/admin/health", Map.of("Authorization", "Bearer " + Fixture.ADMIN_TOKEN)).status())
                    .isEqualTo(404);
        } finally {
            bare.disposeNow();
        }
    }
}
