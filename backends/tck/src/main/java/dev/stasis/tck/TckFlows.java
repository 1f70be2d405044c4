package dev.stasis.tck;

import dev.stasis.Approval;
import dev.stasis.AwaitInput;
import dev.stasis.Flow;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Mono;

/**
 * The flows the contract suite runs, with side-effect ledgers that count how often each step really executed.
 */
public final class TckFlows {

    /** An order; {@code customer} carries a plaintext marker the side channel must never find. */
    public record Order(String id, String customer, int amount) {}

    /** The flow's output. */
    public record Receipt(String orderId, String approvedBy, int amount) {}

    /** The approval wait: 1 hour, no default. */
    public static final AwaitInput<Approval> APPROVAL = AwaitInput.approval("manager-approval")
            .timeout(Duration.ofHours(1))
            .metadata(Map.of("department", "finance"))
            .build();

    /** A wait with a default: times out into a rejection. */
    public static final AwaitInput<Approval> APPROVAL_WITH_DEFAULT = AwaitInput.approval("approval-or-default")
            .timeout(Duration.ofMinutes(5))
            .defaultValue(new Approval(false, "system", "timed out"))
            .build();

    /** Charges executed, by flow id. */
    public final Map<String, AtomicInteger> charges = new ConcurrentHashMap<>();
    /** Reservations executed, by flow id. */
    public final Map<String, AtomicInteger> reservations = new ConcurrentHashMap<>();

    /** reserve → await approval → charge. */
    public final Flow<Order, Receipt> approval;
    /** reserve → await approval with default → charge or reject. */
    public final Flow<Order, Receipt> approvalWithDefault;
    /** two of three approvers. */
    public final Flow<Order, Receipt> quorum;
    /** await a note → checkpointed step "prepare" → step "ship" that hangs while {@link #hang} is set. */
    public final Flow<Order, Receipt> crashable;
    /** await with a 10-minute timeout and no default; the flow handles the timeout. */
    public final Flow<Order, Receipt> timeoutHandled;
    /** When set, the crashable flow's "ship" step never completes (simulates a process that dies mid-run). */
    public final java.util.concurrent.atomic.AtomicBoolean hang = new java.util.concurrent.atomic.AtomicBoolean();
    /** Counts down when the crashable flow reaches "ship". */
    public volatile java.util.concurrent.CountDownLatch reachedShip = new java.util.concurrent.CountDownLatch(1);
    /** "prepare" steps executed, by flow id. */
    public final Map<String, AtomicInteger> prepares = new ConcurrentHashMap<>();

    /** The wait of the crashable and timeout flows. */
    public static final AwaitInput<Approval> GO = AwaitInput.approval("go").timeout(Duration.ofMinutes(10)).build();

    /**
     * Creates the flows under a unique name prefix, so that test classes sharing a store do not see each other.
     *
     * @param prefix a unique prefix
     */
    public TckFlows(String prefix) {
        approval = Flow.define(prefix + "-approval", 1, Order.class, Receipt.class, (ctx, order) ->
                ctx.step("reserve", String.class, () -> Mono.fromSupplier(() -> {
                            count(reservations, ctx.flowId());
                            return "r-" + order.id();
                        }))
                        .then(ctx.await(APPROVAL))
                        .flatMap(a -> ctx.step("charge", Receipt.class, () -> Mono.fromSupplier(() -> {
                            count(charges, ctx.flowId());
                            return new Receipt(order.id(), a.approver(), order.amount());
                        }))));
        approvalWithDefault = Flow.define(prefix + "-approval-default", 1, Order.class, Receipt.class, (ctx, order) ->
                ctx.await(APPROVAL_WITH_DEFAULT)
                        .filter(Approval::approved)
                        .flatMap(a -> ctx.step("charge", Receipt.class, () -> Mono.fromSupplier(() -> {
                            count(charges, ctx.flowId());
                            return new Receipt(order.id(), a.approver(), order.amount());
                        })))
                        .defaultIfEmpty(new Receipt(order.id(), "nobody", 0)));
        AwaitInput<Approval> a1 = AwaitInput.approval("approver-1").build();
        AwaitInput<Approval> a2 = AwaitInput.approval("approver-2").build();
        AwaitInput<Approval> a3 = AwaitInput.approval("approver-3").build();
        crashable = crashableFlow(prefix);
        timeoutHandled = Flow.define(prefix + "-timeout", 1, Order.class, Receipt.class, (ctx, order) ->
                ctx.await(GO)
                        .map(a -> new Receipt(order.id(), a.approver(), order.amount()))
                        .onErrorResume(dev.stasis.AwaitTimeoutException.class,
                                e -> Mono.just(new Receipt(order.id(), "timeout:" + e.awaitId(), 0))));
        quorum = Flow.define(prefix + "-quorum", 1, Order.class, Receipt.class, (ctx, order) ->
                ctx.awaitQuorum(2, java.util.List.of(a1, a2, a3))
                        .flatMap(r -> ctx.step("charge", Receipt.class, () -> Mono.fromSupplier(() -> {
                            count(charges, ctx.flowId());
                            return new Receipt(order.id(), String.join("+", r.awaitIds()), order.amount());
                        }))));
    }

    /**
     * Builds the crash and timeout flows.
     */
    private Flow<Order, Receipt> crashableFlow(String prefix) {
        return Flow.define(prefix + "-crashable", 1, Order.class, Receipt.class, (ctx, order) ->
                        ctx.await(GO)
                                .flatMap(a -> ctx.step("prepare", String.class, () -> Mono.fromSupplier(() -> {
                                    count(prepares, ctx.flowId());
                                    return "prepared";
                                })))
                                .flatMap(p -> ctx.step("ship", Receipt.class, () -> {
                                    boolean hangHere = hang.get();
                                    reachedShip.countDown();
                                    if (hangHere) {
                                        return Mono.never();
                                    }
                                    return Mono.fromSupplier(() -> {
                                        count(charges, ctx.flowId());
                                        return new Receipt(order.id(), "shipped", order.amount());
                                    });
                                })))
                .withOptions(dev.stasis.FlowOptions.checkpointEveryStep());
    }

    /**
     * How often a step of a flow really executed.
     *
     * @param ledger the ledger ({@link #charges} or {@link #reservations})
     * @param flowId the flow
     * @return the count
     */
    public static int executions(Map<String, AtomicInteger> ledger, String flowId) {
        AtomicInteger n = ledger.get(flowId);
        return n == null ? 0 : n.get();
    }

    private static void count(Map<String, AtomicInteger> ledger, String flowId) {
        ledger.computeIfAbsent(flowId, k -> new AtomicInteger()).incrementAndGet();
    }
}
