package dev.stasis.backend.filesystem;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import dev.stasis.StorageException;
import dev.stasis.StorageUnavailableException;
import dev.stasis.spi.DuplicateRecordException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

class FilesystemStoreTest {

    private static final Duration T = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    private Path dir;
    private FilesystemStore store;

    @BeforeEach
    void setUp() {
        dir = tmp.resolve("store");
        store = FilesystemStore.builder(dir).build();
        store.provision().block(T);
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    private void insert(FlowRecord r) {
        store.insert(r).as(StepVerifier::create).verifyComplete();
    }

    private Path recordFile(String id) {
        return dir.resolve("records").resolve(id);
    }

    @Test
    @DisplayName("provision creates owner-only directories (0700) and files (0600), and the first call provisions")
    void ownerOnlyPermissions() throws IOException {
        FilesystemStore lazy = FilesystemStore.builder(tmp.resolve("lazy/nested")).build();
        FlowRecord r = Records.suspended("perm", Records.hash()).toBuilder().correlationId("c-1").build();
        lazy.insert(r).as(StepVerifier::create).verifyComplete();
        Path root = tmp.resolve("lazy/nested");
        List<Path> all;
        try (Stream<Path> s = Files.walk(root)) {
            all = s.toList();
        }
        assertThat(all).hasSizeGreaterThan(8);
        for (Path p : all) {
            assertThat(mode(p)).as(p.toString()).isEqualTo(Files.isDirectory(p) ? "rwx------" : "rw-------");
        }
        assertThat(all).noneMatch(p -> p.getFileName().toString().startsWith("."));
    }

    @Test
    @DisplayName("an existing store directory with loose permissions is tightened to 0700")
    void tightensExistingStore() throws IOException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(dir.resolve("records"), PosixFilePermissions.fromString("rwxrwxrwx"));
        FilesystemStore.builder(dir).build().provision().as(StepVerifier::create).verifyComplete();
        assertThat(mode(dir)).isEqualTo("rwx------");
        assertThat(mode(dir.resolve("records"))).isEqualTo("rwx------");
    }

