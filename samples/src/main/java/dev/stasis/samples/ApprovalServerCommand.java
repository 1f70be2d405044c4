package dev.stasis.samples;

import dev.stasis.FlowEvent;
import dev.stasis.FlowResult;
import dev.stasis.webhook.StasisRoutes;
import dev.stasis.webhook.StasisServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;

/**
 * {@code approval-server}: purchase approvals over HTTP. Runs the webhook server ({@link StasisServer}) on the
 * filesystem store, starts one purchase that waits for a manager, and prints a {@code curl} line that approves it,
 * plus the approval inbox and its admin token.
 */
@Command(name = "approval-server", mixinStandardHelpOptions = true,
        description = {"Purchase approvals over HTTP: the webhook server on the filesystem store, one purchase waiting"
                + " for a manager, and a ready curl line that approves it. Runs until Ctrl-C."})
final class ApprovalServerCommand implements Callable<Integer> {

    private static final Duration T = Duration.ofMinutes(1);
    private static final String HOST = "127.0.0.1";
    private static final Set<FlowEvent.Type> FINAL = EnumSet.of(FlowEvent.Type.COMPLETED, FlowEvent.Type.FAILED,
            FlowEvent.Type.CANCELLED, FlowEvent.Type.EXPIRED);

    @Option(names = "--port", defaultValue = "8080", description = "Port on " + HOST
            + " (0: any free port; default: ${DEFAULT-VALUE}).")
    int port = 8080;

    @Option(names = "--exit-after-resume", description = "Exit once the purchase is finished (exit code 0 when it"
            + " completed), instead of serving until Ctrl-C.")
    boolean exitAfterResume;

    @Mixin
    Main.DataOptions options = new Main.DataOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException, InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        Workspace ws = Workspace.open(options.data, options.devKey, "approval-server-" + ProcessHandle.current().pid());

        // 1. The HTTP side: POST /resume/{key}, plus the admin API and the approval inbox behind a token
        String adminToken = newAdminToken();
        StasisRoutes routes = StasisRoutes.builder(ws.hub).adminToken(adminToken).build();
        DisposableServer server = StasisServer.builder(routes).host(HOST).port(port).build().start();
        Disposable sweeper = ws.hub.startSweeper(Duration.ofSeconds(30), 100); // fires waits whose deadline passed
        String base = "http://" + HOST + ":" + server.port();

        // 2. Watch the hub's events before anything can happen, to learn when our purchase is finished
        AtomicReference<String> ourFlow = new AtomicReference<>("");
        CompletableFuture<FlowEvent> finished = new CompletableFuture<>();
        Disposable watch = ws.hub.events()
                .filter(e -> FINAL.contains(e.type()) && e.flowId().equals(ourFlow.get()))
                .subscribe(finished::complete);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            watch.dispose();
            sweeper.dispose();
            server.disposeNow(Duration.ofSeconds(5));
        }, "approval-server-shutdown"));

        // 3. A purchase over 1000 EUR: it suspends at the manager's approval and hands out its key
        PurchaseFlow.Order order = new PurchaseFlow.Order(
                String.format("PO-%06d", ThreadLocalRandom.current().nextInt(1_000_000)), "Ada Lovelace",
                "Standing desk, walnut", 1500);
        FlowResult started = ws.hub.start(PurchaseFlow.FLOW, order).block(T);
        if (!(started instanceof FlowResult.Suspended s)) {
            out.println("error: expected the purchase to wait for approval, got " + started);
            server.disposeNow();
            return 1;
        }
        ourFlow.set(s.flowId());
        String resumeUrl = base + "/resume/" + s.key();
        String body = "{\"approved\":true,\"approver\":\"Grace Hopper\",\"comment\":\"within budget\"}";
        out.println("Stasis approval server on " + base + " (store " + ws.storeDir + ", key " + ws.keySource + ")");
        out.println();
        out.println("Purchase " + order.orderId() + " (" + order.item() + ", " + order.amountEur() + " EUR) waits for "
                + s.waits().get(0).name() + ": flow " + s.flowId() + ", deadline " + s.expiresAt());
        out.println("resume URL: " + resumeUrl);
        out.println("Approve it with:");
        out.println("curl -sS -X POST -H 'Content-Type: application/json' -d '" + body + "' " + resumeUrl);
        out.println("(a second identical POST gets 409; a body that does not fit the wait's schema gets 400)");
        out.println();
        out.println("Or approve in the browser: " + base + "/inbox");
        out.println("admin token: " + adminToken);
        out.println("(The token is printed because this is your own local server: it opens the inbox and the admin"
                + " API (" + base + "/admin/...), so treat it like a password. A new one is made on every start.)");
        out.println(exitAfterResume ? "Exits once the purchase is finished." : "Press Ctrl-C to stop.");
        out.flush();

        if (!exitAfterResume) {
            // report the outcome when it happens (without blocking the thread that delivers the event)
            finished.thenAccept(e -> ws.hub.result(e.flowId()).subscribe(r -> report(out, e, r)));
            server.onDispose().block(); // until Ctrl-C (the shutdown hook disposes the server)
            return 0;
        }
        FlowEvent end;
        try {
            end = finished.get();
        } catch (ExecutionException e) {
            out.println("error: " + e.getCause());
            return 1;
        }
        FlowResult result = ws.hub.result(end.flowId()).block(T);
        report(out, end, result);
        // the COMPLETED event comes before the route has written its HTTP answer: give the answer time to leave
        // (without this, the curl that resumed the flow got an empty reply when the process exited)
        Mono.delay(Duration.ofSeconds(1)).block();
        watch.dispose();
        sweeper.dispose();
        server.disposeNow(Duration.ofSeconds(5));
        return result instanceof FlowResult.Completed ? 0 : 1;
    }

    private static void report(PrintWriter out, FlowEvent end, @Nullable FlowResult result) {
        out.println("flow " + end.flowId() + " is " + end.type()
                + (result instanceof FlowResult.Completed c ? ": " + c.output() : ""));
        out.flush();
    }

    /** 32 random bytes, base64url: the admin API's bearer token and the inbox's password for this run. */
    private static String newAdminToken() {
        byte[] bytes = new byte[32];
        new SecureRandom().nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
