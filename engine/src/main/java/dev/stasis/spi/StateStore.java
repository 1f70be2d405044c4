package dev.stasis.spi;

import dev.stasis.QueryCriteria;
import dev.stasis.StorageException;
import dev.stasis.StorageUnavailableException;
import java.time.Instant;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Where a {@link dev.stasis.PersistenceHub} keeps its flow records. Implementations move sealed bytes and plain index
 * fields; they never see plaintext state.
 *
 * <p><b>Contract for every method:</b>
 * <ul>
 *   <li>It must not block the subscribing thread: blocking I/O runs on a bounded elastic scheduler.</li>
 *   <li>It is lazy: nothing happens until subscription, and every subscription does the work again.</li>
 *   <li>Driver errors are mapped in one place to {@link StorageUnavailableException} (transient: connection
 *       refused, timeout, failover) or {@link StorageException} (anything else). Other exception types must not
 *       escape, except the ones a method names.</li>
 *   <li>A record read back equals, field by field, the record written (instants at millisecond precision).</li>
 *   <li>Reads are never torn: a read returns one whole version of a record (plain fields and sealed state written
 *       by the same insert or compare-and-set), never a mix of two.</li>
 *   <li>After a {@link StorageUnavailableException} from a write, the outcome is unknown (the write may have been
 *       applied): callers re-read before they decide. The engine does; a store need not guess.</li>
 * </ul>
 *
 * <p>Every store passes the contract suite in {@code stasis-backend-tck} against a real server.
 */
public interface StateStore {

    /**
     * Creates what the store needs (tables, indexes, constraints, directories). Idempotent, and safe when several
     * instances provision the same store at once.
     *
     * @return completes empty when the store is ready
     */
    Mono<Void> provision();

    /**
     * Inserts a new record (its {@link FlowRecord#version()} is 1).
     *
     * @param record the record
     * @return completes empty once the record is durable; signals {@link DuplicateRecordException} when the flow
     *     id, the correlation id or a key hash is already stored (nothing is written then). When it signals that
     *     for a correlation id, {@link #findByCorrelationId(String)} must find the holder from then on (the engine
     *     returns the existing flow to a second start with the same correlation id).
     */
    Mono<Void> insert(FlowRecord record);

    /**
     * Finds a record by flow id.
     *
     * @param flowId the flow id
     * @return the record, or empty when none is stored
     */
    Mono<FlowRecord> findById(String flowId);

    /**
     * Finds the record one of whose waits has this key hash (an indexed lookup, not a scan).
     *
     * @param keyHash the SHA-256 hex of a resume key
     * @return the record, or empty when no record holds that hash
     */
    Mono<FlowRecord> findByKeyHash(String keyHash);

    /**
     * Finds the record with this correlation id (an indexed lookup).
     *
     * @param correlationId the correlation id
     * @return the record, or empty
     */
    Mono<FlowRecord> findByCorrelationId(String correlationId);

    /**
     * The single atomic primitive: replaces the stored record {@code next.id()} by {@code next} if and only if the
     * stored version equals {@code expectedVersion}. {@code next.version()} is {@code expectedVersion + 1}. The
     * record and its key-hash index change together: after {@code true}, {@link #findByKeyHash} finds {@code next}
     * by every hash in {@code next.waits()} and no longer by hashes it dropped. The flow id and correlation id do
     * not change.
     *
     * <p>Linearizable: of any number of concurrent calls with the same expected version, at most one returns
     * {@code true}.
     *
     * @param expectedVersion the version the caller read
     * @param next the new record
     * @return {@code true} when applied and durable; {@code false} when the stored version differs or the record
     *     no longer exists; signals {@link DuplicateRecordException} (and changes nothing) when {@code next} holds a
     *     key hash that another record holds (stores that enforce key-hash uniqueness; hashes are 256-bit random, so
     *     this means a bug or tampering)
     */
    Mono<Boolean> compareAndSet(long expectedVersion, FlowRecord next);

    /**
     * Deletes a record if its version still matches.
     *
     * @param flowId the flow id
     * @param expectedVersion the version the caller read
     * @return {@code true} when deleted, {@code false} when absent or changed
     */
    Mono<Boolean> delete(String flowId, long expectedVersion);

    /**
     * Finds records matching every filter of {@code criteria}, ordered by flow id ascending, at most
     * {@link QueryCriteria#limit()} of them. Filters run in the store (on its indexes where it has them).
     *
     * @param criteria the filters, cursor and limit
     * @return the records
     */
    Flux<FlowRecord> query(QueryCriteria criteria);

    /**
     * Deletes up to {@link QueryCriteria#limit()} records matching {@code criteria} (lowest flow ids first).
     *
     * @param criteria the filters and limit
     * @return how many records were deleted
     */
    Mono<Long> deleteMatching(QueryCriteria criteria);

    /**
     * Suspended records whose earliest pending deadline is at or before {@code now}, earliest deadline first.
     *
     * @param now the hub's current time
     * @param limit at most this many
     * @return the records
     */
    Flux<FlowRecord> dueForTimeout(Instant now, int limit);

    /**
     * Running records whose lease expired at or before {@code now} (their hub died mid-run), oldest lease first.
     *
     * @param now the hub's current time
     * @param limit at most this many
     * @return the records
     */
    Flux<FlowRecord> expiredLeases(Instant now, int limit);

    /**
     * Checks the store.
     *
     * @return the health; a store that cannot be reached emits {@code up = false} rather than an error
     */
    Mono<StoreHealth> health();

    /**
     * Releases what the store opened itself (pools, clients it created). Clients passed in by the application are
     * left open.
     *
     * @return completes when closed
     */
    default Mono<Void> close() {
        return Mono.empty();
    }
}
