package dev.stasis.backend.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.FlowStatus;
import dev.stasis.security.ResumeKeys;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * The contract suite against a 3-master Redis Cluster that {@link LocalRedisCluster} starts from the Debian binaries
 * on free ports.
 */
@ExtendWith(LocalRedisCluster.class)
class RedisClusterStoreIT extends RedisStoreContractBase {

    private RedisClusterClient client;
    private StatefulRedisClusterConnection<String, byte[]> sideConnection;

    private RedisClusterClient client() {
        if (client == null) {
            client = RedisClusterClient.create(LocalRedisCluster.seeds());
        }
        return client;
    }

    @Override
    protected RedisStore.Builder storeBuilder() {
        return RedisStore.builder(client());
    }

    @Override
    protected RedisClusterCommands<String, byte[]> sideChannelCommands() {
        sideConnection = client().connect(RedisConnector.CODEC);
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
    @DisplayName("cluster: records spread over the masters; a flow's keys share a slot; the indexes share another")
    void recordsSpreadOverNodes() {
        Set<String> nodes = new HashSet<>();
        for (int i = 0; i < 30; i++) {
            Instant now = Instant.ofEpochMilli(System.currentTimeMillis());
            FlowRecord r = FlowRecord.builder()
                    .id(dev.stasis.internal.FlowIds.next(now)).flowName("spread-" + UUID.randomUUID()).flowVersion(1)
                    .status(FlowStatus.SUSPENDED).version(1).createdAt(now).updatedAt(now)
                    .waits(List.of(new WaitRecord(ResumeKeys.hash(ResumeKeys.generate()), "a", null,
                            WaitRecord.Status.PENDING)))
                    .metadata(Map.of()).state(new byte[] {1, 2, 3})
                    .build();
            store.insert(r).subscribeOn(Schedulers.parallel()).block();
            String key = side.record(r.id());
            assertThat(SlotHash.getSlot(key)).isEqualTo(SlotHash.getSlot(r.id()));
            nodes.add(client.getPartitions().getPartitionBySlot(SlotHash.getSlot(key)).getNodeId());
            store.findById(r.id()).subscribeOn(Schedulers.parallel()).as(StepVerifier::create)
                    .assertNext(found -> assertThat(found.state()).containsExactly(1, 2, 3))
                    .verifyComplete();
        }
        assertThat(nodes).hasSizeGreaterThanOrEqualTo(2);
        int indexSlot = SlotHash.getSlot(side.index("ids"));
        assertThat(Flux.just("deadlines", "leases", "retain", "ver", "names", "status:SUSPENDED", "name:x")
                .map(n -> SlotHash.getSlot(side.index(n))).collectList().block()).containsOnly(indexSlot);
    }

    @Test
    @DisplayName("cluster: health names the mode and the three nodes")
    void clusterHealth() {
        store.health().subscribeOn(Schedulers.parallel()).as(StepVerifier::create)
                .assertNext(h -> assertThat(h.details())
                        .containsEntry("mode", "cluster")
                        .containsEntry("clusterNodes", "3"))
                .verifyComplete();
    }
}
