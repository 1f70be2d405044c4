package dev.stasis.samples;

import dev.stasis.Approval;
import dev.stasis.FlowResult;
import dev.stasis.StartOptions;
import dev.stasis.WaitHandle;
import dev.stasis.samples.ReleaseFlow.QaReport;
import dev.stasis.samples.ReleaseFlow.Release;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code supervisor}: a supervisor starts the release flow twice. First with every input already supplied, so it
 * runs to completion without suspending; then with the change approval missing, so it suspends exactly there.
 */
@Command(name = "supervisor", mixinStandardHelpOptions = true,
        description = {"A supervisor starts flows with await inputs supplied up front (StartOptions.withInput):",
            "with all of them the flow completes without suspending; with one missing it suspends exactly there.",
            "Exit code 0 when both behaved so."})
final class SupervisorCommand implements Callable<Integer> {

    private static final Duration T = Duration.ofMinutes(1);

    @Mixin
    Main.DataOptions options = new Main.DataOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        Workspace ws = Workspace.open(options.data, options.devKey, "supervisor-" + ProcessHandle.current().pid());
        QaReport qa = new QaReport(true, 412);
        Approval standing = new Approval(true, "change board (standard change)", "pre-approved routine release");

        out.println("1. The supervisor has the QA report and a standing approval: it supplies both up front.");
        StartOptions everything = StartOptions.none()
                .withInput(ReleaseFlow.QA_REPORT.id(), qa)
                .withInput(ReleaseFlow.CHANGE_APPROVAL.id(), standing);
        FlowResult first = ws.hub.start(ReleaseFlow.FLOW, new Release("billing", "2.4.0"), everything).block(T);
        out.println("   -> " + describe(first));
        boolean ok = first instanceof FlowResult.Completed;
        if (ok) {
            out.println("   No suspension, no key, no record: a flow that never waits (and has no correlation id)"
                    + " is not stored.");
        }

        out.println("2. The supervisor has only the QA report: the change board must still decide.");
        StartOptions qaOnly = StartOptions.none().withInput(ReleaseFlow.QA_REPORT.id(), qa);
        FlowResult second = ws.hub.start(ReleaseFlow.FLOW, new Release("billing", "2.5.0"), qaOnly).block(T);
        out.println("   -> " + describe(second));
        if (second instanceof FlowResult.Suspended s && s.waits().size() == 1
                && s.waits().get(0).awaitId().equals(ReleaseFlow.CHANGE_APPROVAL.id())) {
            out.println("   key: " + s.key());
            out.println("   The QA report was used and journaled; only the change approval is open. Approve with:");
            out.println("   java -jar samples/target/stasis-samples.jar resume " + s.key()
                    + " '{\"approved\":true,\"approver\":\"Grace Hopper\"}' --data " + options.data
                    + (options.devKey ? " --dev-key" : ""));
        } else {
            ok = false;
        }
        if (!ok) {
            out.println("UNEXPECTED: case 1 must complete and case 2 must suspend at "
                    + ReleaseFlow.CHANGE_APPROVAL.id());
            return 1;
        }
        return 0;
    }

    private static String describe(FlowResult r) {
        if (r instanceof FlowResult.Completed c) {
            return "COMPLETED without suspending: " + c.output();
        }
        if (r instanceof FlowResult.Suspended s) {
            WaitHandle w = s.waits().get(0);
            return "SUSPENDED at " + s.waits().stream().map(WaitHandle::awaitId).toList() + " (" + w.name() + ": "
                    + w.description() + "), flow " + s.flowId();
        }
        return r.toString();
    }
}
