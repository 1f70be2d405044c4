package dev.stasis.backend.redis;

import static dev.stasis.backend.redis.RecordCodec.utf8;

import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import dev.stasis.StorageException;
import dev.stasis.spi.DuplicateRecordException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.StateStore;
import dev.stasis.spi.StoreHealth;
import io.lettuce.core.KeyValue;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScoredValue;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.reactive.RedisClusterReactiveCommands;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.util.retry.Retry;

/**
 * A {@link StateStore} on Redis, standalone or Redis Cluster, through lettuce's reactive API. Nothing blocks: every
 * method is a chain of reactive lettuce commands and Lua scripts.
 *
 * <pre>{@code
 * RedisClient client = RedisClient.create("redis://127.0.0.1:6379");          // the application's client
 * RedisStore store = RedisStore.builder(client).keyPrefix("orders").build();  // opens its own connection lazily
 * PersistenceHub hub = PersistenceHub.builder(store, keyRing).build();
 * ...
 * store.close();   // on shutdown (a Mono): closes the store's connection, not the client
 * }</pre>
 *
 * <h2>Keys</h2>
 * <ul>
 *   <li>{@code <prefix>:{<flowId>}:rec} — the record, a HASH with one field per plain column plus the sealed
 *       {@code state} bytes. The hash tag {@code {<flowId>}} puts everything a record script touches into one cluster
 *       slot.</li>
 *   <li>{@code <prefix>:kh:<keyHash>} and {@code <prefix>:corr:<correlationId>} — lookup hints holding a flow id.</li>
 *   <li>{@code <prefix>:{<prefix>}:…} — the global indexes ({@code ids}, {@code name:<flowName>},
 *       {@code status:<STATUS>}, {@code deadlines}, {@code leases}, {@code retain}, {@code ver}, {@code names}), all
 *       under one hash tag so that one script updates them together.</li>
 * </ul>
 *
 * <h2>Atomicity</h2>
 * The record is the only source of truth, and the version check on it is the linearization point of every write, in
 * both modes. What differs is how the lookup hints and global indexes follow it, and that depends on the client the
 * store was built with.
 *
 * <h3>Standalone ({@link RedisClient}): one script per call</h3>
 * On one server a Lua script may touch the record, its lookup hints and the global indexes together, and Redis runs
 * it atomically. So every write, and every lookup by key hash or correlation id, is <em>one</em> script, one round
 * trip:
 * <ul>
 *   <li>{@link #insert} ({@link Scripts#INSERT_ONE}) fails with {@link DuplicateRecordException}, writing nothing,
 *       when the flow id exists or the correlation id or a key hash is held by another flow whose record exists;
 *       otherwise it writes the record, its settled hints and its exact index entries together. A hint whose holder's
 *       record is gone (or fenced out) is stale and taken over, as on a cluster.</li>
 *   <li>{@link #compareAndSet} ({@link Scripts#COMPARE_AND_SET_ONE}) checks the version, replaces the hash, writes the
 *       hints of the new record's key hashes, deletes the hints of hashes it dropped (only where they still point to
 *       this flow), makes the indexes exact and sets or drops the expiry. {@link #delete} ({@link Scripts#DELETE_ONE})
 *       removes the record, its index entries and its hints together.</li>
 *   <li>{@link #findByKeyHash} and {@link #findByCorrelationId} ({@link Scripts#FOLLOW_ONE}) read the hint and the
 *       record it names in one script. The store still checks that the record holds the hash or correlation id:
 *       a hint may have been written by the multi-step algorithm below, or by hand.</li>
 * </ul>
 * So on a standalone server the indexes are exact after every write, an insert never leaves a pending claim behind,
 * and a crash cannot interrupt a call halfway. The scripts declare every key they touch in {@code KEYS}, except the
 * lookup script, which cannot know the record key before it read the hint. Keys that depend on stored data the call
 * does not carry — the hints a compare-and-set drops, the name, hashes and correlation id a delete cleans up after,
 * the record of a conflicting hint's holder — come from what this store last saw of the flow ({@link KnownRecords},
 * filled by every read and write). A script that finds it needs a key it was not given changes nothing and names it,
 * and the store runs it once more with it: a second round trip when another hub read the flow, or on a conflict. A
 * value claimed by a multi-step insert that is still in flight is left to the multi-step algorithm, which waits for
 * that insert or fences it out. The key layout and the record encoding are those of the cluster, so the readers below
 * and their repairs are the same in both modes.
 *
 * <h3>Cluster ({@link RedisClusterClient}): single-slot steps, indexes as verified hints</h3>
 * On a cluster a script may touch the keys of one slot only, and nothing spans slots atomically (no cross-slot
 * script or {@code MULTI}). The record key's hash tag {@code {<flowId>}} puts a flow's record in one slot, but a
 * lookup by key hash or correlation id starts from a value that hashes elsewhere, and the global indexes live in a
 * slot of their own: no script can change them together with the record. So insert, {@link #compareAndSet
 * compare-and-set} and delete are single Lua scripts on the record key ({@code if HGET ver == expected then replace
 * the hash}), ordered with single-slot steps on the hints and indexes such that every intermediate state is safe, and
 * every index entry is a <em>hint that is verified on read</em>:
 * <ul>
 *   <li>{@link #findByKeyHash} follows {@code kh:<hash>} to a flow id, loads that record and returns it only if one of
 *       its waits holds the hash; {@link #findByCorrelationId} checks the record's correlation id the same way. A
 *       compare-and-set therefore writes the hints of every hash in {@code next.waits()} <em>before</em> its script
 *       ({@code SET NX}), and deletes the hints of hashes it dropped <em>after</em> it (best effort): once it returned
 *       {@code true}, the record is found by every hash it holds, and not by a dropped hash even if that hint
 *       survives, because verification rejects it. That is exactly the SPI's contract, without a cross-slot
 *       transaction.</li>
 *   <li>The global indexes are first extended <em>additively</em> for the version about to be written (membership,
 *       and deadline/lease scores that may only move earlier, {@code ZADD LT}), then made exact after the write by a
 *       script that records which version it describes and ignores updates from older versions (so two writers'
 *       index updates arriving out of order cannot undo the newer one). A crash between the two steps leaves extra
 *       entries, never missing ones.</li>
 *   <li>Key hashes and correlation ids are unique because an insert <em>claims</em> their hint keys first (a
 *       {@code SET NX} in a script), writes the record only when every claim succeeded
 *       ({@link DuplicateRecordException} otherwise, after releasing what it claimed) and then settles the claims.
 *       Until settled a claim is <em>pending</em> (value {@code ?<flowId>}). A competing insert that meets a pending
 *       claim looks for the claimant's record: if it exists, that is a conflict (and the claim is settled on the
 *       claimant's behalf, in case it died before settling); if not, the claimant is in flight and is waited for, up
 *       to {@link #CLAIM_GRACE} after it claimed; a claimant still silent then is <em>fenced out</em> — a tombstone
 *       on its record key, written only if its record does not exist, in that key's own slot — and its claim taken
 *       over. So a {@link DuplicateRecordException} always means "a record holding this value exists" (what the
 *       hub's idempotent start relies on), and a claimant that wakes up late can never write its record. A settled
 *       claim whose record is gone (a delete whose clean-up was interrupted) is taken over too. Pending claims carry
 *       a one-day TTL as a backstop for claimants that died.</li>
 * </ul>
 * A standalone store falls back to this algorithm in the rare cases above, which is safe because every one-step
 * script is atomic and honours what the multi-step steps leave (pending claims, tombstones, the {@code ver} guard).
 *
 * <h2>Readers, in both modes</h2>
 * {@link #query}, {@link #dueForTimeout} and {@link #expiredLeases} walk the global indexes, load the records, keep
 * only those that really match, and repair the entries that did not (re-synchronise them from the record they
 * loaded, or remove them when the record is gone, e.g. after a TTL expiry).
 *
 * <h2>Expiry</h2>
 * A finished record (completed, failed, cancelled, expired) with a {@link FlowRecord#retainUntil()} gets
 * {@code PEXPIREAT retainUntil + margin} ({@link Builder#retentionTtlMargin}), and so do its lookup hints, as a
 * backstop for when nobody runs the hub's cleanup. The margin keeps the TTL from racing cleanup (which also removes
 * index entries) and from acting on a hub whose clock runs behind Redis. Index entries of expired records are removed
 * lazily by readers, and by {@link #deleteMatching}, which sweeps the {@code retain} index.
 *
 * <h2>Scaling out</h2>
 * With a {@link RedisClusterClient} the records and lookup hints spread over all masters; the global indexes share
 * one slot, so their node sees two small index scripts per write. Writes are acknowledged by the master only
 * (Redis replication is asynchronous): a failover can lose the last writes, as with any Redis deployment; use
 * {@code WAIT}/AOF policies on the server if that matters.
 *
 * <p>Requires Redis 6.2 or later ({@code ZADD LT}).
 */
