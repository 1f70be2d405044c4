package dev.stasis.samples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.FlowResult;
import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import dev.stasis.StartOptions;
import dev.stasis.WaitHandle;
import dev.stasis.samples.ReleaseFlow.Deployment;
import dev.stasis.samples.ReleaseFlow.QaReport;
import dev.stasis.samples.ReleaseFlow.Release;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code supervisor}: up-front await inputs decide whether and where a flow suspends. */
class SupervisorTest {

    private static final Duration T = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    @Test
    @DisplayName("all inputs supplied: completed without a wait; the change approval missing: suspended exactly there,"
            + " and the approval then completes it with the QA report supplied at start")
    void supervisorCommand() throws Exception {
        String data = tmp.resolve("data").toString();
        Cli.Run run = Cli.run("supervisor", "--data", data, "--dev-key").ok();
        assertThat(run.out())
                .contains("-> COMPLETED without suspending: Deployment[service=billing, version=2.4.0, deployed=true,"
                        + " testsRun=412, approvedBy=change board (standard change)]")
                .contains("-> SUSPENDED at [change-approval] (Change approval: ");
        String key = run.group("key: (sk1_[A-Za-z0-9_-]+)");

        // the store holds only the second release (the first never waited), suspended at the change approval only
        Workspace ws = Workspace.open(tmp.resolve("data"), true, "supervisor-test");
        List<FlowRecord> stored = ws.store.query(QueryCriteria.builder().flowName("release").build())
                .collectList().block(T);
        assertThat(stored).singleElement().satisfies(r -> {
            assertThat(r.status()).isEqualTo(FlowStatus.SUSPENDED);
            assertThat(r.waits()).extracting(WaitRecord::awaitId).containsExactly("change-approval");
        });

        Cli.Run resumed = Cli.run("resume", key, "{\"approved\":true,\"approver\":\"Grace Hopper\"}",
                "--data", data, "--dev-key").ok();
        assertThat(resumed.out()).contains("is COMPLETED: Deployment[service=billing, version=2.5.0, deployed=true,"
                + " testsRun=412, approvedBy=Grace Hopper]");
    }

    @Test
    @DisplayName("no inputs: the flow suspends at its first await; only the approval: at the QA report")
    void suspendsAtTheFirstMissingInput() throws Exception {
        Workspace ws = Workspace.open(tmp.resolve("data"), true, "supervisor-test");
        Release release = new Release("search", "1.0.0");

        FlowResult none = ws.hub.start(ReleaseFlow.FLOW, release).block(T);
        assertThat(none).isInstanceOfSatisfying(FlowResult.Suspended.class, s ->
                assertThat(s.waits()).extracting(WaitHandle::awaitId).containsExactly("qa-report"));

        StartOptions approvalOnly = StartOptions.none().withInput("change-approval",
                new dev.stasis.Approval(true, "Grace", null));
        FlowResult.Suspended atQa = (FlowResult.Suspended) ws.hub.start(ReleaseFlow.FLOW, release, approvalOnly)
                .block(T);
        assertThat(atQa.waits()).extracting(WaitHandle::awaitId).containsExactly("qa-report");
        // the approval given up front is kept for the second await, which does not suspend after QA reports
        FlowResult done = ws.hub.resume(atQa.key(), new QaReport(false, 9)).block(T);
        assertThat(done).isInstanceOfSatisfying(FlowResult.Completed.class, c ->
                assertThat(c.output(Deployment.class)).isEqualTo(new Deployment("search", "1.0.0", false, 9, "Grace")));
    }
}
