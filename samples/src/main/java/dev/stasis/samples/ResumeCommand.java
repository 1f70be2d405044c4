package dev.stasis.samples;

import dev.stasis.AlreadyResumedException;
import dev.stasis.FlowResult;
import dev.stasis.InputValidationException;
import dev.stasis.ResumeOptions;
import dev.stasis.SuspensionKeyNotFoundException;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code resume KEY JSON}: resumes a suspended flow of any of the samples in this process. */
@Command(name = "resume", mixinStandardHelpOptions = true,
        description = {"Resumes a suspended flow with a JSON input, in this process.",
            "Exit codes: 0 resumed, 3 invalid input, 4 already resumed, 5 unknown or expired key, 1 other errors.",
            "Note: a key on the command line is visible to other local users (ps); a real service takes it from a"
                + " request."})
final class ResumeCommand implements Callable<Integer> {

    static final int INVALID_INPUT = 3;
    static final int ALREADY_RESUMED = 4;
    static final int NOT_FOUND = 5;

    @Parameters(index = "0", paramLabel = "KEY", description = "The resume key (sk1_...).")
    String key = "";

    @Parameters(index = "1", paramLabel = "JSON",
            description = "The input, e.g. {\"approved\":true,\"approver\":\"Grace Hopper\"}.")
    String json = "";

    @Mixin
    Main.DataOptions options = new Main.DataOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        long pid = ProcessHandle.current().pid();
        Workspace ws = Workspace.open(options.data, options.devKey, "resume-" + pid);
        out.println("process " + pid + ": resuming with " + json);
        try {
            FlowResult r = ws.hub.resumeJson(key, json, ResumeOptions.none()).block(Duration.ofMinutes(1));
            if (r instanceof FlowResult.Completed c) {
                out.println("process " + pid + ": flow " + c.flowId() + " is COMPLETED: " + c.output());
            } else if (r instanceof FlowResult.Suspended s) {
                out.println("process " + pid + ": flow " + s.flowId() + " is SUSPENDED again at "
                        + s.waits().stream().map(w -> w.awaitId()).toList() + "; new keys: " + s.keys());
            } else if (r instanceof FlowResult.Failed f) {
                out.println("process " + pid + ": flow " + f.flowId() + " " + f.status() + ": "
                        + f.errorType() + ": " + f.message());
            }
            return 0;
        } catch (InputValidationException e) {
            out.println("process " + pid + ": rejected, the input does not fit wait '" + e.awaitId() + "':");
            e.violations().forEach(v -> out.println("  - " + v));
            return INVALID_INPUT;
        } catch (AlreadyResumedException e) {
            out.println("process " + pid + ": refused, " + e.getMessage() + " (HTTP 409)");
            return ALREADY_RESUMED;
        } catch (SuspensionKeyNotFoundException e) { // includes SuspensionExpiredException
            out.println("process " + pid + ": refused, " + e.getMessage());
            return NOT_FOUND;
        }
    }
}
