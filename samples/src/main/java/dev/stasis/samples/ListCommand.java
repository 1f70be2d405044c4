package dev.stasis.samples;

import dev.stasis.QueryCriteria;
import dev.stasis.SuspensionInfo;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code list}: the stored flows, from their plain index fields (no key, no state). */
@Command(name = "list", mixinStandardHelpOptions = true,
        description = "Lists the stored flows (plain index fields only: the state stays sealed).")
final class ListCommand implements Callable<Integer> {

    @Mixin
    Main.DataOptions options = new Main.DataOptions();

    @Override
    public Integer call() throws IOException {
        Workspace ws = Workspace.open(options.data, options.devKey, "list-" + ProcessHandle.current().pid());
        List<SuspensionInfo> flows = ws.hub.query(QueryCriteria.builder().limit(QueryCriteria.MAX_LIMIT).build())
                .collectList().block(Duration.ofMinutes(1));
        System.out.println("Flows in " + ws.storeDir + ":");
        if (flows == null || flows.isEmpty()) {
            System.out.println("  (none)");
            return 0;
        }
        System.out.printf("  %-32s  %-12s  %-10s  %-24s  %s%n", "flow id", "flow", "status", "deadline", "waits");
        for (SuspensionInfo f : flows) {
            System.out.printf("  %-32s  %-12s  %-10s  %-24s  %s%n", f.flowId(), f.flowName() + " v" + f.flowVersion(),
                    f.status(), f.deadline() == null ? "-" : f.deadline(),
                    f.waits().stream().map(w -> w.awaitId() + ":" + w.status()).toList());
        }
        return 0;
    }
}