public final class RedisStore implements StateStore {

    private static final Logger log = LoggerFactory.getLogger(RedisStore.class);

    /**
     * How long an insert's pending claim on a key hash or correlation id lives at most (a backstop that removes the
     * claims of inserts that died; normally a claim is settled milliseconds after it was made).
     */
    static final Duration PENDING_CLAIM_TTL = Duration.ofDays(1);
    /**
     * How long a pending claim whose record is not written protects its insert; after that a competing insert fences
     * the silent one out and takes the claim over.
     */
    static final Duration CLAIM_GRACE = Duration.ofSeconds(10);
    private static final Duration HEALTH_TIMEOUT = Duration.ofSeconds(10);
    private static final int LOAD_CONCURRENCY = 64;
    private static final int DELETE_CONCURRENCY = 16;
    private static final int DUE_ROUNDS = 5;
    private static final int SWEEP_BATCH = 256;
    /**
     * How often a standalone write script runs again with the keys it named (a guess that missed, a holder of a
     * conflicting hint) before the multi-step algorithm takes the call over.
     */
    private static final int ONE_STEP_ATTEMPTS = 4;
    /** How many flows {@link KnownRecords} remembers (a few hundred bytes each). */
    private static final int KNOWN_CAPACITY = 4096;
    private static final byte[] EMPTY = new byte[0];

    private final RedisConnector connector;
    private final Keys keys;
    private final @Nullable Duration retentionTtlMargin;
    private final boolean standalone;
    private final KnownRecords known = new KnownRecords(KNOWN_CAPACITY);

    private RedisStore(RedisConnector connector, Keys keys, @Nullable Duration retentionTtlMargin,
            boolean standalone) {
        this.connector = connector;
        this.keys = keys;
        this.retentionTtlMargin = retentionTtlMargin;
        this.standalone = standalone;
    }

    /**
     * Starts a builder for a standalone server (or whatever the client's URI points to).
     *
     * @param client the application's client; the store opens its own connection(s) on it and leaves the client open
     * @return a builder
     */
    public static Builder builder(RedisClient client) {
        return new Builder(Objects.requireNonNull(client, "client"), null);
    }

    /**
     * Starts a builder for a Redis Cluster.
     *
     * @param client the application's cluster client; the store opens its own connection(s) on it and leaves the
     *     client open
     * @return a builder
     */
    public static Builder builder(RedisClusterClient client) {
        return new Builder(null, Objects.requireNonNull(client, "client"));
    }

    // ------------------------------------------------------------------ provisioning, health, close

    /**
     * Redis needs no schema: this opens the store's connection(s) and loads the Lua scripts ({@code SCRIPT LOAD}, on
     * every master of a cluster). Idempotent and safe to run concurrently. The store also works without it: a script
     * unknown to a node is sent in full once ({@code EVAL}) and cached there.
     *
     * @return completes when the scripts are loaded
     */
    @Override
    public Mono<Void> provision() {
        return guard(connector.commands().flatMap(c -> Flux.fromIterable(Scripts.ALL)
                .concatMap(s -> c.scriptLoad(s.source()).flatMap(sha -> sha.equals(s.sha())
                        ? Mono.empty()
                        : Mono.error(new StorageException("script " + s.name() + " loaded as " + sha
                                + ", expected " + s.sha()))))
                .then()));
    }

    /**
     * {@code PING}, then {@code INFO server} for the version. Reports {@code up = false} (never an error) when Redis
     * does not answer within 10 seconds.
     *
     * @return the health; details: mode, connections, keyPrefix, redisVersion (and clusterNodes)
     */
    @Override
    public Mono<StoreHealth> health() {
        return connector.commands()
                .flatMap(c -> c.ping().then(c.info("server")))
                .timeout(HEALTH_TIMEOUT)
                .map(info -> {
                    Map<String, String> d = new LinkedHashMap<>(connector.details());
                    d.put("keyPrefix", keys.prefix());
                    d.put("redisVersion", infoField(info, "redis_version"));
                    return new StoreHealth("redis", true, true, d);
                })
                .onErrorResume(e -> Mono.just(new StoreHealth("redis", false, false, Map.of(
                        "mode", connector.mode(),
                        "keyPrefix", keys.prefix(),
                        "error", String.valueOf(RedisErrors.map(e).getMessage())))));
    }

    /**
     * Closes the connection(s) this store opened; the client stays open. Later calls fail with a
     * {@link StorageException}.
     *
     * @return completes when closed
     */
    @Override
    public Mono<Void> close() {
        return connector.close();
    }

    // ------------------------------------------------------------------ reads

    /**
     * {@code HGETALL} of the record key.
     *
     * @param flowId the flow id
     * @return the record, or empty
     */
    @Override
    public Mono<FlowRecord> findById(String flowId) {
        return guard(connector.commands().flatMap(c -> load(c, flowId)));
    }

    /**
     * Follows the hint {@code <prefix>:kh:<keyHash>} and returns the record only if one of its waits holds the hash
     * (see the class comment for why a hint is not trusted by itself). Standalone: one script reads the hint and the
     * record it names; cluster: {@code GET}, then {@code HGETALL}.
     *
     * @param keyHash the SHA-256 hex of a resume key
     * @return the record, or empty
     */
    @Override
    public Mono<FlowRecord> findByKeyHash(String keyHash) {
        return guard(connector.commands().flatMap(c -> follow(c, keys.keyHash(keyHash),
                r -> r.keyHashes().contains(keyHash))));
    }

    /**
     * Follows the hint {@code <prefix>:corr:<correlationId>} and returns the record only if it carries that
     * correlation id.
     *
     * @param correlationId the correlation id
     * @return the record, or empty
     */
    @Override
    public Mono<FlowRecord> findByCorrelationId(String correlationId) {
        return guard(connector.commands().flatMap(c -> byCorrelation(c, correlationId)));
    }

