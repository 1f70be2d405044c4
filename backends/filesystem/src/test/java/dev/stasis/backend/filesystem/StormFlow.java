package dev.stasis.backend.filesystem;

import dev.stasis.AlreadyResumedException;
import dev.stasis.Approval;
import dev.stasis.AwaitInput;
import dev.stasis.Flow;
import dev.stasis.FlowResult;
import dev.stasis.PersistenceHub;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/** The flow both processes of {@link TwoProcessResumeIT} run, with a ledger of the side effect per flow. */
final class StormFlow {

    record Order(String id, int amount) {}

    record Receipt(String orderId, String approver) {}

    static final AwaitInput<Approval> APPROVAL = AwaitInput.approval("approval").timeout(Duration.ofHours(1)).build();

    /** A started flow: its id and resume key. */
    record Started(String flowId, String key) {}

    /** What one process saw. */
    record Outcome(Set<String> won, int refused, List<String> other) {}

    final Map<String, AtomicInteger> charges = new ConcurrentHashMap<>();

    final Flow<Order, Receipt> flow = Flow.define("two-process-approval", 1, Order.class, Receipt.class, (ctx, o) ->
            ctx.await(APPROVAL).flatMap(a -> ctx.step("charge", Receipt.class, () -> Mono.fromSupplier(() -> {
                charges.computeIfAbsent(ctx.flowId(), k -> new AtomicInteger()).incrementAndGet();
                return new Receipt(o.id(), a.approver());
            }))));

    /** Resumes every key {@code perKey} times at once (8 keys at a time), counting who won. */
    static Outcome storm(PersistenceHub hub, List<Started> flows, int perKey, String who) {
        Set<String> won = ConcurrentHashMap.newKeySet();
        AtomicInteger refused = new AtomicInteger();
        List<String> other = new java.util.concurrent.CopyOnWriteArrayList<>();
        Flux.fromIterable(flows)
                .flatMap(s -> Flux.range(0, perKey)
                        .flatMap(i -> hub.resume(s.key(), new Approval(true, who + "-" + i, null))
                                .subscribeOn(Schedulers.parallel())
                                .doOnNext(r -> {
                                    if (r instanceof FlowResult.Completed) {
                                        won.add(s.flowId());
                                    } else {
                                        other.add(s.flowId() + " " + r);
                                    }
                                })
                                .onErrorResume(AlreadyResumedException.class, e -> {
                                    refused.incrementAndGet();
                                    return Mono.empty();
                                })
                                .onErrorResume(e -> {
                                    other.add(s.flowId() + " " + e);
                                    return Mono.empty();
                                }), perKey), 8)
                .blockLast(Duration.ofMinutes(5));
        return new Outcome(won, refused.get(), other);
    }
}
