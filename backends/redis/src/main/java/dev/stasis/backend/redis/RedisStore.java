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
 * <h2>Atomicity: one slot per script, indexes as verified hints</h2>
 * The record is the only source of truth. Insert, {@link #compareAndSet compare-and-set} and delete are single Lua
 * scripts on the record key ({@code if HGET ver == expected then replace the hash}), so they are linearizable, in a
 * cluster too. A lookup by key hash or correlation id, however, starts from a value that does not hash to the flow's
 * slot, and the global indexes live in a slot of their own: no script can change them together with the record. So
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
 *       entries, never missing ones. Readers ({@link #query}, {@link #dueForTimeout}, {@link #expiredLeases}) load
 *       the records, keep only those that really match, and repair the entries that did not (re-synchronise them
 *       from the record they loaded, or remove them when the record is gone).</li>
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
 *
 * <h2>Expiry</h2>
 * A finished record (completed, failed, cancelled, expired) with a {@link FlowRecord#retainUntil()} gets
 * {@code PEXPIREAT retainUntil + margin} ({@link Builder#retentionTtlMargin}), and so do its lookup hints, as a
 * backstop for when nobody runs the hub's cleanup. The margin keeps the TTL from racing cleanup (which also removes
 * index entries) and from acting on a hub whose clock runs behind Redis. Index entries of expired records are removed
 * lazily by readers, and by {@link #deleteMatching}, which sweeps the {@code retain} index.
 *
 * <h2>Cluster</h2>
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
    private static final byte[] EMPTY = new byte[0];

    private final RedisConnector connector;
    private final Keys keys;
    private final @Nullable Duration retentionTtlMargin;

    private RedisStore(RedisConnector connector, Keys keys, @Nullable Duration retentionTtlMargin) {
        this.connector = connector;
        this.keys = keys;
        this.retentionTtlMargin = retentionTtlMargin;
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
     * (see the class comment for why a hint is not trusted by itself).
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
     * Claims the correlation id and every key hash ({@code SET NX} with a pending TTL), extends the indexes, writes
     * the record with one script ({@code EXISTS} check + {@code HSET}), then settles the claims and synchronises the
     * indexes. Nothing is left behind when a claim or the flow id conflicts.
     *
     * @param record the record (version 1)
     * @return completes when the record and its claims are written; {@link DuplicateRecordException} on a conflict
     */
    @Override
    public Mono<Void> insert(FlowRecord record) {
        return guard(connector.commands().flatMap(c -> insert(c, record)));
    }

    /**
     * Writes the hints of {@code next}'s key hashes, extends the indexes, runs the compare-and-set script on the
     * record key, then (only when it applied) synchronises the indexes, deletes the hints of dropped hashes and, for a
     * finished record, gives its hints the record's expiry. See the class comment for why this order satisfies the
     * contract of {@link StateStore#compareAndSet}.
     *
     * @param expectedVersion the version the caller read
     * @param next the new record
     * @return whether it applied
     */
    @Override
    public Mono<Boolean> compareAndSet(long expectedVersion, FlowRecord next) {
        return guard(connector.commands().flatMap(c -> compareAndSet(c, expectedVersion, next)));
    }

    /**
     * Deletes the record with one script if its version matches, then removes its index entries and hints.
     *
     * @param flowId the flow id
     * @param expectedVersion the version the caller read
     * @return whether it was deleted
     */
    @Override
    public Mono<Boolean> delete(String flowId, long expectedVersion) {
        return guard(connector.commands().flatMap(c -> delete(c, flowId, expectedVersion)));
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
                .flatMap(r -> delete(c, r.id(), r.version()), DELETE_CONCURRENCY)
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

    // ------------------------------------------------------------------ indexes

    private Mono<Void> preIndex(RedisClusterReactiveCommands<String, byte[]> c, FlowRecord r) {
        return Scripts.PRE_INDEX.run(c, ScriptOutputType.INTEGER,
                        new String[] {keys.ids(), keys.name(r.flowName()), keys.names(), keys.status(r.status()),
                            keys.deadlines(), keys.leases()},
                        args(r.id(), r.flowName(), deadlineScore(r), leaseScore(r)))
                .then();
    }

    private Mono<Void> sync(RedisClusterReactiveCommands<String, byte[]> c, FlowRecord r) {
        List<String> k = new ArrayList<>(List.of(keys.versions(), keys.names(), keys.ids(), keys.name(r.flowName()),
                keys.deadlines(), keys.leases(), keys.retain()));
        for (FlowStatus s : Keys.STATUSES) {
            k.add(keys.status(s));
        }
        return Scripts.SYNC.run(c, ScriptOutputType.INTEGER, k.toArray(String[]::new),
                        args(r.id(), r.version(), r.status().ordinal(), deadlineScore(r), leaseScore(r),
                                expireAt(r), r.flowName()))
                .then();
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
                .filter(m -> !m.isEmpty() && !m.containsKey(RecordCodec.ABORTED))
                .map(RecordCodec::decode);
    }

    /**
     * Follows a lookup hint to its record and keeps it only if {@code holds}; a hint still pending (its insert died
     * between writing the record and settling) is settled on the way.
     */
    private Mono<FlowRecord> follow(RedisClusterReactiveCommands<String, byte[]> c, String hintKey,
            Predicate<FlowRecord> holds) {
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
         * socket per node.
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
            return new RedisStore(connector, new Keys(keyPrefix), retentionTtl ? retentionTtlMargin : null);
        }
    }

    @Override
    public String toString() {
        return "RedisStore[" + connector.mode() + ", prefix " + keys.prefix() + "]";
    }
}