    /**
     * Walks the most selective index for the criteria in flow-id order — the correlation hint, the flow-name set, the
     * status sets (merged) or the set of all ids — from the cursor on, loads the candidates page by page with
     * pipelined {@code HGETALL}s and keeps those that {@link QueryCriteria#matches match}. The remaining filters
     * (times, await id, metadata) are evaluated in this process on the loaded records.
     *
     * @param criteria the filters, cursor and limit
     * @return the records, ordered by flow id
     */
    @Override
    public Flux<FlowRecord> query(QueryCriteria criteria) {
        return guard(connector.commands().flatMapMany(c -> select(c, criteria)));
    }

    /**
     * Suspended records whose deadline passed: {@code ZRANGEBYSCORE deadlines -inf now}, records loaded and checked
     * (suspended, deadline at or before {@code now}); stale entries are repaired and the range read again, so that
     * filtered entries do not shorten the result.
     *
     * @param now the hub's current time
     * @param limit at most this many
     * @return the records, earliest deadline first
     */
    @Override
    public Flux<FlowRecord> dueForTimeout(Instant now, int limit) {
        return guard(connector.commands().flatMapMany(c -> due(c, keys.deadlines(), now, limit,
                r -> r.status() == FlowStatus.SUSPENDED && r.deadline() != null && !r.deadline().isAfter(now),
                FlowRecord::deadline, 0).flatMapIterable(list -> list)));
    }

    /**
     * Running records whose lease lapsed, from the {@code leases} sorted set, verified like {@link #dueForTimeout}.
     *
     * @param now the hub's current time
     * @param limit at most this many
     * @return the records, oldest lease first
     */
    @Override
    public Flux<FlowRecord> expiredLeases(Instant now, int limit) {
        return guard(connector.commands().flatMapMany(c -> due(c, keys.leases(), now, limit,
                r -> r.status() == FlowStatus.RUNNING && r.leaseExpiresAt() != null
                        && !r.leaseExpiresAt().isAfter(now),
                FlowRecord::leaseExpiresAt, 0).flatMapIterable(list -> list)));
    }

    // ------------------------------------------------------------------ writes

    /**
     * Standalone: one script checks the flow id, the correlation id and every key hash, then writes the record, its
     * hints and its index entries together ({@link Scripts#INSERT_ONE}). Cluster: claims the correlation id and every
     * key hash ({@code SET NX} with a pending TTL), extends the indexes, writes the record with one script
     * ({@code EXISTS} check + {@code HSET}), then settles the claims and synchronises the indexes. Either way nothing
     * is left behind when a claim or the flow id conflicts.
     *
     * @param record the record (version 1)
     * @return completes when the record and its claims are written; {@link DuplicateRecordException} on a conflict
     */
    @Override
    public Mono<Void> insert(FlowRecord record) {
        return guard(connector.commands().flatMap(c -> standalone ? insertOne(c, record, Map.of(), 0)
                : insert(c, record)));
    }

    /**
     * Standalone: one script checks the version, replaces the record, writes the hints of {@code next}'s key hashes,
     * deletes the hints of dropped hashes and makes the indexes exact ({@link Scripts#COMPARE_AND_SET_ONE}).
     * Cluster: writes the hints of {@code next}'s key hashes, extends the indexes, runs the compare-and-set script on
     * the record key, then (only when it applied) synchronises the indexes, deletes the hints of dropped hashes and,
     * for a finished record, gives its hints the record's expiry. See the class comment for why this order satisfies
     * the contract of {@link StateStore#compareAndSet}.
     *
     * @param expectedVersion the version the caller read
     * @param next the new record
     * @return whether it applied
     */
    @Override
    public Mono<Boolean> compareAndSet(long expectedVersion, FlowRecord next) {
        return guard(connector.commands().flatMap(c -> standalone ? compareAndSetOne(c, expectedVersion, next, null, 0)
                : compareAndSet(c, expectedVersion, next)));
    }

    /**
     * Deletes the record if its version matches, with its index entries and hints: standalone in one script
     * ({@link Scripts#DELETE_ONE}), on a cluster with one script on the record, then the clean-up.
     *
     * @param flowId the flow id
     * @param expectedVersion the version the caller read
     * @return whether it was deleted
     */
    @Override
    public Mono<Boolean> delete(String flowId, long expectedVersion) {
        return guard(connector.commands().flatMap(c -> standalone
                ? deleteOne(c, flowId, expectedVersion, known.get(flowId), 0)
                : delete(c, flowId, expectedVersion)));
    }

    /**
     * Deletes the records {@link #query} finds for the criteria (each with its version, so a record that changed
     * meanwhile is skipped), then removes index entries of records that expired by TTL.
     *
     * @param criteria the filters and limit
     * @return how many were deleted
     */
    @Override
    public Mono<Long> deleteMatching(QueryCriteria criteria) {
        return guard(connector.commands().flatMap(c -> select(c, criteria)
                .flatMap(r -> standalone ? deleteOne(c, r.id(), r.version(), KnownRecords.Known.of(r, 0), 0)
                        : delete(c, r.id(), r.version()), DELETE_CONCURRENCY)
                .filter(deleted -> deleted)
                .count()
                .flatMap(n -> bestEffort(sweepExpired(c), "sweep").thenReturn(n))));
    }

    // ------------------------------------------------------------------ insert

    private enum ClaimOutcome { CLAIMED, ALREADY_OURS, CONFLICT }

    private record Claim(String key, String what, ClaimOutcome outcome) {}

    /** A claim held by an insert that has not written its record yet; retried after a short pause. */
    private static final class PendingClaim extends RuntimeException {
        private static final long serialVersionUID = 1L;

        PendingClaim() {
            super("claim pending", null, false, false);
        }
    }

    private Mono<Void> insert(RedisClusterReactiveCommands<String, byte[]> c, FlowRecord r) {
        Map<String, String> wanted = new LinkedHashMap<>();
        if (r.correlationId() != null) {
            wanted.put(keys.correlation(r.correlationId()), "correlation id");
        }
        for (String h : new LinkedHashSet<>(r.keyHashes())) {
            wanted.put(keys.keyHash(h), "key hash");
        }
        @Nullable Long expireAt = expireAt(r);
        return Flux.fromIterable(wanted.entrySet())
                .flatMap(e -> claim(c, e.getKey(), r.id()).map(o -> new Claim(e.getKey(), e.getValue(), o)))
                .collectList()
                .flatMap(claims -> {
                    List<String> claimed = keysWith(claims, ClaimOutcome.CLAIMED);
                    for (Claim cl : claims) {
                        if (cl.outcome() == ClaimOutcome.CONFLICT) {
                            return release(c, claimed, r.id())
                                    .then(Mono.error(new DuplicateRecordException(cl.what() + " already stored")));
                        }
                    }
                    List<String> held = new ArrayList<>(claimed);
                    held.addAll(keysWith(claims, ClaimOutcome.ALREADY_OURS));
                    return preIndex(c, r)
                            .then(Scripts.INSERT.<Long>run(c, ScriptOutputType.INTEGER,
                                    new String[] {keys.record(r.id())},
                                    args(expireAt, RecordCodec.encode(r))))
                            .onErrorResume(e -> bestEffort(release(c, claimed, r.id()), "release")
                                    .then(Mono.error(e)))
                            .flatMap(written -> written == 1 ? settle(c, held, r, expireAt)
                                    : release(c, claimed, r.id()).then(Mono.error(written == 0
                                            ? new DuplicateRecordException("flow id already stored: " + r.id())
                                            : new DuplicateRecordException("this insert stalled and another insert"
                                                    + " took its correlation id or key hash over"))));
                });
    }

