package dev.stasis.samples;

import dev.stasis.AlreadyResumedException;
import dev.stasis.Approval;
import dev.stasis.FlowResult;
import dev.stasis.WaitHandle;
import dev.stasis.samples.QuorumFlow.Proposal;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code quorum}: two of three approvers must approve. Prints the three keys; then (unless {@code --start-only})
 * Alice and Bob approve, the flow completes, and Carol's key is refused.
 */
@Command(name = "quorum", mixinStandardHelpOptions = true,
        description = {"Two of three approvers must approve (ctx.awaitQuorum): prints the three keys, then two approve,"
                + " the flow completes and the third key is refused.",
            "With --start-only it only prints the keys: answer them with `resume KEY JSON`.",
            "Exit code 0 when every step behaved as expected."})
final class QuorumCommand implements Callable<Integer> {

    private static final Duration T = Duration.ofMinutes(1);

    @Option(names = "--start-only", description = "Only start the flow and print the three keys.")
    boolean startOnly;

    @Mixin
    Main.DataOptions options = new Main.DataOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        Workspace ws = Workspace.open(options.data, options.devKey, "quorum-" + ProcessHandle.current().pid());
        FlowResult started = ws.hub.start(QuorumFlow.FLOW, new Proposal("New build servers", 48_000)).block(T);
        if (!(started instanceof FlowResult.Suspended s) || s.keys().size() != 3) {
            out.println("UNEXPECTED: the flow should wait for three approvers, got " + started);
            return 1;
        }
        out.println("flow " + s.flowId() + " waits for 2 of 3 approvers (one suspension, one key each):");
        Map<String, String> keys = new LinkedHashMap<>();
        for (WaitHandle w : s.waits()) {
            keys.put(w.awaitId(), w.key());
            out.printf("  %-6s %-30s key: %s%n", w.awaitId(), w.name(), w.key());
        }
        if (startOnly) {
            out.println("answer with: java -jar samples/target/stasis-samples.jar resume KEY"
                    + " '{\"approved\":true,\"approver\":\"Alice\"}' --data " + options.data
                    + (options.devKey ? " --dev-key" : ""));
            return 0;
        }

        FlowResult afterAlice = ws.hub.resume(keys.get("alice"), new Approval(true, "Alice", null)).block(T);
        out.println("alice approves -> " + afterAlice.status() + " (1 answer of the 2 needed)");
        FlowResult afterBob = ws.hub.resume(keys.get("bob"), new Approval(true, "Bob", "go")).block(T);
        out.println("bob approves   -> " + afterBob.status()
                + (afterBob instanceof FlowResult.Completed c ? ": " + c.output() : ""));
        try {
            FlowResult late = ws.hub.resume(keys.get("carol"), new Approval(true, "Carol", null)).block(T);
            out.println("UNEXPECTED: carol's key still worked: " + late);
            return 1;
        } catch (AlreadyResumedException e) {
            out.println("carol answers  -> refused: " + e.getMessage() + " (HTTP 409): the quorum was reached");
        }
        if (!(afterAlice instanceof FlowResult.Suspended) || !(afterBob instanceof FlowResult.Completed)) {
            out.println("UNEXPECTED: the flow should complete after the second approval");
            return 1;
        }
        return 0;
    }
}
