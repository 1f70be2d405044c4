package dev.stasis.samples;

import dev.stasis.AwaitInput;
import dev.stasis.Confirmation;
import dev.stasis.Flow;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * An entity flow: one return per order. The caller starts it with the correlation id {@code return-<orderId>}
 * ({@link #correlationId(String)}), so starting it again, from any process and as often as a retry or a duplicate
 * message makes it happen, gives back the same flow instead of a second return.
 */
public final class ReturnFlow {

    /**
     * A return request.
     *
     * @param orderId the order being returned
     */
    public record ReturnRequest(String orderId) {}

    /**
     * The flow's output.
     *
     * @param orderId the order
     * @param rma the return authorization number
     * @param refunded whether the money went back
     */
    public record ReturnOutcome(String orderId, String rma, boolean refunded) {}

    /** The wait: the warehouse confirms that the parcel arrived, within 30 days. */
    public static final AwaitInput<Confirmation> PARCEL_RECEIVED = AwaitInput.confirmation("parcel-received")
            .name("Parcel received")
            .description("The warehouse confirms that the returned parcel arrived")
            .timeout(Duration.ofDays(30))
            .build();

    /** The flow definition, "order-return" version 1. */
    public static final Flow<ReturnRequest, ReturnOutcome> FLOW = Flow.define("order-return", 1,
            ReturnRequest.class, ReturnOutcome.class,
            (ctx, request) -> ctx.stepValue("open-rma", String.class, // random, so journaled: the same on every replay
                            () -> String.format("RMA-%06d", ThreadLocalRandom.current().nextInt(1_000_000)))
                    .flatMap(rma -> ctx.await(PARCEL_RECEIVED)
                            .map(parcel -> new ReturnOutcome(request.orderId(), rma, parcel.confirmed()))));

    private ReturnFlow() {}

    /**
     * The correlation id of an order's return: the entity's identity.
     *
     * @param orderId the order
     * @return {@code "return-" + orderId}
     */
    public static String correlationId(String orderId) {
        return "return-" + orderId;
    }
}
