package dev.stasis.bench.jmh;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stasis.AwaitInput;
import dev.stasis.Flow;
import dev.stasis.FlowResult;
import dev.stasis.PersistenceHub;
import dev.stasis.internal.FlowState;
import dev.stasis.internal.Json;
import dev.stasis.internal.StateCodec;
import dev.stasis.security.EnvelopeSealer;
import dev.stasis.security.KeyRing;
import dev.stasis.security.ResumeKeys;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.InMemoryStore;
import dev.stasis.internal.Gzip;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * The state the codec benchmarks work on: the real {@link FlowState} of a flow suspended by a {@link PersistenceHub}
 * on an {@link InMemoryStore} (input with a payload of the requested size, one pending wait with its schema), taken
 * back from the store and opened. So the benchmarks measure exactly what the engine seals and opens.
 */
public final class StateFixture {

    /** The key ring of the fixture (one random AES-256 key). */
    public final KeyRing ring;
    /** The engine's default mapper. */
    public final ObjectMapper mapper = Json.defaultMapper();
    /** The suspended flow's state. */
    public final FlowState state;
    /** Its record's associated data. */
    public final byte[] aad;

    /**
     * Payload record of the fixture flow: random text in {@code data} (payload {@code text}), or order lines
     * (payload {@code json}).
     */
    public record Order(String ref, String data, List<Line> lines) {}

    /** One order line of the {@code json} payload. */
    public record Line(String sku, String description, int quantity, long priceCents, String warehouse,
            boolean giftWrap) {}

    /** Resume input of the fixture flow. */
    public record Decision(boolean approved, String by) {}

    private StateFixture(KeyRing ring, FlowState state, byte[] aad) {
        this.ring = ring;
        this.state = state;
        this.aad = aad;
    }

    /**
     * Suspends one flow whose input carries {@code payloadBytes} of random text and returns its state.
     *
     * @param payloadBytes payload size
     * @return the fixture
     */
    public static StateFixture suspendedState(int payloadBytes) {
        return suspendedState(payloadBytes, "text");
    }

    /**
     * Suspends one flow whose input carries about {@code payloadBytes} of payload and returns its state.
     *
     * @param payloadBytes payload size (of the input's JSON)
     * @param payload {@code text}: random alphanumeric text, the worst case for gzip (it keeps about three quarters
     *     and deflate spends most per byte on literals); {@code json}: order lines with repeated field names and
     *     values drawn from small sets, as business state usually is
     * @return the fixture
     */
    public static StateFixture suspendedState(int payloadBytes, String payload) {
        KeyRing ring = KeyRing.builder().add("bench-1", KeyRing.generateKey()).build();
        InMemoryStore store = new InMemoryStore();
        Flow<Order, String> flow = Flow.define("bench.codec", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(AwaitInput.builder("approval", Decision.class).name("Approval").build())
                        .map(d -> "done:" + o.ref()));
        PersistenceHub hub = PersistenceHub.builder(store, ring).register(flow).build();
        FlowResult r = Objects.requireNonNull(hub.start(flow, order(payloadBytes, payload)).block());
        String key = ((FlowResult.Suspended) r).key();
        FlowRecord record = Objects.requireNonNull(store.findByKeyHash(ResumeKeys.hash(key)).block());
        byte[] aad = StateCodec.aad(record.id(), record.flowName(), record.flowVersion(), record.version());
        FlowState state = new StateCodec(new EnvelopeSealer(ring), Json.defaultMapper(), 6).open(record.state(), aad);
        return new StateFixture(ring, state, aad);
    }

    /**
     * The fixture flow's input.
     *
     * @param payloadBytes about this many bytes of JSON
     * @param payload {@code text} or {@code json}
     * @return the order
     */
    public static Order order(int payloadBytes, String payload) {
        switch (payload) {
            case "text":
                return new Order("order-1", text(payloadBytes), List.of());
            case "json":
                return new Order("order-1", "", lines(payloadBytes));
            default:
                throw new IllegalArgumentException("payload is text or json, not " + payload);
        }
    }

    private static final String[] WORDS = {"blue", "steel", "bolt", "washer", "cable", "copper", "large", "small",
        "pack of 10", "pack of 50", "industrial", "grade A", "spare", "hinge", "bracket", "aluminium"};
    private static final String[] WAREHOUSES = {"FRA-1", "FRA-2", "AMS-1", "WAW-3"};

    private static List<Line> lines(int payloadBytes) {
        SplittableRandom r = new SplittableRandom(42);
        List<Line> lines = new ArrayList<>();
        // one serialized line is about 130 bytes
        for (int size = 0; size < payloadBytes; size += 130) {
            String description = WORDS[r.nextInt(WORDS.length)] + " " + WORDS[r.nextInt(WORDS.length)] + " "
                    + WORDS[r.nextInt(WORDS.length)];
            lines.add(new Line("SKU-" + (10_000 + r.nextInt(90_000)), description, 1 + r.nextInt(20),
                    100 + r.nextInt(100_000), WAREHOUSES[r.nextInt(WAREHOUSES.length)], r.nextInt(10) == 0));
        }
        return lines;
    }

    /**
     * Random alphanumeric text (gzip keeps about three quarters of it), as the load harness uses.
     *
     * @param n characters
     * @return the text
     */
    public static String text(int n) {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ";
        SplittableRandom r = new SplittableRandom(42);
        char[] c = new char[n];
        for (int k = 0; k < n; k++) {
            c[k] = alphabet.charAt(r.nextInt(alphabet.length()));
        }
        return new String(c);
    }

    /**
     * Gzip as {@link StateCodec} does it (the engine's pooled {@link Gzip}).
     *
     * @param data the bytes
     * @param level 1..9
     * @return gzip bytes
     */
    public static byte[] gzip(byte[] data, int level) {
        return GZIPS[level].compress(data);
    }

    private static final Gzip[] GZIPS = new Gzip[10];

    static {
        for (int level = 1; level <= 9; level++) {
            GZIPS[level] = new Gzip(level);
        }
    }

    /**
     * Gunzip as {@link StateCodec} does it.
     *
     * @param data gzip bytes
     * @return the bytes
     */
    public static byte[] gunzip(byte[] data) {
        try {
            return Gzip.decompress(data, Integer.MAX_VALUE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
