package dev.stasis.samples;

import dev.stasis.Approval;
import dev.stasis.AwaitInput;
import dev.stasis.Flow;
import java.time.Duration;
import reactor.core.publisher.Mono;

/**
 * A release that needs two inputs before it deploys: a QA report and the change board's approval. Run by a
 * supervisor (a CI pipeline, an orchestrating agent) that often already has some of them: it passes those to
 * {@code start} as up-front inputs ({@link dev.stasis.StartOptions#withInput}), and the flow suspends only at the
 * waits nobody answered yet.
 */
public final class ReleaseFlow {

    /**
     * What to release.
     *
     * @param service the service
     * @param version its version
     */
    public record Release(String service, String version) {}

    /**
     * The QA report.
     *
     * @param passed whether the test suite passed
     * @param testsRun how many tests ran
     */
    public record QaReport(boolean passed, int testsRun) {}

    /**
     * The flow's output.
     *
     * @param service the service
     * @param version its version
     * @param deployed whether it went out
     * @param testsRun tests in the QA report
     * @param approvedBy who decided for the change board
     */
    public record Deployment(String service, String version, boolean deployed, int testsRun, String approvedBy) {}

    /** The first wait: QA reports the test results. */
    public static final AwaitInput<QaReport> QA_REPORT = AwaitInput.builder("qa-report", QaReport.class)
            .name("QA report")
            .description("The test results of the release candidate")
            .timeout(Duration.ofDays(2))
            .build();

    /** The second wait: the change board approves the deployment. */
    public static final AwaitInput<Approval> CHANGE_APPROVAL = AwaitInput.approval("change-approval")
            .name("Change approval")
            .description("The change board approves the deployment")
            .timeout(Duration.ofDays(2))
            .build();

    /** The flow definition, "release" version 1. */
    public static final Flow<Release, Deployment> FLOW = Flow.define("release", 1, Release.class, Deployment.class,
            (ctx, release) -> ctx.await(QA_REPORT)              // returns the up-front input at once, if there is one
                    .flatMap(qa -> ctx.await(CHANGE_APPROVAL)   // ... and suspends here only if there is none
                            .flatMap(approval -> qa.passed() && approval.approved()
                                    ? ctx.step("deploy", Deployment.class, () -> Mono.just(new Deployment(
                                            release.service(), release.version(), true, qa.testsRun(),
                                            approval.approver())))
                                    : Mono.just(new Deployment(release.service(), release.version(), false,
                                            qa.testsRun(), approval.approver())))));

    private ReleaseFlow() {}
}
