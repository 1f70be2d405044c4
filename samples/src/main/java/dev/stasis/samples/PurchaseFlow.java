package dev.stasis.samples;

import dev.stasis.Approval;
import dev.stasis.AwaitInput;
import dev.stasis.Flow;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import reactor.core.publisher.Mono;

/**
 * The sample's purchase flow: reserve the budget, wait for a manager's approval when the amount is over 1000 EUR,
 * then place the order. Both side effects print a line saying which process ran them, so the demo shows that a
 * resumed flow does not run its first step again.
 */
public final class PurchaseFlow {

    /**
     * A purchase order. Its fields are the "plaintext" the demo looks for in the store's files (and never finds).
     *
     * @param orderId the order number
     * @param customer who orders
     * @param item what is ordered
     * @param amountEur the price in EUR
     */
    public record Order(String orderId, String customer, String item, int amountEur) {}

    /**
     * The flow's output.
     *
     * @param orderId the order number
     * @param item what was ordered
     * @param amountEur the price in EUR (0 when rejected)
     * @param approvedBy who decided
     * @param supplierReference the supplier's reference, or {@code "rejected"}
     */
    public record Receipt(String orderId, String item, int amountEur, String approvedBy, String supplierReference) {}

    /** The wait: a manager approves within 24 hours. */
    public static final AwaitInput<Approval> MANAGER_APPROVAL = AwaitInput.approval("manager-approval")
            .name("Manager approval")
            .description("A manager approves purchases over 1000 EUR")
            .timeout(Duration.ofHours(24))
            .metadata(Map.of("department", "finance"))
            .build();

    /** The flow definition, "purchase" version 1. */
    public static final Flow<Order, Receipt> FLOW = Flow.define("purchase", 1, Order.class, Receipt.class,
            (ctx, order) -> ctx.step("reserve-budget", String.class, () -> Mono.fromSupplier(() -> {
                        sideEffect("reserved " + order.amountEur() + " EUR of budget");
                        return "budget-" + order.orderId();
                    }))
                    .then(order.amountEur() > 1000 ? ctx.await(MANAGER_APPROVAL) : Mono.just(Approval.auto()))
                    .flatMap(approval -> approval.approved()
                            ? ctx.step("place-order", Receipt.class, () -> Mono.fromSupplier(() -> {
                                sideEffect("placed the order with the supplier");
                                return new Receipt(order.orderId(), order.item(), order.amountEur(),
                                        approval.approver(), String.format("SUP-%06d",
                                                ThreadLocalRandom.current().nextInt(1_000_000)));
                            }))
                            : Mono.just(new Receipt(order.orderId(), order.item(), 0, approval.approver(),
                                    "rejected"))));

    private PurchaseFlow() {}

    private static void sideEffect(String what) {
        System.out.println("  [side effect in process " + ProcessHandle.current().pid() + "] " + what);
    }
}