    /**
     * Claims one hint key. Another flow's claim is a conflict when that flow's record exists. When it does not:
     * a settled claim is stale (a delete's clean-up was interrupted) and is taken over; a pending claim belongs to
     * an insert in flight, which is waited for until {@link #CLAIM_GRACE} after it claimed, and then fenced out (a
     * tombstone on its record key, see {@link Scripts#FENCE}) and taken over. The fence is decided atomically in the
     * silent insert's own slot: either its record exists (it wins) or it never can be written.
     */
    private Mono<ClaimOutcome> claim(RedisClusterReactiveCommands<String, byte[]> c, String key, String flowId) {
        return Mono.defer(() -> {
            long giveUpAt = System.nanoTime() + CLAIM_GRACE.plusSeconds(10).toNanos();
            return claimOnce(c, key, flowId, "")
                    .flatMap(reply -> {
                        ClaimOutcome outcome = outcome(reply);
                        if (outcome != null) {
                            return Mono.just(outcome);
                        }
                        String value = utf8((byte[]) reply.get(1));
                        long pttl = (Long) reply.get(2);
                        boolean pending = value.startsWith("?");
                        String holder = pending ? value.substring(1) : value;
                        return load(c, holder).map(Optional::of).defaultIfEmpty(Optional.empty()).flatMap(found -> {
                            if (found.isPresent()) {
                                return pending
                                        ? bestEffort(settleFor(c, key, found.get()), "settle")
                                                .thenReturn(ClaimOutcome.CONFLICT)
                                        : Mono.just(ClaimOutcome.CONFLICT);
                            }
                            if (!pending) {
                                return takeOver(c, key, flowId, value);
                            }
                            long age = pttl < 0 ? Long.MAX_VALUE : PENDING_CLAIM_TTL.toMillis() - pttl;
                            if (age < CLAIM_GRACE.toMillis()) {
                                return Mono.error(new PendingClaim());
                            }
                            return Scripts.FENCE.<Long>run(c, ScriptOutputType.INTEGER,
                                            new String[] {keys.record(holder)}, args(PENDING_CLAIM_TTL.toMillis()))
                                    .flatMap(fenced -> fenced == 1 ? takeOver(c, key, flowId, value)
                                            : Mono.just(ClaimOutcome.CONFLICT));
                        });
                    })
                    .retryWhen(Retry.backoff(Long.MAX_VALUE, Duration.ofMillis(2))
                            .maxBackoff(Duration.ofMillis(200))
                            .filter(e -> e instanceof PendingClaim && System.nanoTime() < giveUpAt))
                    .onErrorResume(PendingClaim.class, e -> Mono.just(ClaimOutcome.CONFLICT));
        });
    }

    private Mono<ClaimOutcome> takeOver(RedisClusterReactiveCommands<String, byte[]> c, String key, String flowId,
            String staleValue) {
        return claimOnce(c, key, flowId, staleValue).flatMap(again -> {
            ClaimOutcome o = outcome(again);
            // someone else changed the claim meanwhile: look again
            return o != null ? Mono.just(o) : Mono.error(new PendingClaim());
        });
    }

    /** Settles a pending claim for the insert that made it, whose record exists (it died before settling). */
    private Mono<Void> settleFor(RedisClusterReactiveCommands<String, byte[]> c, String key, FlowRecord holder) {
        return Scripts.SETTLE.run(c, ScriptOutputType.INTEGER, new String[] {key}, args(holder.id(), expireAt(holder)))
                .then();
    }

    private static @Nullable ClaimOutcome outcome(List<Object> reply) {
        long code = (Long) reply.get(0);
        return code == 1 ? ClaimOutcome.CLAIMED : code == 2 ? ClaimOutcome.ALREADY_OURS : null;
    }

    private Mono<List<Object>> claimOnce(RedisClusterReactiveCommands<String, byte[]> c, String key, String flowId,
            String staleHolder) {
        return Scripts.CLAIM.run(c, ScriptOutputType.MULTI, new String[] {key},
                args(flowId, PENDING_CLAIM_TTL.toMillis(), staleHolder));
    }

    /** After the record is written: settles its claims (undoing the insert if one was lost), syncs the indexes. */
    private Mono<Void> settle(RedisClusterReactiveCommands<String, byte[]> c,
            List<String> held, FlowRecord r, @Nullable Long expireAt) {
        return Flux.fromIterable(held)
                .flatMap(key -> Scripts.SETTLE.<Long>run(c, ScriptOutputType.INTEGER, new String[] {key},
                        args(r.id(), expireAt)))
                .all(ok -> ok == 1)
                .flatMap(allSettled -> {
                    if (allSettled) {
                        return bestEffort(sync(c, r), "sync");
                    }
                    // another insert took over a claim that lapsed while this one was slow: undo this insert
                    return Scripts.DELETE.<List<Object>>run(c, ScriptOutputType.MULTI,
                                    new String[] {keys.record(r.id())}, args(r.version()))
                            .then(release(c, held, r.id()))
                            .then(bestEffort(purge(c, r.id(), r.flowName()), "purge"))
                            .then(Mono.error(new DuplicateRecordException(
                                    "a correlation id or key hash was claimed by another flow during the insert")));
                });
    }

    private static List<String> keysWith(List<Claim> claims, ClaimOutcome outcome) {
        List<String> out = new ArrayList<>();
        for (Claim cl : claims) {
            if (cl.outcome() == outcome) {
                out.add(cl.key());
            }
        }
        return out;
    }

    /** Deletes hint keys that still point to this flow. */
    private Mono<Void> release(RedisClusterReactiveCommands<String, byte[]> c,
            Collection<String> hintKeys, String flowId) {
        return Flux.fromIterable(hintKeys)
                .flatMap(key -> Scripts.RELEASE.<Long>run(c, ScriptOutputType.INTEGER, new String[] {key},
                        args(flowId)))
                .then();
    }

    // ------------------------------------------------------------------ compare-and-set, delete

    private Mono<Boolean> compareAndSet(RedisClusterReactiveCommands<String, byte[]> c,
            long expectedVersion, FlowRecord next) {
        String id = next.id();
        Mono<List<String>> created = Flux.fromIterable(new LinkedHashSet<>(next.keyHashes()))
                .flatMap(h -> c.set(keys.keyHash(h), utf8(id), SetArgs.Builder.nx()).map(ok -> keys.keyHash(h)))
                .collectList();
        @Nullable Long expireAt = expireAt(next);
        return Mono.zip(created, preIndex(c, next).thenReturn(true))
                .flatMap(pre -> Scripts.COMPARE_AND_SET.<List<Object>>run(c, ScriptOutputType.MULTI,
                                new String[] {keys.record(id)}, args(expectedVersion, expireAt,
                                        RecordCodec.encode(next)))
                        .flatMap(reply -> {
                            long code = (Long) reply.get(0);
                            if (code == 1) {
                                return afterWrite(c, next, utf8((byte[]) reply.get(1)), expireAt).thenReturn(true);
                            }
                            // not applied: drop the hints this call created, and the index entries of a missing record
                            Mono<Void> undo = release(c, pre.getT1(), id);
                            if (code == -1) {
                                undo = undo.then(purge(c, id, next.flowName()));
                            }
                            return bestEffort(undo, "undo").thenReturn(false);
                        }));
    }

