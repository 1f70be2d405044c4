package dev.stasis.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.FlowResult;
import dev.stasis.FlowStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.netty.DisposableServer;

/**
 * The approval inbox driven by a person's browser: headless Debian Chromium through chromedriver. Fails (does not
 * skip) when the browser is missing. Screenshots land in {@code target/inbox-*.png}.
 */
class InboxBrowserIT {

    private final Fixture f = new Fixture(Instant.now().truncatedTo(ChronoUnit.SECONDS));
    private final Path target = Path.of(System.getProperty("webhook.target", "target"));
    private DisposableServer server;
    private WebDriver browser;

    @BeforeEach
    void start(@TempDir Path profile) throws Exception {
        assertThat(Files.isExecutable(WebDriver.CHROMIUM) && Files.isExecutable(WebDriver.CHROMEDRIVER))
                .as("headless Chromium is needed for this test: apt-get install -y chromium chromium-driver "
                        + "(expects /usr/bin/chromium and /usr/bin/chromedriver)")
                .isTrue();
        server = f.serve(f.routes().adminToken(Fixture.ADMIN_TOKEN).build());
        browser = new WebDriver(profile);
    }

    @AfterEach
    void stop() {
        if (browser != null) {
            browser.close();
        }
        if (server != null) {
            server.disposeNow();
        }
    }

    @Test
    @DisplayName("a person logs in, opens a pending approval, fills the generated form and sees the flow complete")
    void approveInTheBrowser() throws Exception {
        FlowResult.Suspended s = f.startPurchase("PO-4711");
        f.hub.start(f.review, new Fixture.Note("delivery 88")).block();
        String origin = "http://127.0.0.1:" + server.port();

        browser.open(origin + "/inbox");
        assertThat(browser.currentUrl()).isEqualTo(origin + "/login");
        browser.screenshot(target.resolve("inbox-login.png"));
        browser.type("#token", Fixture.ADMIN_TOKEN);
        browser.click("button[type=submit]");

        // each click below navigates: wait for an element only the next page has (the implicit wait), so that no
        // element of the page being left is read (a stale element, seen once in CI)
        browser.find("table.inbox");
        assertThat(browser.text("h1")).isEqualTo("Pending approvals");
        assertThat(browser.currentUrl()).isEqualTo(origin + "/inbox");
        assertThat(browser.text("table.inbox")).contains("Manager approval").contains("department finance")
                .contains("Quality review <b>");
        browser.screenshot(target.resolve("inbox-list.png"));

        browser.click("a.wait-link[href*='" + s.flowId() + "']");
        browser.find("form.wait-form");
        assertThat(browser.text("h1")).startsWith("purchase");
        browser.click("select[name='field.approved'] option[value='true']");
        browser.type("input[name='field.approver']", "Ann Approver");
        browser.type("input[name='field.comment']", "fine for Q3");
        browser.screenshot(target.resolve("inbox-form.png"));
        browser.click("form.wait-form button[type=submit]");

        browser.find("pre.output");
        assertThat(browser.text("h1")).isEqualTo("Flow completed");
        assertThat(browser.text("pre.output")).contains("\"approvedBy\" : \"Ann Approver\"")
                .contains("\"orderId\" : \"PO-4711\"");
        browser.screenshot(target.resolve("inbox-completed.png"));

        assertThat(f.hub.describe(s.flowId()).block().info().status()).isEqualTo(FlowStatus.COMPLETED);
        assertThat(f.placed).hasValue(1);
        assertThat(Files.size(target.resolve("inbox-completed.png"))).isGreaterThan(1000);
    }
}
