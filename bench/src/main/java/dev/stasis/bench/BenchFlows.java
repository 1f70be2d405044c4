package dev.stasis.bench;

import dev.stasis.AwaitInput;
import dev.stasis.Flow;
import java.util.List;
import java.util.SplittableRandom;
import reactor.core.publisher.Mono;

/**
 * The flows the harness runs. {@link #approval()} suspends on one await right after it starts (the "suspend" phase)
 * and completes when that await is resumed (the "resume" phase): the shortest flow that exercises a full
 * suspend/resume cycle, so that the engine's own cost is what the harness sees. {@link #instant()} completes without
 * suspending (used with a correlation id to store finished flows that the cleanup benchmark removes).
 * {@link #byName} also offers {@code approval-step}, the approval flow with one step after its wait.
 */
final class BenchFlows {

    /** The await id of the approval flow's only wait. */
    static final String AWAIT_ID = "approval";
    static final String APPROVAL_FLOW = "bench.approval";
    static final String APPROVAL_STEP_FLOW = "bench.approval-step";
    /** {@code --flow} names: the approval flow, and the same with one step after its wait. */
    static final List<String> NAMES = List.of("approval", "approval-step");
    static final String INSTANT_FLOW = "bench.instant";

    private static final char[] ALPHABET =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ".toCharArray();

    private BenchFlows() {}

    /**
     * The flow input: an id and a text payload of the requested size. The payload is random alphanumeric text, so
     * gzip shrinks it to roughly three quarters (not to nothing): compression runs and is kept, as with real state.
     *
     * @param ref a reference
     * @param data the payload
     */
    record Order(String ref, String data) {}

    /**
     * The resume input.
     *
     * @param approved the decision
     * @param by who decided
     */
    record Decision(boolean approved, String by) {}

    private static final AwaitInput<Decision> DECISION = AwaitInput.builder(AWAIT_ID, Decision.class)
            .name("Approval").build();

    private static final Flow<Order, String> APPROVAL = Flow.define(APPROVAL_FLOW, 1, Order.class, String.class,
            (ctx, order) -> ctx.await(DECISION).map(d -> outcome(d, order)));

    private static final Flow<Order, String> APPROVAL_STEP = Flow.define(APPROVAL_STEP_FLOW, 1, Order.class,
            String.class, (ctx, order) -> ctx.await(DECISION)
                    .flatMap(d -> ctx.step("record-decision", String.class, () -> Mono.just(outcome(d, order)))));

    private static String outcome(Decision d, Order order) {
        return (d.approved() ? "approved:" : "rejected:") + order.ref();
    }

    private static final Flow<Order, String> INSTANT = Flow.define(INSTANT_FLOW, 1, Order.class, String.class,
            (ctx, order) -> Mono.just("done:" + order.ref()));

    /** @return the approval flow (one instance: a registry accepts one definition per name and version) */
    static Flow<Order, String> approval() {
        return APPROVAL;
    }

    /**
     * The flow a run measures, by its {@code --flow} name.
     *
     * @param name {@code approval}: await, then complete (the resume's claim goes in the same write as the
     *     completion); {@code approval-step}: await, then one step, then complete (the claim is written on its own
     *     before the step, so a resume costs one write more)
     * @return the flow
     */
    static Flow<Order, String> byName(String name) {
        return switch (name) {
            case "approval" -> APPROVAL;
            case "approval-step" -> APPROVAL_STEP;
            default -> throw new IllegalArgumentException("--flow must be one of " + NAMES + ", was " + name);
        };
    }

    /** @return the flow that completes at once */
    static Flow<Order, String> instant() {
        return INSTANT;
    }

    /**
     * An input whose payload has {@code bytes} characters (so its JSON is about that many bytes).
     *
     * @param i the flow index (seeds the payload, so runs are repeatable)
     * @param bytes payload size
     * @return the input
     */
    static Order order(long i, int bytes) {
        return new Order("order-" + i, text(i, bytes));
    }

    /** Random alphanumeric text of {@code n} characters, seeded by {@code seed}. */
    static String text(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 17);
        char[] c = new char[n];
        for (int k = 0; k < n; k++) {
            c[k] = ALPHABET[r.nextInt(ALPHABET.length)];
        }
        return new String(c);
    }

    /** Random bytes of the same kind as {@link #text} (for the raw floors). */
    static byte[] bytes(long seed, int n) {
        return text(seed, n).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }
}