    private Mono<Void> afterWrite(RedisClusterReactiveCommands<String, byte[]> c,
            FlowRecord next, String previousWaits, @Nullable Long expireAt) {
        Set<String> now = new LinkedHashSet<>(next.keyHashes());
        List<String> dropped = new ArrayList<>();
        try {
            for (String h : RecordCodec.keyHashes(previousWaits)) {
                if (!now.contains(h)) {
                    dropped.add(keys.keyHash(h));
                }
            }
        } catch (RuntimeException e) {
            log.debug("previous waits of {} unreadable; dropped hints stay as stale hints", next.id(), e);
        }
        Mono<Void> expire = Mono.empty();
        if (expireAt != null) {
            List<String> hints = new ArrayList<>();
            now.forEach(h -> hints.add(keys.keyHash(h)));
            if (next.correlationId() != null) {
                hints.add(keys.correlation(next.correlationId()));
            }
            expire = Flux.fromIterable(hints)
                    .flatMap(key -> Scripts.SETTLE.run(c, ScriptOutputType.INTEGER, new String[] {key},
                            args(next.id(), expireAt)))
                    .then();
        }
        return bestEffort(Mono.when(sync(c, next), release(c, dropped, next.id()), expire), "index update");
    }

    private Mono<Boolean> delete(RedisClusterReactiveCommands<String, byte[]> c, String flowId, long expectedVersion) {
        return Scripts.DELETE.<List<Object>>run(c, ScriptOutputType.MULTI, new String[] {keys.record(flowId)},
                        args(expectedVersion))
                .flatMap(reply -> {
                    if ((Long) reply.get(0) != 1) {
                        return Mono.just(false);
                    }
                    String name = utf8((byte[]) reply.get(1));
                    List<String> hints = new ArrayList<>();
                    try {
                        RecordCodec.keyHashes(utf8((byte[]) reply.get(2))).forEach(h -> hints.add(keys.keyHash(h)));
                    } catch (RuntimeException e) {
                        log.debug("waits of deleted {} unreadable; their hints stay as stale hints", flowId, e);
                    }
                    String corr = utf8((byte[]) reply.get(3));
                    if (!corr.isEmpty()) {
                        hints.add(keys.correlation(corr.substring(1)));
                    }
                    return bestEffort(Mono.when(purge(c, flowId, name), release(c, hints, flowId)), "index clean-up")
                            .thenReturn(true);
                });
    }

    // ------------------------------------------------------------------ standalone: one script per call

    /** The record key, the global index keys of {@code flowName}, then {@code more}: the standalone scripts' KEYS. */
    private String[] oneStepKeys(String flowId, String flowName, List<String> more) {
        List<String> k = new ArrayList<>(Scripts.LAST_INDEX + more.size());
        k.add(keys.record(flowId));
        k.addAll(keys.indexKeys(flowName));
        k.addAll(more);
        return k.toArray(String[]::new);
    }

    /**
     * The standalone insert: one script ({@link Scripts#INSERT_ONE}). {@code holders} names, per hint (1-based, in
     * the script's order), the flow that held it when the script last looked, so that its record key is declared.
     * A value claimed by a multi-step insert still in flight is left to the multi-step algorithm, which waits for that
     * insert or fences it out.
     */
    private Mono<Void> insertOne(RedisClusterReactiveCommands<String, byte[]> c, FlowRecord r,
            Map<Integer, String> holders, int attempt) {
        List<String> hints = new ArrayList<>();
        List<String> what = new ArrayList<>();
        if (r.correlationId() != null) {
            hints.add(keys.correlation(r.correlationId()));
            what.add("correlation id");
        }
        for (String h : new LinkedHashSet<>(r.keyHashes())) {
            hints.add(keys.keyHash(h));
            what.add("key hash");
        }
        @Nullable Long expireAt = expireAt(r);
        List<String> k = new ArrayList<>(hints);
        List<@Nullable Object> a = indexArgs(r, expireAt);
        a.add(hints.size());
        for (int i = 1; i <= hints.size(); i++) {
            String holder = holders.get(i);
            a.add(holder == null ? "" : "=" + holder);
            if (holder != null) {
                k.add(keys.record(holder));
            }
        }
        a.add(RecordCodec.encode(r));
        return Scripts.INSERT_ONE.<List<Object>>run(c, ScriptOutputType.MULTI, oneStepKeys(r.id(), r.flowName(), k),
                        args(a.toArray()))
                .flatMap(reply -> {
                    long code = (Long) reply.get(0);
                    if (code == 1) {
                        known.put(r);
                        return Mono.<Void>empty();
                    }
                    if (code == 0) {
                        return Mono.error(new DuplicateRecordException("flow id already stored: " + r.id()));
                    }
                    if (code == 2) {
                        return Mono.error(new DuplicateRecordException("this insert stalled and another insert took"
                                + " its correlation id or key hash over"));
                    }
                    if (code == 3) {
                        int i = ((Long) reply.get(1)).intValue();
                        String value = utf8((byte[]) reply.get(2));
                        DuplicateRecordException dup = new DuplicateRecordException(what.get(i - 1)
                                + " already stored");
                        if (!value.startsWith("?")) {
                            return Mono.error(dup);
                        }
                        // the holder wrote its record but died before settling its claim: settle it on its behalf
                        return bestEffort(load(c, value.substring(1)).flatMap(h -> settleFor(c, hints.get(i - 1), h)),
                                "settle").then(Mono.error(dup));
                    }
                    if (code == 5 && attempt + 1 < ONE_STEP_ATTEMPTS) {
                        Map<Integer, String> named = new HashMap<>(holders);
                        for (int j = 1; j + 1 < reply.size(); j += 2) {
                            named.put(((Long) reply.get(j)).intValue(), utf8((byte[]) reply.get(j + 1)));
                        }
                        return insertOne(c, r, named, attempt + 1);
                    }
                    // 4: a multi-step insert in flight claimed a value; 5 again: the holders keep changing
                    return insert(c, r);
                });
    }

