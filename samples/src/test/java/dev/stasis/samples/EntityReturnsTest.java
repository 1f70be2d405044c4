package dev.stasis.samples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.QueryCriteria;
import dev.stasis.backend.filesystem.FilesystemStore;
import dev.stasis.spi.FlowRecord;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code entity-returns ORDER_ID}: one flow per order, however often and however concurrently it is started. */
class EntityReturnsTest {

    private static final String FLOW_ID = "start \\d+: flow ([0-9a-f]{32}) ";

    @TempDir
    Path tmp;

    @Test
    @DisplayName("starting twice, from two hubs one after the other, returns the same flow; another order another")
    void sequentialStarts() {
        String data = tmp.resolve("data").toString();
        Cli.Run first = Cli.run("entity-returns", "PO-1", "--data", data, "--dev-key").ok();
        assertThat(first.out()).contains("NEW flow, waiting for parcel-received; key for the warehouse: sk1_");
        Cli.Run second = Cli.run("entity-returns", "PO-1", "--data", data, "--dev-key").ok();
        assertThat(second.out()).contains("the EXISTING flow").doesNotContain("sk1_");
        assertThat(second.group(FLOW_ID)).isEqualTo(first.group(FLOW_ID));

        Cli.Run other = Cli.run("entity-returns", "PO-2", "--data", data, "--dev-key").ok();
        assertThat(other.group(FLOW_ID)).isNotEqualTo(first.group(FLOW_ID));

        assertThat(records(data, "return-PO-1")).singleElement().extracting(FlowRecord::id)
                .isEqualTo(first.group(FLOW_ID));
        assertThat(records(data, "return-PO-2")).hasSize(1);
        assertThat(FilesystemStore.builder(Path.of(data, "store")).build().query(QueryCriteria.builder().build())
                .count().block(Duration.ofSeconds(30))).as("records in the store").isEqualTo(2);
    }

    @Test
    @DisplayName("eight concurrent starts in one hub (--starts 8) get one flow; exactly one of them gets the key")
    void concurrentStartsInOneHub() {
        String data = tmp.resolve("data").toString();
        Cli.Run run = Cli.run("entity-returns", "PO-8", "--starts", "8", "--data", data, "--dev-key").ok();
        List<String> ids = Cli.all(run.out(), FLOW_ID);
        assertThat(ids).hasSize(8).containsOnly(ids.get(0));
        assertThat(Cli.all(run.out(), "(NEW flow)")).hasSize(1);
        assertThat(records(data, "return-PO-8")).singleElement().extracting(FlowRecord::id).isEqualTo(ids.get(0));
    }

    @Test
    @DisplayName("eight commands at once, each with its own hub and store instance on one directory: one flow")
    void concurrentStartsFromEightHubs() throws Exception {
        String data = tmp.resolve("data").toString();
        Cli.run("list", "--data", data, "--dev-key").ok(); // creates the store (and the dev key) once
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Cli.Run>> runs = IntStream.range(0, 8).mapToObj(i -> pool.submit((Callable<Cli.Run>) () -> {
                go.await();
                return Cli.run("entity-returns", "PO-77", "--data", data, "--dev-key");
            })).toList();
            go.countDown();
            List<String> ids = new java.util.ArrayList<>();
            int created = 0;
            for (Future<Cli.Run> f : runs) {
                Cli.Run r = f.get().ok();
                ids.add(r.group(FLOW_ID));
                created += r.out().contains("NEW flow") ? 1 : 0;
            }
            assertThat(ids).containsOnly(ids.get(0));
            assertThat(created).isEqualTo(1);
            assertThat(records(data, "return-PO-77")).singleElement().extracting(FlowRecord::id)
                    .isEqualTo(ids.get(0));
        } finally {
            pool.shutdownNow();
        }
    }

    private static List<FlowRecord> records(String data, String correlationId) {
        // straight from the store: the records, not what the command says about them
        List<FlowRecord> found = FilesystemStore.builder(Path.of(data, "store")).build()
                .query(QueryCriteria.builder().correlationId(correlationId).limit(QueryCriteria.MAX_LIMIT).build())
                .collectList().block(Duration.ofSeconds(30));
        assertThat(found).isNotNull();
        return found;
    }
}
