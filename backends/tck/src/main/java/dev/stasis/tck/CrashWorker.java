package dev.stasis.tck;

import dev.stasis.AlreadyResumedException;
import dev.stasis.Approval;
import dev.stasis.AwaitInput;
import dev.stasis.Flow;
import dev.stasis.FlowOptions;
import dev.stasis.FlowResult;
import dev.stasis.FlowStatus;
import dev.stasis.PersistenceHub;
import dev.stasis.QueryCriteria;
import dev.stasis.StasisException;
import dev.stasis.internal.FlowIds;
import dev.stasis.security.KeyRing;
import dev.stasis.spi.DuplicateRecordException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.StateStore;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The child process of the crash-injection suite. It recovers what earlier (killed) children left running,
 * resumes every known key while it starts a given number of new flows and resumes them at once, and prints
 * {@code KEY <flowId> <key>} for each suspension after it is durable. The parent kills it with SIGKILL at random
 * moments. The flow's last step writes a ledger record into the store (unique per flow, so applying it twice is
 * impossible) and an attempt record (one per execution, so re-executions are counted).
 *
 * <p>Usage: {@code CrashWorker <factory class> <keys file> <new flows> <name prefix>}; the key ring comes from
 * {@code STASIS_KEYS}.
 */
public final class CrashWorker {

    /** The wait of the crash flow. */
    static final AwaitInput<Approval> GO = AwaitInput.approval("go").build();

    private CrashWorker() {}

    /**
     * The crash flow: await → checkpointed "reserve" → "ship" that writes the ledger.
     *
     * @param prefix flow-name prefix
     * @param store where the ledger goes
     * @return the flow
     */
    static Flow<String, String> flow(String prefix, StateStore store) {
        return Flow.define(prefix + "-crash", 1, String.class, String.class, (ctx, order) ->
                        ctx.await(GO)
                                .flatMap(a -> ctx.step("reserve", String.class, () -> Mono.just("reserved-" + order)))
                                .flatMap(r -> ctx.step("ship", String.class, () -> ledger(store, prefix, ctx.flowId())
                                        .thenReturn("shipped-" + order))))
                .withOptions(FlowOptions.checkpointEveryStep());
    }

    private static Mono<Void> ledger(StateStore store, String prefix, String flowId) {
        Mono<Void> attempt = store.insert(ledgerRecord(prefix + "-attempt", "attempt:" + flowId + ":" + UUID.randomUUID()));
        Mono<Void> entry = store.insert(ledgerRecord(prefix + "-ledger", "ledger:" + flowId))
                .onErrorResume(DuplicateRecordException.class, e -> Mono.empty());
        return attempt.then(entry);
    }

    private static FlowRecord ledgerRecord(String name, String correlationId) {
        Instant now = Instant.ofEpochMilli(System.currentTimeMillis());
        return FlowRecord.builder()
                .id(FlowIds.next(now))
                .flowName(name)
                .flowVersion(1)
                .status(FlowStatus.COMPLETED)
                .version(1)
                .createdAt(now)
                .updatedAt(now)
                .correlationId(correlationId)
                .retainUntil(now.plus(Duration.ofDays(1)))
                .state("ledger".getBytes(StandardCharsets.US_ASCII))
                .build();
    }

    /**
     * Runs one incarnation.
     *
     * @param args factory class, keys file, how many new flows to start, name prefix
     * @throws Exception on setup errors
     */
    public static void main(String[] args) throws Exception {
        PrintStream out = System.out;
        ChildStoreFactory factory = (ChildStoreFactory) Class.forName(args[0]).getDeclaredConstructor().newInstance();
        Path keysFile = Path.of(args[1]);
        int newFlows = Integer.parseInt(args[2]);
        String prefix = args[3];
        Map<String, String> env = System.getenv();
        StateStore store = factory.create(env);
        Flow<String, String> flow = flow(prefix, store);
        PersistenceHub hub = PersistenceHub.builder(store, KeyRing.fromEnvironment())
                .register(flow)
                .instanceId("child-" + ProcessHandle.current().pid())
                .leaseDuration(Duration.ofSeconds(1))
                .build();
        hub.provision().block(Duration.ofMinutes(1));
        out.println("READY");
        out.flush();
        Disposable sweeper = hub.startSweeper(Duration.ofMillis(100), 100);
        List<String[]> known = new ArrayList<>();
        if (Files.exists(keysFile)) {
            for (String line : Files.readAllLines(keysFile)) {
                String[] parts = line.trim().split(" ");
                if (parts.length == 2) known.add(parts);
            }
        }
        // new flows and the keys of earlier children at once, so a kill lands on starts, claims and runs alike
        Flux<FlowResult> fresh = Flux.range(0, newFlows)
                .flatMap(i -> hub.start(flow, "order-" + UUID.randomUUID())
                        .cast(FlowResult.Suspended.class)
                        .doOnNext(s -> {
                            synchronized (out) {
                                out.println("KEY " + s.flowId() + " " + s.key());
                                out.flush();
                            }
                        })
                        .flatMap(s -> resume(hub, s.key())), 4);
        Flux<FlowResult> earlier = Flux.fromIterable(known).flatMap(k -> resume(hub, k[1]), 4);
        Flux.merge(fresh, earlier).blockLast(Duration.ofMinutes(2));
        // wait until nothing of ours is running any more (orphans of earlier children are recovered by the sweeper)
        QueryCriteria running = QueryCriteria.builder().flowName(flow.name()).status(FlowStatus.RUNNING).limit(1).build();
        Mono.defer(() -> store.query(running).hasElements())
                .filter(any -> !any)
                .repeatWhenEmpty(600, f -> f.delayElements(Duration.ofMillis(100)))
                .block(Duration.ofMinutes(2));
        sweeper.dispose();
        out.println("DONE");
        out.flush();
        System.exit(0);
    }

    private static Mono<FlowResult> resume(PersistenceHub hub, String key) {
        return hub.resume(key, new Approval(true, "crash-test", null))
                .onErrorResume(AlreadyResumedException.class, e -> Mono.empty())
                .onErrorResume(e -> e instanceof StasisException && !(e instanceof dev.stasis.StateIntegrityException),
                        e -> Mono.empty());
    }
}