    /**
     * The standalone compare-and-set: one script ({@link Scripts#COMPARE_AND_SET_ONE}). The hashes it may drop are
     * {@code dropping} when given, else taken from what this store last saw of the flow ({@link KnownRecords});
     * the script checks them against the stored record and, when the record holds a hash not declared, names the
     * stored waits and changes nothing, and the call runs again with exactly the dropped ones.
     */
    private Mono<Boolean> compareAndSetOne(RedisClusterReactiveCommands<String, byte[]> c, long expectedVersion,
            FlowRecord next, @Nullable List<String> dropping, int attempt) {
        String id = next.id();
        Set<String> kept = new LinkedHashSet<>(next.keyHashes());
        List<String> previous = dropping;
        if (previous == null) {
            KnownRecords.Known seen = known.get(id);
            previous = seen == null ? List.of() : seen.keyHashes();
        }
        Set<String> dropped = new LinkedHashSet<>(previous);
        dropped.removeAll(kept);
        @Nullable Long expireAt = expireAt(next);
        String correlationId = expireAt == null ? null : next.correlationId();
        List<String> k = new ArrayList<>();
        List<@Nullable Object> a = indexArgs(next, expireAt);
        a.add(expectedVersion);
        a.add(kept.size());
        a.add(dropped.size());
        a.add(correlationId == null ? 0 : 1);
        for (String h : kept) {
            k.add(keys.keyHash(h));
            a.add(RecordCodec.encodedKeyHash(h));
        }
        for (String h : dropped) {
            k.add(keys.keyHash(h));
            a.add(RecordCodec.encodedKeyHash(h));
        }
        if (correlationId != null) {
            k.add(keys.correlation(correlationId));
        }
        a.add(RecordCodec.encode(next));
        return Scripts.COMPARE_AND_SET_ONE.<List<Object>>run(c, ScriptOutputType.MULTI,
                        oneStepKeys(id, next.flowName(), k), args(a.toArray()))
                .flatMap(reply -> {
                    long code = (Long) reply.get(0);
                    if (code == 1) {
                        known.put(next);
                        return Mono.just(true);
                    }
                    if (code != 2) {
                        if (code == -1) {
                            known.remove(id);
                        }
                        return Mono.just(false);
                    }
                    List<String> stored;
                    try {
                        stored = RecordCodec.keyHashes(utf8((byte[]) reply.get(1)));
                    } catch (RuntimeException e) {
                        // unreadable: the multi-step path leaves the hints of such waits as stale hints
                        return compareAndSet(c, expectedVersion, next);
                    }
                    if (attempt + 1 >= ONE_STEP_ATTEMPTS) {
                        return compareAndSet(c, expectedVersion, next);
                    }
                    return compareAndSetOne(c, expectedVersion, next, stored, attempt + 1);
                });
    }

    /**
     * The standalone delete: one script ({@link Scripts#DELETE_ONE}), given the flow name, key hashes and
     * correlation id the record is expected to hold ({@code expected}: the record a caller loaded, or what this store
     * last saw of it); when they are not what is stored, the script names them and deletes nothing, and the call runs
     * again with them.
     */
    private Mono<Boolean> deleteOne(RedisClusterReactiveCommands<String, byte[]> c, String flowId,
            long expectedVersion, KnownRecords.@Nullable Known expected, int attempt) {
        String name = expected == null ? "" : expected.flowName();
        List<String> hashes = expected == null ? List.of() : expected.keyHashes();
        String correlationId = expected == null ? null : expected.correlationId();
        List<String> k = new ArrayList<>();
        List<@Nullable Object> a = new ArrayList<>();
        a.add(flowId);
        a.add(expectedVersion);
        a.add(name);
        a.add(correlationId == null ? "" : "=" + correlationId);
        a.add(hashes.size());
        a.add(correlationId == null ? 0 : 1);
        for (String h : hashes) {
            k.add(keys.keyHash(h));
            a.add(RecordCodec.encodedKeyHash(h));
        }
        if (correlationId != null) {
            k.add(keys.correlation(correlationId));
        }
        return Scripts.DELETE_ONE.<List<Object>>run(c, ScriptOutputType.MULTI, oneStepKeys(flowId, name, k),
                        args(a.toArray()))
                .flatMap(reply -> {
                    long code = (Long) reply.get(0);
                    if (code == 1) {
                        known.remove(flowId);
                        return Mono.just(true);
                    }
                    if (code != 2) {
                        return Mono.just(false);
                    }
                    String storedName = utf8((byte[]) reply.get(1));
                    String corr = utf8((byte[]) reply.get(3));
                    List<String> stored;
                    try {
                        stored = List.copyOf(new LinkedHashSet<>(RecordCodec.keyHashes(utf8((byte[]) reply.get(2)))));
                    } catch (RuntimeException e) {
                        return delete(c, flowId, expectedVersion);
                    }
                    if (attempt + 1 >= ONE_STEP_ATTEMPTS) {
                        return delete(c, flowId, expectedVersion);
                    }
                    return deleteOne(c, flowId, expectedVersion, new KnownRecords.Known(expectedVersion, storedName,
                            stored, corr.isEmpty() ? null : corr.substring(1), 0), attempt + 1);
                });
    }

    // ------------------------------------------------------------------ indexes

    private Mono<Void> preIndex(RedisClusterReactiveCommands<String, byte[]> c, FlowRecord r) {
        return Scripts.PRE_INDEX.run(c, ScriptOutputType.INTEGER,
                        new String[] {keys.ids(), keys.name(r.flowName()), keys.names(), keys.status(r.status()),
                            keys.deadlines(), keys.leases()},
                        args(r.id(), r.flowName(), deadlineScore(r), leaseScore(r)))
                .then();
    }

    private Mono<Void> sync(RedisClusterReactiveCommands<String, byte[]> c, FlowRecord r) {
        return Scripts.SYNC.run(c, ScriptOutputType.INTEGER, keys.indexKeys(r.flowName()).toArray(String[]::new),
                        args(indexArgs(r, expireAt(r)).toArray()))
                .then();
    }

    /**
     * The arguments {@link Scripts#SYNC} and the standalone write scripts start with: flow id, version, status
     * ordinal, deadline score, lease score, expire-at (the {@code retain} score), flow name.
     */
    private static List<@Nullable Object> indexArgs(FlowRecord r, @Nullable Long expireAt) {
        List<@Nullable Object> a = new ArrayList<>();
        a.add(r.id());
        a.add(r.version());
        a.add(r.status().ordinal());
        a.add(deadlineScore(r));
        a.add(leaseScore(r));
        a.add(expireAt);
        a.add(r.flowName());
        return a;
    }

    /** Removes a flow from every global index; looks its name up when not given. */
    private Mono<Void> purge(RedisClusterReactiveCommands<String, byte[]> c, String flowId, @Nullable String flowName) {
        Mono<String> name = flowName != null ? Mono.just(flowName)
                : c.hget(keys.names(), flowId).map(RecordCodec::utf8).defaultIfEmpty("");
        return name.flatMap(n -> {
            List<String> k = new ArrayList<>(List.of(keys.versions(), keys.names(), keys.ids(), keys.deadlines(),
                    keys.leases(), keys.retain()));
            for (FlowStatus s : Keys.STATUSES) {
                k.add(keys.status(s));
            }
            if (!n.isEmpty()) {
                k.add(keys.name(n));
            }
            return Scripts.PURGE.run(c, ScriptOutputType.INTEGER, k.toArray(String[]::new), args(flowId)).then();
        });
    }

    /** Re-synchronises the indexes from a loaded record, or purges them when the record is gone. */
    private Mono<Void> repair(RedisClusterReactiveCommands<String, byte[]> c, Loaded l) {
        return l.record() == null ? purge(c, l.id(), null) : sync(c, l.record());
    }

    private Mono<Void> sweepExpired(RedisClusterReactiveCommands<String, byte[]> c) {
        return c.zrangebyscore(keys.retain(),
                        Range.from(Range.Boundary.<Long>unbounded(),
                                Range.Boundary.including(System.currentTimeMillis())),
                        Limit.create(0, SWEEP_BATCH))
                .map(RecordCodec::utf8)
                .flatMap(id -> c.hexists(keys.record(id), RecordCodec.VERSION)
                                .flatMap(exists -> exists ? Mono.empty() : purge(c, id, null)),
                        DELETE_CONCURRENCY)
                .then();
    }

    private static String deadlineScore(FlowRecord r) {
        return r.status() == FlowStatus.SUSPENDED && r.deadline() != null ? RecordCodec.millis(r.deadline()) : "";
    }

    private static String leaseScore(FlowRecord r) {
        return r.status() == FlowStatus.RUNNING && r.leaseExpiresAt() != null
                ? RecordCodec.millis(r.leaseExpiresAt()) : "";
    }

