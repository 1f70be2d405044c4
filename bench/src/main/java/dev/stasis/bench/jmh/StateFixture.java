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
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.zip.Deflater;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

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

    /** Payload record of the fixture flow. */
    public record Order(String ref, String data) {}

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
        KeyRing ring = KeyRing.builder().add("bench-1", KeyRing.generateKey()).build();
        InMemoryStore store = new InMemoryStore();
        Flow<Order, String> flow = Flow.define("bench.codec", 1, Order.class, String.class, (ctx, o) ->
                ctx.await(AwaitInput.builder("approval", Decision.class).name("Approval").build())
                        .map(d -> "done:" + o.ref()));
        PersistenceHub hub = PersistenceHub.builder(store, ring).register(flow).build();
        FlowResult r = Objects.requireNonNull(hub.start(flow, new Order("order-1", text(payloadBytes))).block());
        String key = ((FlowResult.Suspended) r).key();
        FlowRecord record = Objects.requireNonNull(store.findByKeyHash(ResumeKeys.hash(key)).block());
        byte[] aad = StateCodec.aad(record.id(), record.flowName(), record.flowVersion(), record.version());
        FlowState state = new StateCodec(new EnvelopeSealer(ring), Json.defaultMapper(), 6).open(record.state(), aad);
        return new StateFixture(ring, state, aad);
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
     * Gzip exactly as {@link StateCodec} does (GZIPOutputStream, 8 KiB buffer, the given deflate level).
     *
     * @param data the bytes
     * @param level 1..9
     * @return gzip bytes
     */
    public static byte[] gzip(byte[] data, int level) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(64, data.length / 3));
        try (GZIPOutputStream gz = new Leveled(out, level)) {
            gz.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * Gunzip as {@link StateCodec} does.
     *
     * @param data gzip bytes
     * @return the bytes
     */
    public static byte[] gunzip(byte[] data) {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(data), 8192)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(data.length * 4);
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static final class Leveled extends GZIPOutputStream {
        Leveled(ByteArrayOutputStream out, int level) throws IOException {
            super(out, 8192);
            def.setLevel(level == 0 ? Deflater.NO_COMPRESSION : level);
        }
    }
}
