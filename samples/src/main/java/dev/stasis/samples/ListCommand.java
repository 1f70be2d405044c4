package dev.stasis.samples;

import dev.stasis.QueryCriteria;
import dev.stasis.SuspensionInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code list}: the stored flows, from their plain index fields (no key, no state). */
@Command(name = "list", mixinStandardHelpOptions = true,
        description = "Lists the stored flows (plain index fields only: the state stays sealed).")
final class ListCommand implements Callable<Integer> {

    @Mixin
    Main.DataOptions options = new Main.DataOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        Workspace ws = Workspace.open(options.data, options.devKey, "list-" + ProcessHandle.current().pid());
        List<SuspensionInfo> flows = ws.hub.query(QueryCriteria.builder().limit(QueryCriteria.MAX_LIMIT).build())
                .collectList().block(Duration.ofMinutes(1));
        out.println("Flows in " + ws.storeDir + ":");
        if (flows == null || flows.isEmpty()) {
            out.println("  (none)");
            return 0;
        }
        out.printf("  %-32s  %-12s  %-10s  %-24s  %s%n", "flow id", "flow", "status", "deadline", "waits");
        for (SuspensionInfo f : flows) {
            out.printf("  %-32s  %-12s  %-10s  %-24s  %s%n", f.flowId(), f.flowName() + " v" + f.flowVersion(),
                    f.status(), f.deadline() == null ? "-" : f.deadline(),
                    f.waits().stream().map(w -> w.awaitId() + ":" + w.status()).toList());
        }
        return 0;
    }
}