    /** When a finished record (and its hints) expire, or {@code null} for no TTL. */
    private @Nullable Long expireAt(FlowRecord r) {
        if (retentionTtlMargin == null || !r.status().isTerminal() || r.retainUntil() == null) {
            return null;
        }
        return r.retainUntil().plus(retentionTtlMargin).toEpochMilli();
    }

    // ------------------------------------------------------------------ loading and scanning

    private record Loaded(String id, @Nullable FlowRecord record) {}

    private Mono<FlowRecord> load(RedisClusterReactiveCommands<String, byte[]> c, String flowId) {
        return c.hgetall(keys.record(flowId))
                .collectMap(KeyValue::getKey, KeyValue::getValue)
                .flatMap(m -> Mono.justOrEmpty(decode(m)));
    }

    /**
     * A record from its hash fields, or {@code null} for no record (no fields, or a tombstone). A standalone store
     * remembers what it read ({@link KnownRecords}).
     */
    private @Nullable FlowRecord decode(Map<String, byte[]> fields) {
        if (fields.isEmpty() || fields.containsKey(RecordCodec.ABORTED)) {
            return null;
        }
        FlowRecord r = RecordCodec.decode(fields);
        if (standalone) {
            known.put(r);
        }
        return r;
    }

    /**
     * Follows a lookup hint to its record and keeps it only if {@code holds}; a hint still pending (its insert died
     * between writing the record and settling) is settled on the way. Standalone: one script
     * ({@link Scripts#FOLLOW_ONE}); cluster: the hint and the record live in different slots, two commands.
     */
    private Mono<FlowRecord> follow(RedisClusterReactiveCommands<String, byte[]> c, String hintKey,
            Predicate<FlowRecord> holds) {
        if (standalone) {
            return Scripts.FOLLOW_ONE.<List<Object>>run(c, ScriptOutputType.MULTI, new String[] {hintKey},
                            args(keys.recordPrefix(), Keys.RECORD_SUFFIX))
                    .flatMap(reply -> {
                        if (reply.isEmpty()) {
                            return Mono.empty();
                        }
                        String value = utf8((byte[]) reply.get(0));
                        Map<String, byte[]> fields = new HashMap<>();
                        for (int i = 1; i + 1 < reply.size(); i += 2) {
                            fields.put(utf8((byte[]) reply.get(i)), (byte[]) reply.get(i + 1));
                        }
                        FlowRecord r = decode(fields);
                        if (r == null || !holds.test(r)) {
                            return Mono.empty();
                        }
                        return value.startsWith("?") ? bestEffort(settleFor(c, hintKey, r), "settle").thenReturn(r)
                                : Mono.just(r);
                    });
        }
        return c.get(hintKey).flatMap(value -> {
            String v = utf8(value);
            boolean pending = v.startsWith("?");
            return load(c, pending ? v.substring(1) : v)
                    .filter(holds)
                    .flatMap(r -> pending ? bestEffort(settleFor(c, hintKey, r), "settle").thenReturn(r)
                            : Mono.just(r));
        });
    }

    private Flux<Loaded> loadAll(RedisClusterReactiveCommands<String, byte[]> c, List<String> ids) {
        return Flux.fromIterable(ids).flatMapSequential(id -> load(c, id)
                .map(r -> new Loaded(id, r))
                .defaultIfEmpty(new Loaded(id, null)), LOAD_CONCURRENCY);
    }

    private Mono<FlowRecord> byCorrelation(RedisClusterReactiveCommands<String, byte[]> c, String correlationId) {
        return follow(c, keys.correlation(correlationId), r -> correlationId.equals(r.correlationId()));
    }

    private Flux<FlowRecord> select(RedisClusterReactiveCommands<String, byte[]> c, QueryCriteria q) {
        if (q.correlationId() != null) {
            return byCorrelation(c, q.correlationId()).filter(q::matches).flux();
        }
        List<String> sources = new ArrayList<>();
        boolean byStatus = false;
        if (q.flowName() != null) {
            sources.add(keys.name(q.flowName()));
        } else if (!q.statuses().isEmpty()) {
            for (FlowStatus s : Keys.STATUSES) {
                if (q.statuses().contains(s)) {
                    sources.add(keys.status(s));
                }
            }
            byStatus = true;
        } else {
            sources.add(keys.ids());
        }
        int page = Math.max(32, Math.min(q.limit() + 16, 1000));
        return scan(c, q, sources, byStatus, q.afterFlowId(), q.limit(), page);
    }

    private Flux<FlowRecord> scan(RedisClusterReactiveCommands<String, byte[]> c,
            QueryCriteria q, List<String> sources, boolean byStatus,
            @Nullable String after, int remaining, int page) {
        return candidates(c, sources, after, page).flatMapMany(ids -> loadAll(c, ids)
                .concatMap(l -> {
                    FlowRecord r = l.record();
                    if (r == null) {
                        return bestEffort(purge(c, l.id(), null), "purge").then(Mono.<FlowRecord>empty());
                    }
                    if (byStatus && !q.statuses().contains(r.status())) {
                        return bestEffort(sync(c, r), "repair").then(Mono.<FlowRecord>empty());
                    }
                    return Mono.just(r);
                })
                .filter(q::matches)
                .take(remaining)
                .collectList()
                .flatMapMany(found -> {
                    Flux<FlowRecord> head = Flux.fromIterable(found);
                    int left = remaining - found.size();
                    if (left <= 0 || ids.size() < page) {
                        return head;
                    }
                    String last = ids.get(ids.size() - 1);
                    return head.concatWith(Flux.defer(() -> scan(c, q, sources, byStatus, last, left, page)));
                }));
    }

    /** The next {@code page} flow ids after {@code after} in the union of lexicographic sets {@code sources}. */
    private static Mono<List<String>> candidates(RedisClusterReactiveCommands<String, byte[]> c,
            List<String> sources, @Nullable String after, int page) {
        Range<byte[]> range = after == null ? Range.unbounded()
                : Range.from(Range.Boundary.excluding(utf8(after)), Range.Boundary.unbounded());
        return Flux.fromIterable(sources)
                .flatMap(key -> c.zrangebylex(key, range, Limit.create(0, page)))
                .map(RecordCodec::utf8)
                .collect(TreeSet<String>::new, TreeSet::add)
                .map(all -> {
                    List<String> ids = new ArrayList<>(Math.min(all.size(), page));
                    for (String id : all) {
                        if (ids.size() == page) {
                            break;
                        }
                        ids.add(id);
                    }
                    return ids;
                });
    }

