package dev.stasis.internal;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import dev.stasis.FlowStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The plaintext of a sealed record: the flow's input, its journal, the open wait group, the results handed out for
 * idempotent redelivery, and the outcome. Serialized with Jackson, then compressed and sealed by {@link StateCodec}.
 * Mutable; one instance is used by one operation at a time.
 *
 * <p>Every class here is written with {@link JsonInclude.Include#NON_DEFAULT} at class level: a field whose value
 * equals what the no-argument constructor gives it (null, an empty collection, {@code false}, {@code 0}, the
 * initial status) is left out, and reading fills it in from that same constructor, so the round trip is exact and
 * states written before (every field present) read the same. It keeps empty maps and default flags out of every
 * sealed state: fewer bytes for gzip and AES, which cost per byte (about 130 bytes of a suspended 1 KB state).
 * The initial values are therefore part of the stored format: changing one changes how stored states read
 * ({@code FlowStateFormatTest} pins them).
 */
@JsonInclude(JsonInclude.Include.NON_DEFAULT)
public final class FlowState {

    /** Format version of this class, for upcasting (always written: a later format must not read as this one). */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public int format = 1;
    /** Status as the sealed state knows it: cross-checked against the plain field. */
    public FlowStatus status = FlowStatus.RUNNING;
    /** The flow's input. */
    public @Nullable JsonNode input;
    /** Completed steps and resolved waits, in the order they were recorded. */
    public List<JournalEntry> journal = new ArrayList<>();
    /** The open wait group of a suspended flow. */
    public @Nullable PendingGroup pending;
    /** Plain metadata given at start (merged with the open waits' metadata into the record's plain fields). */
    public Map<String, String> startMetadata = new LinkedHashMap<>();
    /** Up-front inputs by await id not yet consumed (supervisor pattern). */
    public Map<String, JsonNode> injected = new LinkedHashMap<>();
    /** Results handed out, by the key hash of the wait whose resume produced them (for idempotent redelivery). */
    public Map<String, StoredResult> results = new LinkedHashMap<>();
    /** Key hash of the wait whose resume claimed the current run (so a recovering instance can record its result). */
    public @Nullable String claimKeyHash;
    /** Idempotency key hash of that resume. */
    public @Nullable String claimIdempotencyKeyHash;
    /** The output of a completed flow. */
    public @Nullable JsonNode output;
    /** The error class of a failed flow. */
    public @Nullable String errorType;
    /** The error message of a failed flow. */
    public @Nullable String errorMessage;

    /**
     * A shallow copy with another journal and up-front inputs (for checkpoints taken while a run goes on).
     *
     * @param journal the journal so far
     * @param injected the up-front inputs not consumed yet
     * @return the copy
     */
    public FlowState copyWith(List<JournalEntry> journal, Map<String, JsonNode> injected) {
        FlowState c = new FlowState();
        c.format = format;
        c.status = status;
        c.input = input;
        c.journal = new ArrayList<>(journal);
        c.pending = pending;
        c.startMetadata = new LinkedHashMap<>(startMetadata);
        c.injected = new LinkedHashMap<>(injected);
        c.results = new LinkedHashMap<>(results);
        c.claimKeyHash = claimKeyHash;
        c.claimIdempotencyKeyHash = claimIdempotencyKeyHash;
        c.output = output;
        c.errorType = errorType;
        c.errorMessage = errorMessage;
        return c;
    }

    /** A step result or a resolved wait group. */
    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    public static final class JournalEntry {
        /** Identity: kind prefix, name and occurrence, e.g. {@code step:charge#0}. */
        public String id = "";
        /** {@code step} or {@code await}. */
        public String kind = "";
        /** A step's value (null for an empty step). */
        public @Nullable JsonNode value;
        /** A wait group's inputs by await id, in arrival order. */
        public @Nullable Map<String, JsonNode> inputs;
        /** Await ids that timed out without default value. */
        public @Nullable List<String> timedOut;

        /** For Jackson. */
        public JournalEntry() {}

        static JournalEntry step(String id, @Nullable JsonNode value) {
            JournalEntry e = new JournalEntry();
            e.id = id;
            e.kind = "step";
            e.value = value;
            return e;
        }

        static JournalEntry await(String id, Map<String, JsonNode> inputs, List<String> timedOut) {
            JournalEntry e = new JournalEntry();
            e.id = id;
            e.kind = "await";
            e.inputs = new LinkedHashMap<>(inputs);
            e.timedOut = timedOut.isEmpty() ? null : new ArrayList<>(timedOut);
            return e;
        }
    }

    /** An open group of waits: one suspension. */
    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    public static final class PendingGroup {
        /** The journal identity the group resolves. */
        public String id = "";
        /** How many inputs decide the group. */
        public int required = 1;
        /** The waits. */
        public List<PendingWait> waits = new ArrayList<>();

        /** For Jackson. */
        public PendingGroup() {}

        /**
         * Counts the waits with an input (or a default from a timeout).
         *
         * @return received inputs
         */
        public int received() {
            int n = 0;
            for (PendingWait w : waits) {
                if (w.input != null || w.hasInput) n++;
            }
            return n;
        }

        /**
         * Counts the waits that timed out without a default.
         *
         * @return failed waits
         */
        public int failed() {
            int n = 0;
            for (PendingWait w : waits) {
                if (w.status == dev.stasis.spi.WaitRecord.Status.TIMED_OUT && !w.hasInput) n++;
            }
            return n;
        }

        /**
         * Whether the group can continue the flow: enough inputs arrived, or too many waits failed for the quorum
         * to be reached.
         *
         * @return decided
         */
        public boolean decided() {
            return received() >= required || waits.size() - failed() < required;
        }

        /**
         * The earliest deadline among the pending waits.
         *
         * @return the deadline or null
         */
        public @Nullable Instant earliestDeadline() {
            Instant min = null;
            for (PendingWait w : waits) {
                if (w.status == dev.stasis.spi.WaitRecord.Status.PENDING && w.deadline != null
                        && (min == null || w.deadline.isBefore(min))) {
                    min = w.deadline;
                }
            }
            return min;
        }

        /**
         * Finds a wait by key hash.
         *
         * @param keyHash the hash
         * @return the wait or null
         */
        public @Nullable PendingWait byKeyHash(String keyHash) {
            for (PendingWait w : waits) {
                if (w.keyHash.equals(keyHash)) return w;
            }
            return null;
        }
    }

    /** One wait of an open group. */
    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    public static final class PendingWait {
        /** The await id. */
        public String awaitId = "";
        /** The wait's name. */
        public String name = "";
        /** The wait's description. */
        public String description = "";
        /** SHA-256 of its key. */
        public String keyHash = "";
        /** Its deadline. */
        public @Nullable Instant deadline;
        /** Its JSON schema. */
        public @Nullable JsonNode schema;
        /** Whether it has a default value. */
        public boolean hasDefault;
        /** Its default value. */
        public @Nullable JsonNode defaultValue;
        /** Its plain metadata. */
        public Map<String, String> metadata = new LinkedHashMap<>();
        /** Its status. */
        public dev.stasis.spi.WaitRecord.Status status = dev.stasis.spi.WaitRecord.Status.PENDING;
        /** Whether an input (possibly JSON null) was received. */
        public boolean hasInput;
        /** The received input (or the default after a timeout). */
        public @Nullable JsonNode input;
        /** Arrival order among the group's inputs. */
        public int arrival;
        /** SHA-256 of the idempotency key of the resume that resolved it. */
        public @Nullable String idempotencyKeyHash;

        /** For Jackson. */
        public PendingWait() {}
    }

    /** A result handed to a resume, kept for idempotent redelivery. */
    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    public static final class StoredResult {
        /** SHA-256 of the idempotency key the winner carried (null: none). */
        public @Nullable String idempotencyKeyHash;
        /** The result's status. */
        public FlowStatus status = FlowStatus.SUSPENDED;
        /** A completed flow's output. */
        public @Nullable JsonNode output;
        /** A suspended flow's waits; those created by that resume with their keys (inside the sealed state only). */
        public List<StoredWait> waits = new ArrayList<>();
        /** Error class of a failed result. */
        public @Nullable String errorType;
        /** Error message of a failed result. */
        public @Nullable String errorMessage;
        /** Earliest deadline of a suspended result. */
        public @Nullable Instant expiresAt;

        /** For Jackson. */
        public StoredResult() {}
    }

    /** A wait handle inside a stored result. */
    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    public static final class StoredWait {
        /** The await id. */
        public String awaitId = "";
        /** The name. */
        public String name = "";
        /** The description. */
        public String description = "";
        /** The key, when the result created the wait. Sealed; never in plain fields. */
        public @Nullable String key;
        /** The deadline. */
        public @Nullable Instant deadline;
        /** Plain metadata. */
        public Map<String, String> metadata = new LinkedHashMap<>();

        /** For Jackson. */
        public StoredWait() {}
    }
}
