package dev.stasis.backend.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.FlowStatus;
import dev.stasis.StorageUnavailableException;
import dev.stasis.spi.DuplicateRecordException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import io.lettuce.core.event.command.CommandListener;
import io.lettuce.core.event.command.CommandStartedEvent;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * The contract suite against a standalone Redis: {@code STASIS_TEST_REDIS_URI}, default
 * {@code redis://127.0.0.1:6379}.
 */
class RedisStoreIT extends RedisStoreContractBase {

    static final String URI = System.getenv().getOrDefault("STASIS_TEST_REDIS_URI", "redis://127.0.0.1:6379");

    private RedisClient client;
    private StatefulRedisConnection<String, byte[]> sideConnection;

    @Override
    protected RedisStore.Builder storeBuilder() {
        if (client == null) {
            client = RedisClient.create(URI);
        }
        return RedisStore.builder(client);
    }

    @Override
    protected RedisClusterCommands<String, byte[]> sideChannelCommands() {
        if (client == null) {
            client = RedisClient.create(URI);
        }
        sideConnection = client.connect(RedisConnector.CODEC);
        return sideConnection.sync();
    }

    @Override
    protected void closeClients() {
        if (sideConnection != null) {
            sideConnection.close();
        }
        if (client != null) {
            client.shutdown();
        }
    }

    @Test
    @DisplayName("redis: with an explicit URI the store connects asynchronously")
    void explicitUri() {
        RedisStore other = RedisStore.builder(client).redisUri(RedisURI.create(URI)).keyPrefix(prefix).build();
        other.provision().subscribeOn(Schedulers.parallel()).as(StepVerifier::create).verifyComplete();
        other.health().subscribeOn(Schedulers.parallel()).as(StepVerifier::create)
                .assertNext(h -> assertThat(h.up()).isTrue())
                .verifyComplete();
        other.close().as(StepVerifier::create).verifyComplete();
    }

    /** The commands a client sends, by name. */
    private static final class Sent implements CommandListener {
        private final ConcurrentLinkedQueue<String> names = new ConcurrentLinkedQueue<>();

        @Override
        public void commandStarted(CommandStartedEvent event) {
            names.add(event.getCommand().getType().toString());
        }

        /** What was sent since the last call, and forgets it. */
        List<String> take() {
            List<String> out = new ArrayList<>();
            for (String n; (n = names.poll()) != null; ) {
                out.add(n);
            }
            return out;
        }
    }

    @Test
    @DisplayName("redis standalone: every write and every lookup by key hash or correlation id is one command")
    void oneCommandPerCall() {
        Sent sent = new Sent();
        RedisClient counted = RedisClient.create(URI);
        counted.addListener(sent);
        RedisStore one = RedisStore.builder(counted).keyPrefix(prefix).build();
        try {
            par(one.provision()).as(StepVerifier::create).verifyComplete();
            Instant now = nowMillis();
            String h = hash();
            String corr = "corr-one-" + UUID.randomUUID();
            FlowRecord v1 = record("one-" + UUID.randomUUID(), FlowStatus.SUSPENDED, now, h).toBuilder()
                    .correlationId(corr).build();
            sent.take();
            par(one.insert(v1)).as(StepVerifier::create).verifyComplete();
            assertThat(sent.take()).as("insert").containsExactly("EVALSHA");
            par(one.findByKeyHash(h)).as(StepVerifier::create)
                    .assertNext(r -> assertThat(r.id()).isEqualTo(v1.id())).verifyComplete();
            assertThat(sent.take()).as("findByKeyHash").containsExactly("EVALSHA");

            FlowRecord v2 = v1.toBuilder().version(2).status(FlowStatus.RUNNING).deadline(null).leaseOwner("hub")
                    .leaseExpiresAt(now.plusSeconds(30)).build();
            par(one.compareAndSet(1, v2)).as(StepVerifier::create).expectNext(true).verifyComplete();
            assertThat(sent.take()).as("claim").containsExactly("EVALSHA");
            String h2 = hash();
            FlowRecord v3 = v2.toBuilder().version(3).status(FlowStatus.SUSPENDED).leaseOwner(null)
                    .leaseExpiresAt(null).deadline(now.plusSeconds(60))
                    .waits(List.of(new WaitRecord(h2, "second", now.plusSeconds(60), WaitRecord.Status.PENDING)))
                    .build();
            par(one.compareAndSet(2, v3)).as(StepVerifier::create).expectNext(true).verifyComplete();
            assertThat(sent.take()).as("suspend again, dropping a hash").containsExactly("EVALSHA");
            assertThat(side.redis().exists(side.keyHash(h))).isZero();
            FlowRecord v4 = v3.toBuilder().version(4).status(FlowStatus.COMPLETED).deadline(null)
                    .retainUntil(now.plusSeconds(3600)).build();
            par(one.compareAndSet(3, v4)).as(StepVerifier::create).expectNext(true).verifyComplete();
            assertThat(sent.take()).as("complete").containsExactly("EVALSHA");
            par(one.compareAndSet(3, v4)).as(StepVerifier::create).expectNext(false).verifyComplete();
            assertThat(sent.take()).as("a lost race").containsExactly("EVALSHA");
            par(one.findByCorrelationId(corr)).as(StepVerifier::create)
                    .assertNext(r -> assertThat(r.version()).isEqualTo(4)).verifyComplete();
            assertThat(sent.take()).as("findByCorrelationId").containsExactly("EVALSHA");
            par(one.findByKeyHash(h)).as(StepVerifier::create).verifyComplete();
            assertThat(sent.take()).as("a dropped hash").containsExactly("EVALSHA");
            par(one.delete(v1.id(), 4)).as(StepVerifier::create).expectNext(true).verifyComplete();
            assertThat(sent.take()).as("delete").containsExactly("EVALSHA");
            assertThat(side.rawDump(v1.id())).as("nothing left of the flow").isEqualTo(side.record(v1.id())
                    + " ttl=-2\n");
            assertThat(side.redis().exists(side.keyHash(h2), side.correlation(corr))).isZero();
        } finally {
            par(one.close()).as(StepVerifier::create).verifyComplete();
            counted.shutdown();
        }
    }

    @Test
    @DisplayName("redis standalone: a store that never saw the flow runs a write script once more, with the keys it"
            + " named")
    void coldStoreNamesTheKeysItMissed() {
        Sent sent = new Sent();
        RedisClient counted = RedisClient.create(URI);
        counted.addListener(sent);
        RedisStore cold = RedisStore.builder(counted).keyPrefix(prefix).build();
        try {
            par(cold.provision()).as(StepVerifier::create).verifyComplete();
            Instant now = nowMillis();
            String h = hash();
            FlowRecord v1 = record("cold-" + UUID.randomUUID(), FlowStatus.SUSPENDED, now, h).toBuilder()
                    .correlationId("corr-cold-" + UUID.randomUUID()).build();
            par(store.insert(v1)).as(StepVerifier::create).verifyComplete();
            String h2 = hash();
            FlowRecord v2 = v1.toBuilder().version(2)
                    .waits(List.of(new WaitRecord(h2, "other", now.plusSeconds(60), WaitRecord.Status.PENDING)))
                    .build();
            sent.take();
            par(cold.compareAndSet(1, v2)).as(StepVerifier::create).expectNext(true).verifyComplete();
            assertThat(sent.take()).as("a compare-and-set dropping a hash it did not know")
                    .containsExactly("EVALSHA", "EVALSHA");
            assertThat(side.redis().exists(side.keyHash(h))).isZero();
            par(store.findByKeyHash(h2)).as(StepVerifier::create)
                    .assertNext(r -> assertThat(r.version()).isEqualTo(2)).verifyComplete();

            FlowRecord other = record("cold-" + UUID.randomUUID(), FlowStatus.SUSPENDED, now, hash()).toBuilder()
                    .correlationId(v1.correlationId()).build();
            par(cold.insert(other)).as(StepVerifier::create).verifyError(DuplicateRecordException.class);
            assertThat(sent.take()).as("an insert meeting a live holder").containsExactly("EVALSHA", "EVALSHA");
            assertThat(side.redis().exists(side.record(other.id()), side.keyHash(other.keyHashes().get(0))))
                    .isZero();

            RedisStore colder = RedisStore.builder(counted).keyPrefix(prefix).build();
            par(colder.provision()).as(StepVerifier::create).verifyComplete();
            sent.take();
            par(colder.delete(v1.id(), 2)).as(StepVerifier::create).expectNext(true).verifyComplete();
            assertThat(sent.take()).as("a delete of a record it never read").containsExactly("EVALSHA", "EVALSHA");
            assertThat(side.redis().exists(side.record(v1.id()), side.keyHash(h2),
                    side.correlation(v1.correlationId()))).isZero();
            par(colder.close()).as(StepVerifier::create).verifyComplete();
        } finally {
            par(cold.close()).as(StepVerifier::create).verifyComplete();
            counted.shutdown();
        }
    }

    @Test
    @DisplayName("redis: an unreachable server is StorageUnavailableException, and health reports it down")
    void unreachableServer() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        RedisClient dead = RedisClient.create(RedisURI.builder().withHost("127.0.0.1").withPort(port)
                .withTimeout(Duration.ofSeconds(2)).build());
        try {
            RedisStore unreachable = RedisStore.builder(dead).keyPrefix(prefix).build();
            unreachable.findById("00000000000000000000000000000000").subscribeOn(Schedulers.parallel())
                    .as(StepVerifier::create)
                    .verifyError(StorageUnavailableException.class);
            unreachable.health().subscribeOn(Schedulers.parallel()).as(StepVerifier::create)
                    .assertNext(h -> {
                        assertThat(h.up()).isFalse();
                        assertThat(h.details()).containsKey("error");
                    })
                    .verifyComplete();
            unreachable.close().as(StepVerifier::create).verifyComplete();
        } finally {
            dead.shutdown();
        }
    }
}