    /**
     * Reads a score-ordered index up to {@code now}, keeps the records for which {@code due} holds and whose score is
     * exact, and repairs the other entries; when it repaired any, reads again (up to {@value #DUE_ROUNDS} rounds).
     */
    private Mono<List<FlowRecord>> due(RedisClusterReactiveCommands<String, byte[]> c,
            String index, Instant now, int limit, Predicate<FlowRecord> due,
            Function<FlowRecord, @Nullable Instant> scoreOf, int round) {
        int fetch = limit + 16;
        return c.zrangebyscoreWithScores(index,
                        Range.from(Range.Boundary.<Long>unbounded(), Range.Boundary.including(now.toEpochMilli())),
                        Limit.create(0, fetch))
                .collectList()
                .flatMap(scored -> {
                    Map<String, Double> scores = new HashMap<>();
                    List<String> ids = new ArrayList<>();
                    for (ScoredValue<byte[]> sv : scored) {
                        String id = utf8(sv.getValue());
                        ids.add(id);
                        scores.put(id, sv.getScore());
                    }
                    return loadAll(c, ids).collectList().flatMap(loaded -> {
                        List<FlowRecord> found = new ArrayList<>();
                        List<Loaded> stale = new ArrayList<>();
                        for (Loaded l : loaded) {
                            FlowRecord r = l.record();
                            boolean isDue = r != null && due.test(r);
                            if (isDue) {
                                found.add(r);
                            }
                            Instant at = r == null ? null : scoreOf.apply(r);
                            if (!isDue || at == null || at.toEpochMilli() != scores.get(l.id()).longValue()) {
                                stale.add(l);
                            }
                        }
                        if (stale.isEmpty()) {
                            return Mono.just(first(found, limit));
                        }
                        if (round + 1 >= DUE_ROUNDS) {
                            found.sort(Comparator.comparing((FlowRecord r) -> Objects.requireNonNull(scoreOf.apply(r)))
                                    .thenComparing(FlowRecord::id));
                            return Mono.just(first(found, limit));
                        }
                        return bestEffort(Flux.fromIterable(stale).flatMap(l -> repair(c, l)).then(), "repair")
                                .then(Mono.defer(() -> due(c, index, now, limit, due, scoreOf, round + 1)));
                    });
                });
    }

    private static <T> List<T> first(List<T> list, int n) {
        return list.size() <= n ? list : new ArrayList<>(list.subList(0, n));
    }

    // ------------------------------------------------------------------ helpers

    private static String infoField(String info, String field) {
        for (String line : info.split("\r?\n")) {
            if (line.startsWith(field + ":")) {
                return line.substring(field.length() + 1).trim();
            }
        }
        return "unknown";
    }

    /** Script arguments: strings as UTF-8, numbers in decimal, {@code null} as '', maps as field/value pairs. */
    static byte[][] args(@Nullable Object... parts) {
        List<byte[]> out = new ArrayList<>();
        for (Object p : parts) {
            if (p == null) {
                out.add(EMPTY);
            } else if (p instanceof byte[] b) {
                out.add(b);
            } else if (p instanceof Map<?, ?> m) {
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    out.add(utf8((String) e.getKey()));
                    out.add((byte[]) e.getValue());
                }
            } else {
                out.add(utf8(p.toString()));
            }
        }
        return out.toArray(byte[][]::new);
    }

    /**
     * The boundary of every public method: maps errors, and hands results to {@link Schedulers#parallel()} so that
     * the caller's continuation (the hub decrypts, parses and replays) never runs on lettuce's event loop, which
     * would otherwise serialise all callers of a connection behind one I/O thread.
     */
    private static <T> Mono<T> guard(Mono<T> mono) {
        return mono.onErrorMap(RedisErrors::map).publishOn(Schedulers.parallel());
    }

    private static <T> Flux<T> guard(Flux<T> flux) {
        return flux.onErrorMap(RedisErrors::map).publishOn(Schedulers.parallel());
    }

    /** Index maintenance after the authoritative write: a failure leaves stale hints, which readers repair. */
    private static Mono<Void> bestEffort(Mono<Void> step, String what) {
        return step.onErrorResume(e -> {
            log.debug("redis store: {} failed; index entries stay as hints to be repaired: {}", what, e.toString());
            return Mono.empty();
        });
    }

    /** Builds a {@link RedisStore}. */
    public static final class Builder {
        private final @Nullable RedisClient client;
        private final @Nullable RedisClusterClient clusterClient;
        private String keyPrefix = "stasis";
        private Duration retentionTtlMargin = Duration.ofHours(1);
        private boolean retentionTtl = true;
        private int connections = 1;
        private @Nullable RedisURI redisUri;

        private Builder(@Nullable RedisClient client, @Nullable RedisClusterClient clusterClient) {
            this.client = client;
            this.clusterClient = clusterClient;
        }

        /**
         * The prefix of every key the store writes (default {@code "stasis"}). Stores with different prefixes share
         * a server without seeing each other. It becomes the hash tag of the global indexes, so it must not contain
         * {@code {} or {@code }}.
         *
         * @param prefix the prefix
         * @return this builder
         */
        public Builder keyPrefix(String prefix) {
            new Keys(prefix);
            this.keyPrefix = prefix;
            return this;
        }

        /**
         * How long after {@link FlowRecord#retainUntil()} a finished record expires by itself in Redis (default one
         * hour). The TTL is a backstop for when the hub's cleanup does not run; the margin lets cleanup act first and
         * absorbs clock skew between hubs and Redis.
         *
         * @param margin zero or more
         * @return this builder
         */
        public Builder retentionTtlMargin(Duration margin) {
            if (margin.isNegative()) {
                throw new IllegalArgumentException("margin must not be negative: " + margin);
            }
            this.retentionTtlMargin = margin;
            return this;
        }

        /**
         * Whether finished records get a TTL at all (default {@code true}). Without it they stay until cleanup
         * deletes them.
         *
         * @param enabled whether to set TTLs
         * @return this builder
         */
        public Builder retentionTtl(boolean enabled) {
            this.retentionTtl = enabled;
            return this;
        }

        /**
         * How many connections the store opens and reuses for all its commands (default 1). A lettuce connection is
         * thread-safe and pipelines concurrent commands, so one is enough for most loads; more spread the commands
         * round-robin over several sockets and event-loop threads. In cluster mode each connection holds one
         * socket per node. Measured with the load harness on a 2-core machine (standalone, 64 operations in flight):
         * two connections were 5-7 % slower than one, the hub, lettuce and Redis already sharing both cores; more can
         * pay off where spare cores and a network round trip are the limit.
         *
         * @param count 1 to 64
         * @return this builder
         */
        public Builder connections(int count) {
            if (count < 1 || count > 64) {
                throw new IllegalArgumentException("connections must be between 1 and 64, was " + count);
            }
            this.connections = count;
            return this;
        }

        /**
         * Standalone only: connect to this URI instead of the client's default one. With a URI the connection is
         * opened asynchronously; without one, lettuce's synchronous connect runs once on the bounded-elastic
         * scheduler, because lettuce has no asynchronous connect to a client's default URI.
         *
         * @param uri the URI
         * @return this builder
         */
        public Builder redisUri(RedisURI uri) {
            this.redisUri = Objects.requireNonNull(uri, "uri");
            return this;
        }

        /**
         * Builds the store. Nothing connects yet: the first call (usually {@link RedisStore#provision()}) opens the
         * connection(s).
         *
         * @return the store
         * @throws IllegalStateException when {@link #redisUri} was set for a cluster
         */
        public RedisStore build() {
            RedisConnector connector;
            if (clusterClient != null) {
                if (redisUri != null) {
                    throw new IllegalStateException("redisUri applies to a standalone client only");
                }
                connector = RedisConnector.cluster(clusterClient, connections);
            } else {
                connector = RedisConnector.standalone(Objects.requireNonNull(client), redisUri, connections);
            }
            return new RedisStore(connector, new Keys(keyPrefix), retentionTtl ? retentionTtlMargin : null,
                    clusterClient == null);
        }
    }

    @Override
    public String toString() {
        return "RedisStore[" + connector.mode() + ", prefix " + keys.prefix() + "]";
    }
}
