package dev.stasis.samples;

import dev.stasis.FlowResult;
import dev.stasis.QueryCriteria;
import dev.stasis.StartOptions;
import dev.stasis.SuspensionInfo;
import dev.stasis.samples.ReturnFlow.ReturnRequest;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import reactor.core.publisher.Flux;

/**
 * {@code entity-returns ORDER_ID}: starts the return of an order, idempotently. Run it twice (or with
 * {@code --starts 8}, eight starts at once) and every start answers with the same flow.
 */
@Command(name = "entity-returns", mixinStandardHelpOptions = true,
        description = {"One return flow per order (correlation id return-ORDER_ID): starting it again gives back the"
                + " same flow.",
            "Exit code 0 when every start got the same flow and the store holds one record for the order."})
final class EntityReturnsCommand implements Callable<Integer> {

    private static final Duration T = Duration.ofMinutes(1);

    @Parameters(index = "0", paramLabel = "ORDER_ID", description = "The order to return, e.g. PO-1001.")
    String orderId = "";

    @Option(names = "--starts", defaultValue = "1",
            description = "How many starts to send at once (default: ${DEFAULT-VALUE}).")
    int starts = 1;

    @Mixin
    Main.DataOptions options = new Main.DataOptions();

    @Spec
    CommandSpec spec;

    /** One start's answer. */
    private record Answer(int attempt, FlowResult result) {}

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (starts < 1 || starts > 64) {
            out.println("error: --starts must be between 1 and 64");
            return 1;
        }
        Workspace ws = Workspace.open(options.data, options.devKey, "returns-" + ProcessHandle.current().pid());
        String correlationId = ReturnFlow.correlationId(orderId);
        StartOptions startOptions = StartOptions.correlationId(correlationId);
        out.println("starting the return of order " + orderId + " (correlation id " + correlationId + "), " + starts
                + (starts == 1 ? " start" : " starts at once"));

        // all starts in flight together: the store lets exactly one of them create the flow
        List<Answer> answers = Flux.range(1, starts)
                .flatMap(i -> ws.hub.start(ReturnFlow.FLOW, new ReturnRequest(orderId), startOptions)
                        .map(r -> new Answer(i, r)), starts)
                .collectSortedList((a, b) -> Integer.compare(a.attempt(), b.attempt()))
                .block(T);
        for (Answer a : Objects.requireNonNull(answers, "answers")) {
            FlowResult r = a.result();
            String how = r instanceof FlowResult.Suspended s && !s.keys().isEmpty()
                    // only the start that created the flow gets the key: hand it to the warehouse
                    ? "NEW flow, waiting for " + s.waits().get(0).awaitId() + "; key for the warehouse: " + s.key()
                    : "the EXISTING flow (no new key: it went to whoever created the flow)";
            out.println("  start " + a.attempt() + ": flow " + r.flowId() + " " + r.status() + ", " + how);
        }

        List<String> flowIds = answers.stream().map(a -> a.result().flowId()).distinct().toList();
        List<SuspensionInfo> stored = ws.hub.query(QueryCriteria.builder().correlationId(correlationId).build())
                .collectList().block(T);
        int records = stored == null ? 0 : stored.size();
        out.println("flows returned: " + flowIds + "; records in the store for " + correlationId + ": " + records);
        if (flowIds.size() != 1 || records != 1) {
            out.println("UNEXPECTED: one order must have exactly one return flow");
            return 1;
        }
        out.println("the warehouse confirms with: java -jar samples/target/stasis-samples.jar resume KEY"
                + " '{\"confirmed\":true,\"by\":\"warehouse\"}' --data " + options.data
                + (options.devKey ? " --dev-key" : ""));
        return 0;
    }
}