    @Test
    @DisplayName("provision refuses a non-empty directory that is not a store, and touches nothing in it")
    void refusesForeignDirectory() throws IOException {
        Path foreign = Files.createDirectories(tmp.resolve("home"));
        Files.writeString(foreign.resolve("notes.txt"), "mine");
        Files.setPosixFilePermissions(foreign, PosixFilePermissions.fromString("rwxr-xr-x"));
        FilesystemStore.builder(foreign).build().provision().as(StepVerifier::create)
                .verifyErrorSatisfies(e -> assertThat(e).isExactlyInstanceOf(StorageException.class)
                        .hasMessageContaining("not a Stasis store"));
        try (Stream<Path> s = Files.list(foreign)) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("notes.txt");
        }
        assertThat(mode(foreign)).isEqualTo("rwxr-xr-x");
    }

    @Test
    @DisplayName("provision refuses a store of an unknown format")
    void refusesUnknownFormat() throws IOException {
        Files.writeString(dir.resolve("stasis-store"), "stasis-filesystem-store format=9\n");
        FilesystemStore.builder(dir).build().provision().as(StepVerifier::create)
                .verifyErrorSatisfies(e -> assertThat(e).isInstanceOf(StorageException.class)
                        .hasMessageContaining("format=9"));
    }

    @Test
    @DisplayName("temp files (a crashed write) are ignored by reads and scans, and old ones are removed")
    void tempFilesIgnored() throws IOException {
        FlowRecord r = Records.suspended("temp", Records.hash());
        insert(r);
        Path leftover = dir.resolve("records").resolve("." + r.id() + ".abc.tmp");
        Files.write(leftover, Arrays.copyOf(RecordFormat.encode(r), 20));
        Path old = dir.resolve("keys").resolve(".x.tmp");
        Files.write(old, new byte[] {1});
        Files.setLastModifiedTime(old, java.nio.file.attribute.FileTime.from(Instant.now().minus(Duration.ofHours(2))));
        store.query(QueryCriteria.builder().flowName("temp").build()).map(FlowRecord::id).as(StepVerifier::create)
                .expectNext(r.id()).verifyComplete();
        store.findById(r.id()).as(StepVerifier::create).expectNextCount(1).verifyComplete();
        store.provision().block(T);
        assertThat(old).doesNotExist();
        assertThat(leftover).exists();
    }

    @Test
    @DisplayName("a torn or garbled record file is a StorageException for reads and scans, never a record")
    void tornRecord() throws IOException {
        String h = Records.hash();
        FlowRecord r = Records.suspended("torn", h);
        insert(r);
        byte[] file = Files.readAllBytes(recordFile(r.id()));
        Files.write(recordFile(r.id()), Arrays.copyOf(file, file.length - 3));
        store.findById(r.id()).as(StepVerifier::create).verifyErrorSatisfies(e ->
                assertThat(e).isExactlyInstanceOf(StorageException.class).hasMessageContaining("corrupt"));
        store.findByKeyHash(h).as(StepVerifier::create).verifyError(StorageException.class);
        store.query(QueryCriteria.builder().flowName("torn").build()).as(StepVerifier::create)
                .verifyError(StorageException.class);
        store.dueForTimeout(Instant.now().plusSeconds(3600), 10).as(StepVerifier::create)
                .verifyError(StorageException.class);
        store.compareAndSet(1, r.toBuilder().version(2).build()).as(StepVerifier::create)
                .verifyError(StorageException.class);
        Files.write(recordFile(r.id()), "garbage".getBytes(StandardCharsets.US_ASCII));
        store.findById(r.id()).as(StepVerifier::create).verifyError(StorageException.class);
    }

    @Test
    @DisplayName("scans read only headers: a record with a damaged state is not read unless it is returned")
    void scansReadOnlyHeaders() throws IOException {
        FlowRecord damaged = Records.suspended("scan-a", Records.hash());
        FlowRecord fine = Records.suspended("scan-b", Records.hash()).toBuilder().status(FlowStatus.COMPLETED)
                .deadline(null).retainUntil(Records.now().minusSeconds(1)).build();
        insert(damaged);
        insert(fine);
        byte[] file = Files.readAllBytes(recordFile(damaged.id()));
        file[file.length - 10] ^= 0x55; // inside the state: only a whole-file read notices
        Files.write(recordFile(damaged.id()), file);
        store.query(QueryCriteria.builder().flowName("scan-b").build()).map(FlowRecord::id).as(StepVerifier::create)
                .expectNext(fine.id()).verifyComplete();
        store.expiredLeases(Instant.now().plusSeconds(3600), 10).as(StepVerifier::create).verifyComplete();
        store.deleteMatching(QueryCriteria.builder().status(FlowStatus.COMPLETED).retainedBefore(Instant.now())
                .build()).as(StepVerifier::create).expectNext(1L).verifyComplete();
        store.query(QueryCriteria.builder().flowName("scan-a").build()).as(StepVerifier::create)
                .verifyError(StorageException.class);
    }

    @Test
    @DisplayName("a key index entry left by a crash never answers a lookup, and a new insert reclaims it")
    void staleKeyEntry() throws IOException {
        String h = Records.hash();
        FlowRecord ghost = Records.suspended("stale", h);
        // crash in the middle of an insert: the entry was created, the record never written
        Files.writeString(dir.resolve("keys").resolve(h), ghost.id());
        store.findByKeyHash(h).as(StepVerifier::create).verifyComplete();
        store.findById(ghost.id()).as(StepVerifier::create).verifyComplete();
        FlowRecord real = Records.suspended("stale", h);
        insert(real);
        store.findByKeyHash(h).map(FlowRecord::id).as(StepVerifier::create).expectNext(real.id()).verifyComplete();
        assertThat(Files.readString(dir.resolve("keys").resolve(h))).isEqualTo(real.id());
    }

    @Test
    @DisplayName("an entry that points to a live record that no longer has the hash answers nothing")
    void entryOfDroppedHash() throws IOException {
        String old = Records.hash();
        String fresh = Records.hash();
        FlowRecord r = Records.suspended("dropped", old);
        insert(r);
        FlowRecord next = r.toBuilder().version(2)
                .waits(List.of(new WaitRecord(fresh, "w", null, WaitRecord.Status.PENDING))).build();
        store.compareAndSet(1, next).as(StepVerifier::create).expectNext(true).verifyComplete();
        // crash between the record write and the removal of the dropped entry
        Files.writeString(dir.resolve("keys").resolve(old), r.id());
        store.findByKeyHash(old).as(StepVerifier::create).verifyComplete();
        store.findByKeyHash(fresh).map(FlowRecord::version).as(StepVerifier::create).expectNext(2L).verifyComplete();
        // another record may take the stale hash
        insert(Records.suspended("dropped", old));
    }

    @Test
    @DisplayName("a correlation entry of a deleted or never-written record frees the correlation id")
    void staleCorrelationEntry() throws IOException {
        FlowRecord a = Records.suspended("corr", Records.hash()).toBuilder().correlationId("order-1").build();
        Files.writeString(dir.resolve("corr").resolve(Layout.sha256("order-1")), a.id());
        store.findByCorrelationId("order-1").as(StepVerifier::create).verifyComplete();
        insert(a);
        FlowRecord b = Records.suspended("corr", Records.hash()).toBuilder().correlationId("order-1").build();
        store.insert(b).as(StepVerifier::create).verifyError(DuplicateRecordException.class);
        assertThat(Files.exists(recordFile(b.id()))).isFalse();
        assertThat(Files.exists(dir.resolve("keys").resolve(b.keyHashes().get(0)))).isFalse();
        store.findByCorrelationId("order-1").map(FlowRecord::id).as(StepVerifier::create).expectNext(a.id())
                .verifyComplete();
    }

    @Test
    @DisplayName("a missing key or correlation index is rebuilt from the record headers on provision")
    void rebuildsIndexes() throws IOException {
        String h = Records.hash();
        FlowRecord r = Records.suspended("rebuild", h).toBuilder().correlationId("rebuild-1").build();
        insert(r);
        RawFiles.deleteTree(dir.resolve("keys"));
        RawFiles.deleteTree(dir.resolve("corr"));
        FilesystemStore again = FilesystemStore.builder(dir).build();
        again.provision().as(StepVerifier::create).verifyComplete();
        again.findByKeyHash(h).map(FlowRecord::id).as(StepVerifier::create).expectNext(r.id()).verifyComplete();
        again.findByCorrelationId("rebuild-1").map(FlowRecord::id).as(StepVerifier::create).expectNext(r.id())
                .verifyComplete();
    }

    @Test
    @DisplayName("two store instances in one JVM on one directory share the locks: one winner per version")
    void twoInstancesOneWinner() throws IOException {
        // another path to the same directory: the lock table is keyed by the real path
        FilesystemStore other = FilesystemStore.builder(Files.createSymbolicLink(tmp.resolve("link"), dir)).build();
        FlowRecord r = Records.suspended("two", Records.hash());
        insert(r);
        for (long v = 1; v <= 5; v++) {
            long version = v;
            List<Boolean> outcomes = Flux.range(0, 16)
                    .flatMap(i -> (i % 2 == 0 ? store : other).compareAndSet(version,
                            r.toBuilder().version(version + 1).leaseOwner("c" + i).build()), 16)
                    .collectList().block(T);
            assertThat(outcomes).hasSize(16);
            assertThat(outcomes.stream().filter(b -> b).count()).isEqualTo(1);
        }
        store.findById(r.id()).map(FlowRecord::version).as(StepVerifier::create).expectNext(6L).verifyComplete();
    }

    @Test
    @DisplayName("file I/O runs on the configured scheduler, not on the caller's thread")
    void runsOnScheduler() {
        Scheduler io = Schedulers.newBoundedElastic(4, 100, "fs-io");
        try {
            FilesystemStore s = FilesystemStore.builder(dir).scheduler(io).build();
            FlowRecord r = Records.suspended("sched", Records.hash());
            s.insert(r).block(T);
            s.findById(r.id()).map(x -> Thread.currentThread().getName()).as(StepVerifier::create)
                    .assertNext(name -> assertThat(name).startsWith("fs-io"))
                    .verifyComplete();
        } finally {
            io.dispose();
        }
    }

    @Test
    @DisplayName("while the store directory is gone (an unmounted volume) calls are retryable, not \"not found\"")
    void directoryGoneIsAnOutage() throws IOException {
        String h = Records.hash();
        FlowRecord r = Records.suspended("gone", h);
        insert(r);
        Path away = tmp.resolve("away");
        Files.move(dir, away);
        store.findByKeyHash(h).as(StepVerifier::create).verifyError(StorageUnavailableException.class);
        store.findById(r.id()).as(StepVerifier::create).verifyError(StorageUnavailableException.class);
        store.findByCorrelationId("none").as(StepVerifier::create).verifyError(StorageUnavailableException.class);
        store.query(QueryCriteria.builder().build()).as(StepVerifier::create)
                .verifyError(StorageUnavailableException.class);
        store.insert(Records.suspended("gone", Records.hash())).as(StepVerifier::create)
                .verifyError(StorageUnavailableException.class);
        store.compareAndSet(1, r.toBuilder().version(2).build()).as(StepVerifier::create)
                .verifyError(StorageUnavailableException.class);
        Files.move(away, dir);
        store.findByKeyHash(h).map(FlowRecord::id).as(StepVerifier::create).expectNext(r.id()).verifyComplete();
        store.findByKeyHash(Records.hash()).as(StepVerifier::create).verifyComplete();
    }

    @Test
    @DisplayName("invalid ids and hashes are never used as file names")
    void invalidNames() {
        store.findById("../../etc/passwd").as(StepVerifier::create).verifyComplete();
        store.findByKeyHash("../x").as(StepVerifier::create).verifyComplete();
        store.delete("../x", 1).as(StepVerifier::create).expectNext(false).verifyComplete();
        FlowRecord bad = Records.suspended("bad", Records.hash()).toBuilder().id("../escape").build();
        store.insert(bad).as(StepVerifier::create).verifyError(StorageException.class);
        FlowRecord badHash = Records.suspended("bad", "NOT-A-HASH".repeat(7));
        store.insert(badHash).as(StepVerifier::create).verifyError(StorageException.class);
        assertThat(tmp.resolve("escape")).doesNotExist();
    }

    @Test
    @DisplayName("health reports the directory up and provisioned, and down when it is gone")
    void health() throws IOException {
        store.health().as(StepVerifier::create).assertNext(h -> {
            assertThat(h.up()).isTrue();
            assertThat(h.provisioned()).isTrue();
            assertThat(h.store()).isEqualTo("filesystem");
            assertThat(h.details()).containsEntry("directory", dir.toAbsolutePath().toString());
        }).verifyComplete();
        FilesystemStore.builder(tmp.resolve("missing")).build().health().as(StepVerifier::create)
                .assertNext(h -> assertThat(h.up()).isFalse()).verifyComplete();
    }

    @Test
    @DisplayName("many concurrent inserts with one correlation id: exactly one is stored")
    void concurrentCorrelation() {
        List<FlowRecord> candidates = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            candidates.add(Records.suspended("cc", Records.hash()).toBuilder().correlationId("same").build());
        }
        List<String> outcomes = Flux.fromIterable(candidates)
                .flatMap(r -> store.insert(r).thenReturn("ok")
                        .onErrorResume(DuplicateRecordException.class, e -> reactor.core.publisher.Mono.just("dup")), 12)
                .collectList().block(T);
        assertThat(outcomes).containsOnly("ok", "dup");
        assertThat(outcomes.stream().filter("ok"::equals).count()).isEqualTo(1);
        store.query(QueryCriteria.builder().flowName("cc").build()).as(StepVerifier::create).expectNextCount(1)
                .verifyComplete();
        store.query(QueryCriteria.builder().correlationId("same").metadata("tenant", "t1").build())
                .as(StepVerifier::create).expectNextCount(1).verifyComplete();
    }

    @Test
    @DisplayName("metadata and ids are plain, the state is stored as given (the store never decrypts)")
    void plainFields() throws IOException {
        FlowRecord r = Records.suspended("plain", Records.hash()).toBuilder()
                .metadata(Map.of("department", "finance")).build();
        insert(r);
        assertThat(RawFiles.state(dir, r.id())).isEqualTo(r.state());
        assertThat(RawFiles.dump(dir, r.id())).contains("finance").contains(r.keyHashes().get(0));
    }
}
