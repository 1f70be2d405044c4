package dev.stasis.backend.redis;

import dev.stasis.FlowStatus;
import dev.stasis.StorageException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * Turns a {@link FlowRecord} into the fields of its Redis hash and back. Every plain column is its own field so that
 * {@code redis-cli HGETALL} shows it and the Lua scripts can read {@value #VERSION}; a {@code null} column is an
 * absent field. Instants are epoch milliseconds in decimal.
 *
 * <p>Two fields hold lists in a compact text form in which every free-text part is percent-encoded
 * ({@code application/x-www-form-urlencoded}), so separators never clash with content:
 * <ul>
 *   <li>{@value #WAITS}: {@code keyHash:STATUS:deadlineMillis:awaitId} per wait, joined by {@code ,}, in wait order
 *       (an empty deadline is {@code null});</li>
 *   <li>{@value #METADATA}: {@code key=value} joined by {@code &}, keys sorted.</li>
 * </ul>
 */
final class RecordCodec {

    static final String ID = "id";
    static final String NAME = "name";
    static final String FLOW_VERSION = "fv";
    static final String STATUS = "status";
    static final String VERSION = "ver";
    static final String CREATED = "created";
    static final String UPDATED = "updated";
    static final String DEADLINE = "deadline";
    static final String CORRELATION = "corr";
    static final String WAITS = "waits";
    static final String LEASE_OWNER = "lease";
    static final String LEASE_EXPIRES = "leaseExp";
    static final String RETAIN_UNTIL = "retain";
    static final String METADATA = "meta";
    static final String STATE = "state";
    /** The field of a tombstone left by {@link Scripts#FENCE}: the hash is not a record. */
    static final String ABORTED = "aborted";

    private RecordCodec() {}

    /**
     * The hash fields of a record, in a stable order; {@code null} columns are left out.
     *
     * @param r the record
     * @return field name → value bytes
     */
    static Map<String, byte[]> encode(FlowRecord r) {
        Map<String, byte[]> f = new LinkedHashMap<>();
        put(f, ID, r.id());
        put(f, NAME, r.flowName());
        put(f, FLOW_VERSION, Integer.toString(r.flowVersion()));
        put(f, STATUS, r.status().name());
        put(f, VERSION, Long.toString(r.version()));
        put(f, CREATED, millis(r.createdAt()));
        put(f, UPDATED, millis(r.updatedAt()));
        putIfSet(f, DEADLINE, r.deadline() == null ? null : millis(r.deadline()));
        putIfSet(f, CORRELATION, r.correlationId());
        put(f, WAITS, encodeWaits(r.waits()));
        putIfSet(f, LEASE_OWNER, r.leaseOwner());
        putIfSet(f, LEASE_EXPIRES, r.leaseExpiresAt() == null ? null : millis(r.leaseExpiresAt()));
        putIfSet(f, RETAIN_UNTIL, r.retainUntil() == null ? null : millis(r.retainUntil()));
        put(f, METADATA, encodeMetadata(r.metadata()));
        f.put(STATE, r.state());
        return f;
    }

    /**
     * Reads a record back from its hash fields.
     *
     * @param f field name → value bytes (as {@code HGETALL} returns them)
     * @return the record
     * @throws StorageException when a field is missing or malformed
     */
    static FlowRecord decode(Map<String, byte[]> f) {
        String id = text(f, ID);
        try {
            return FlowRecord.builder()
                    .id(required(id, ID))
                    .flowName(required(text(f, NAME), NAME))
                    .flowVersion(Integer.parseInt(required(text(f, FLOW_VERSION), FLOW_VERSION)))
                    .status(FlowStatus.valueOf(required(text(f, STATUS), STATUS)))
                    .version(Long.parseLong(required(text(f, VERSION), VERSION)))
                    .createdAt(Instant.ofEpochMilli(Long.parseLong(required(text(f, CREATED), CREATED))))
                    .updatedAt(Instant.ofEpochMilli(Long.parseLong(required(text(f, UPDATED), UPDATED))))
                    .deadline(instant(text(f, DEADLINE)))
                    .correlationId(text(f, CORRELATION))
                    .waits(decodeWaits(orEmpty(text(f, WAITS))))
                    .leaseOwner(text(f, LEASE_OWNER))
                    .leaseExpiresAt(instant(text(f, LEASE_EXPIRES)))
                    .retainUntil(instant(text(f, RETAIN_UNTIL)))
                    .metadata(decodeMetadata(orEmpty(text(f, METADATA))))
                    .state(required(f.get(STATE), STATE))
                    .build();
        } catch (RuntimeException e) {
            throw new StorageException("stored record " + id + " is malformed: " + e.getMessage(), e);
        }
    }

    /**
     * Encodes waits as {@code keyHash:STATUS:deadline:awaitId,…}.
     *
     * @param waits the waits
     * @return the text
     */
    static String encodeWaits(List<WaitRecord> waits) {
        StringBuilder sb = new StringBuilder();
        for (WaitRecord w : waits) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(enc(w.keyHash())).append(':').append(w.status().name()).append(':')
                    .append(w.deadline() == null ? "" : millis(w.deadline())).append(':').append(enc(w.awaitId()));
        }
        return sb.toString();
    }

    /**
     * Decodes {@link #encodeWaits}.
     *
     * @param text the text
     * @return the waits, in order
     */
    static List<WaitRecord> decodeWaits(String text) {
        List<WaitRecord> waits = new ArrayList<>();
        if (text.isEmpty()) {
            return waits;
        }
        for (String item : text.split(",", -1)) {
            String[] p = item.split(":", -1);
            if (p.length != 4) {
                throw new IllegalArgumentException("malformed wait entry");
            }
            waits.add(new WaitRecord(dec(p[0]), dec(p[3]), instant(p[2].isEmpty() ? null : p[2]),
                    WaitRecord.Status.valueOf(p[1])));
        }
        return waits;
    }

    /**
     * The key hashes named in an encoded waits field, without decoding the rest.
     *
     * @param text the encoded waits
     * @return the hashes, in order
     */
    static List<String> keyHashes(String text) {
        List<String> hashes = new ArrayList<>();
        for (WaitRecord w : decodeWaits(text)) {
            hashes.add(w.keyHash());
        }
        return hashes;
    }

    /**
     * A key hash as it appears in an encoded waits field (the text before a wait's first {@code :}), which is what
     * the standalone scripts compare.
     *
     * @param keyHash the key hash
     * @return its encoded form
     */
    static String encodedKeyHash(String keyHash) {
        return enc(keyHash);
    }

    /**
     * Encodes metadata as a form-encoded string with sorted keys.
     *
     * @param metadata the metadata
     * @return the text
     */
    static String encodeMetadata(Map<String, String> metadata) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : new TreeMap<>(metadata).entrySet()) {
            if (sb.length() > 0) {
                sb.append('&');
            }
            sb.append(enc(e.getKey())).append('=').append(enc(e.getValue()));
        }
        return sb.toString();
    }

    /**
     * Decodes {@link #encodeMetadata}.
     *
     * @param text the text
     * @return the metadata
     */
    static Map<String, String> decodeMetadata(String text) {
        Map<String, String> m = new LinkedHashMap<>();
        if (text.isEmpty()) {
            return m;
        }
        for (String pair : text.split("&", -1)) {
            int eq = pair.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("malformed metadata entry");
            }
            m.put(dec(pair.substring(0, eq)), dec(pair.substring(eq + 1)));
        }
        return m;
    }

    static String millis(Instant t) {
        return Long.toString(t.toEpochMilli());
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private static @Nullable Instant instant(@Nullable String millis) {
        return millis == null ? null : Instant.ofEpochMilli(Long.parseLong(millis));
    }

    private static @Nullable String text(Map<String, byte[]> f, String field) {
        byte[] b = f.get(field);
        return b == null ? null : utf8(b);
    }

    private static <T> T required(@Nullable T value, String field) {
        if (value == null) {
            throw new IllegalArgumentException("field '" + field + "' is missing");
        }
        return value;
    }

    private static String orEmpty(@Nullable String s) {
        return s == null ? "" : s;
    }

    private static void put(Map<String, byte[]> f, String field, String value) {
        f.put(field, utf8(value));
    }

    private static void putIfSet(Map<String, byte[]> f, String field, @Nullable String value) {
        if (value != null) {
            put(f, field, value);
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String dec(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }
}
