package dev.stasis.backend.filesystem;

import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import dev.stasis.StorageException;
import dev.stasis.StorageUnavailableException;
import dev.stasis.spi.DuplicateRecordException;
import dev.stasis.spi.FlowRecord;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * The store's blocking core: every method does file I/O on the calling thread. {@link FilesystemStore} runs them on
 * a scheduler for blocking work.
 *
 * <p><b>Writes</b> of a record (insert, compare-and-set, delete) hold the record's lock stripe ({@link StripeLocks})
 * for the whole read-compare-write, so they are atomic across threads and processes. <b>Reads</b> take no lock: a
 * record file is only ever replaced by an atomic rename, so a reader sees one complete version.
 *
 * <p><b>Index entries</b> ({@code keys/<hash>}, {@code corr/<sha256>}) name the flow that owns them. They are created
 * with "create if absent" semantics ({@link DurableFiles#createExclusive}) <em>before</em> the record that uses them is
 * written, and removed <em>after</em> the record stops using them. A reader follows an entry to the record and
 * accepts it only if the record really has that key hash (or correlation id), so an entry left over by a crash never
 * produces a wrong answer. Such a stale entry is reclaimed by the next insert that needs it: under the owner's lock
 * stripe (so the owner is not half-way through a write) it checks that the owner does not use the entry, deletes it
 * and creates its own.
 */
final class RecordFiles {

    /** Temp files older than this are left-overs of a crash; {@link #provision()} deletes them. */
    static final Duration TEMP_FILE_MAX_AGE = Duration.ofHours(1);

    private final Layout layout;
    private final DurableFiles files;
    private final Duration lockTimeout;
    private volatile @Nullable StripeLocks locks;

    RecordFiles(Path directory, boolean posix, Duration lockTimeout) {
        this.layout = new Layout(directory);
        this.files = new DurableFiles(posix);
        this.lockTimeout = lockTimeout;
    }

    // ------------------------------------------------------------------ provisioning

    /**
     * Creates the directory tree with owner-only permissions, the format marker, and (when the key or correlation
     * index directory was missing while records exist) rebuilds that index from the record headers. Idempotent and
     * safe when several threads or processes run it at once.
     */
    synchronized void provision() throws IOException {
        Path root = layout.root;
        boolean rootCreated = false;
        if (!Files.isDirectory(root)) {
            Path parent = root.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            rootCreated = files.ensureDirectory(root);
        }
        if (!Files.exists(layout.marker)) {
            if (!rootCreated && hasForeignEntries(root)) {
                throw new StorageException("filesystem store: " + root.toAbsolutePath() + " is not empty and is not a"
                        + " Stasis store (no " + Layout.MARKER + " file); choose a new or empty directory");
            }
            if (files.createExclusive(layout.marker, Layout.MARKER_CONTENT.getBytes(StandardCharsets.UTF_8))) {
                files.syncDirectory(root);
            }
        }
        String marker = Files.readString(layout.marker, StandardCharsets.UTF_8);
        if (!marker.equals(Layout.MARKER_CONTENT)) {
            throw new StorageException("filesystem store: " + layout.marker.toAbsolutePath() + " says '"
                    + marker.strip() + "'; this version reads only '" + Layout.MARKER_CONTENT.strip() + "'");
        }
        files.tighten(root, DurableFiles.OWNER_RWX);
        files.tighten(layout.marker, DurableFiles.OWNER_RW);
        boolean recordsCreated = files.ensureDirectory(layout.records);
        boolean keysCreated = files.ensureDirectory(layout.keys);
        boolean corrCreated = files.ensureDirectory(layout.corr);
        files.ensureDirectory(layout.locks);
        if (recordsCreated || keysCreated || corrCreated) {
            files.syncDirectory(root);
        }
        if (locks == null) {
            locks = StripeLocks.forDirectory(layout.locks.toRealPath(), files);
        }
        if (!recordsCreated && (keysCreated || corrCreated)) {
            rebuildIndexes();
        }
        deleteOldTempFiles(Instant.now().minus(TEMP_FILE_MAX_AGE));
    }

    /** Provisions once per instance, on the first call that needs the directory. */
    void ensureProvisioned() throws IOException {
        if (locks == null) {
            provision();
        }
    }

    /** Whether the store's directory tree is there (it is not when it was moved or its volume went away). */
    boolean isAvailable() {
        return Files.isDirectory(layout.records) && Files.isRegularFile(layout.marker);
    }

    /** A lookup that found nothing answers "absent" only if the store itself is there. */
    private <T> @Nullable T absentOrUnavailable(@Nullable T found) {
        if (found == null && !isAvailable()) {
            throw new StorageUnavailableException("filesystem store: the store directory " + layout.root
                    + " is not available (moved, deleted, or its volume is not mounted)");
        }
        return found;
    }

    /** Whether provisioning created everything (for health). */
    boolean isProvisioned() {
        return Files.isRegularFile(layout.marker) && Files.isDirectory(layout.records)
                && Files.isDirectory(layout.keys) && Files.isDirectory(layout.corr) && Files.isDirectory(layout.locks);
    }

    private StripeLocks locks() throws IOException {
        StripeLocks l = locks;
        if (l == null) {
            provision();
            l = Objects.requireNonNull(locks);
        }
        return l;
    }

    private static boolean hasForeignEntries(Path root) throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
            for (Path p : entries) {
                if (!Layout.isTemporary(p.getFileName().toString())) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Recreates missing key and correlation index entries from the record headers (reads no sealed state). Entries
     * that exist are left alone; stale ones are reclaimed as usual.
     *
     * @return how many entries were created
     */
    int rebuildIndexes() throws IOException {
        int created = 0;
        for (String id : listIds(null)) {
            StripeLocks.Lease lease = acquire(id);
            try {
                FlowRecord h = readHeaderIfExists(id);
                if (h == null) {
                    continue;
                }
                // a conflict (another live owner) is left alone: lookups verify against the record
                String corr = h.correlationId();
                if (corr != null && !Files.exists(layout.corrEntry(corr))
                        && claim(layout.corrEntry(corr), id, r -> corr.equals(r.correlationId()), new ArrayList<>())) {
                    created++;
                }
                for (String kh : h.keyHashes()) {
                    if (!Files.exists(layout.keyEntry(kh))
                            && claim(layout.keyEntry(kh), id, r -> r.keyHashes().contains(kh), new ArrayList<>())) {
                        created++;
                    }
                }
            } finally {
                lease.release();
            }
        }
        if (created > 0) {
            files.syncDirectory(layout.keys);
            files.syncDirectory(layout.corr);
        }
        return created;
    }

    private void deleteOldTempFiles(Instant olderThan) throws IOException {
        for (Path dir : List.of(layout.root, layout.records, layout.keys, layout.corr)) {
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir,
                    p -> Layout.isTemporary(p.getFileName().toString()))) {
                for (Path p : entries) {
                    try {
                        FileTime modified = Files.getLastModifiedTime(p);
                        if (modified.toInstant().isBefore(olderThan)) {
                            Files.deleteIfExists(p);
                        }
                    } catch (NoSuchFileException gone) {
                        // another process cleaned it up
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ reads

    @Nullable FlowRecord findById(String flowId) throws IOException {
        if (!Layout.isFlowId(flowId)) {
            return null;
        }
        Path file = layout.record(flowId);
        byte[] bytes = DurableFiles.readIfExists(file);
        return absentOrUnavailable(bytes == null ? null : RecordFormat.decode(bytes, flowId, file));
    }

    @Nullable FlowRecord findByKeyHash(String keyHash) throws IOException {
        if (!Layout.isKeyHash(keyHash)) {
            return null;
        }
        String owner = readEntry(layout.keyEntry(keyHash));
        if (owner == null) {
            return absentOrUnavailable(null);
        }
        FlowRecord r = findById(owner);
        return r != null && r.keyHashes().contains(keyHash) ? r : null;
    }

    @Nullable FlowRecord findByCorrelationId(String correlationId) throws IOException {
        String owner = readEntry(layout.corrEntry(correlationId));
        if (owner == null) {
            return absentOrUnavailable(null);
        }
        FlowRecord r = findById(owner);
        return r != null && correlationId.equals(r.correlationId()) ? r : null;
    }

    /** The plain fields of a record without its state, or {@code null} when it does not exist. */
    @Nullable FlowRecord readHeaderIfExists(String flowId) throws IOException {
        Path file = layout.record(flowId);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return RecordFormat.readHeader(ch, flowId, file);
        } catch (NoSuchFileException e) {
            return absentOrUnavailable(null);
        }
    }

    /** The flow id an index entry names; {@code null} when the entry is missing or does not hold a flow id. */
    private static @Nullable String readEntry(Path entry) throws IOException {
        byte[] bytes = DurableFiles.readIfExists(entry);
        if (bytes == null) {
            return null;
        }
        String id = new String(bytes, StandardCharsets.US_ASCII);
        return Layout.isFlowId(id) ? id : null;
    }

    /** The flow ids of all records, ascending, only those greater than {@code after} when it is given. */
    List<String> listIds(@Nullable String after) throws IOException {
        List<String> ids = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(layout.records)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                if (Layout.isTemporary(name) || !Layout.isFlowId(name)) {
                    continue;
                }
                if (after == null || name.compareTo(after) > 0) {
                    ids.add(name);
                }
            }
        }
        Collections.sort(ids);
        return ids;
    }

    // ------------------------------------------------------------------ writes

    void insert(FlowRecord record) throws IOException {
        String id = record.id();
        if (!Layout.isFlowId(id)) {
            throw new StorageException("filesystem store: flow id '" + id + "' cannot be a file name (use lowercase"
                    + " letters, digits, '_' and '-', at most 128 characters)");
        }
        Set<String> hashes = checkedHashes(record);
        StripeLocks.Lease lease = acquire(id);
        List<Path> claimed = new ArrayList<>();
        boolean committed = false;
        try {
            if (Files.exists(layout.record(id))) {
                throw new DuplicateRecordException("flow id already stored: " + id);
            }
            claimAll(record, hashes, record.correlationId(), claimed);
            syncIndexDirectories(claimed);
            files.replace(layout.record(id), RecordFormat.encode(record));
            files.syncDirectory(layout.records);
            committed = true;
        } finally {
            try {
                if (!committed) {
                    removeEntries(claimed, id);
                }
            } finally {
                lease.release();
            }
        }
    }

    boolean compareAndSet(long expectedVersion, FlowRecord next) throws IOException {
        String id = next.id();
        if (!Layout.isFlowId(id)) {
            return false;
        }
        Set<String> hashes = checkedHashes(next);
        // Lock-free early answer: a version that differs now makes the call fail now (versions only grow), and
        // losers of a race do not queue behind the winner's fsync.
        FlowRecord seen = readHeaderIfExists(id);
        if (seen == null || seen.version() != expectedVersion) {
            return false;
        }
        StripeLocks.Lease lease = acquire(id);
        List<Path> claimed = new ArrayList<>();
        boolean committed = false;
        try {
            FlowRecord current = readHeaderIfExists(id);
            if (current == null || current.version() != expectedVersion) {
                return false;
            }
            if (!Objects.equals(current.correlationId(), next.correlationId())) {
                throw new StorageException("filesystem store: compare-and-set must not change the correlation id of "
                        + id);
            }
            Set<String> added = new LinkedHashSet<>(hashes);
            added.removeAll(current.keyHashes());
            claimAll(next, added, null, claimed);
            syncIndexDirectories(claimed);
            files.replace(layout.record(id), RecordFormat.encode(next));
            files.syncDirectory(layout.records);
            committed = true;
            for (String dropped : current.keyHashes()) {
                if (!hashes.contains(dropped)) {
                    removeEntryIfOwned(layout.keyEntry(dropped), id);
                }
            }
            return true;
        } finally {
            try {
                if (!committed) {
                    removeEntries(claimed, id);
                }
            } finally {
                lease.release();
            }
        }
    }

    boolean delete(String flowId, long expectedVersion) throws IOException {
        if (!Layout.isFlowId(flowId)) {
            return false;
        }
        StripeLocks.Lease lease = acquire(flowId);
        try {
            FlowRecord current = readHeaderIfExists(flowId);
            if (current == null || current.version() != expectedVersion) {
                return false;
            }
            deleteLocked(current);
            return true;
        } finally {
            lease.release();
        }
    }

    /** Deletes a record whose stripe the caller holds: the record first (the commit point), then its entries. */
    private void deleteLocked(FlowRecord current) throws IOException {
        String id = current.id();
        Files.delete(layout.record(id));
        files.syncDirectory(layout.records);
        for (String h : current.keyHashes()) {
            removeEntryIfOwned(layout.keyEntry(h), id);
        }
        String corr = current.correlationId();
        if (corr != null) {
            removeEntryIfOwned(layout.corrEntry(corr), id);
        }
    }

    // ------------------------------------------------------------------ scans

    List<FlowRecord> query(QueryCriteria criteria) throws IOException {
        List<FlowRecord> out = new ArrayList<>();
        for (String id : candidates(criteria)) {
            FlowRecord header = readHeaderIfExists(id);
            if (header == null || !criteria.matches(header)) {
                continue;
            }
            FlowRecord full = findById(id);
            if (full != null && criteria.matches(full)) {
                out.add(full);
                if (out.size() >= criteria.limit()) {
                    break;
                }
            }
        }
        return out;
    }

    long deleteMatching(QueryCriteria criteria) throws IOException {
        long deleted = 0;
        for (String id : candidates(criteria)) {
            FlowRecord header = readHeaderIfExists(id);
            if (header == null || !criteria.matches(header)) {
                continue;
            }
            StripeLocks.Lease lease = acquire(id);
            try {
                FlowRecord current = readHeaderIfExists(id);
                if (current != null && criteria.matches(current)) {
                    deleteLocked(current);
                    deleted++;
                }
            } finally {
                lease.release();
            }
            if (deleted >= criteria.limit()) {
                break;
            }
        }
        return deleted;
    }

    List<FlowRecord> dueForTimeout(Instant now, int limit) throws IOException {
        return earliest(limit,
                h -> h.status() == FlowStatus.SUSPENDED && h.deadline() != null && !h.deadline().isAfter(now),
                FlowRecord::deadline);
    }

    List<FlowRecord> expiredLeases(Instant now, int limit) throws IOException {
        return earliest(limit,
                h -> h.status() == FlowStatus.RUNNING && h.leaseExpiresAt() != null
                        && !h.leaseExpiresAt().isAfter(now),
                FlowRecord::leaseExpiresAt);
    }

    /**
     * Scans every header (not the states), keeps the {@code limit} records that pass {@code filter} with the
     * earliest {@code time}, then reads those records whole and checks them again.
     */
    private List<FlowRecord> earliest(int limit, Predicate<FlowRecord> filter,
            Function<FlowRecord, @Nullable Instant> time) throws IOException {
        if (limit <= 0) {
            return List.of();
        }
        Comparator<FlowRecord> order = Comparator
                .comparing((FlowRecord r) -> Objects.requireNonNull(time.apply(r)))
                .thenComparing(FlowRecord::id);
        PriorityQueue<FlowRecord> best = new PriorityQueue<>(order.reversed());
        for (String id : listIds(null)) {
            FlowRecord h = readHeaderIfExists(id);
            if (h == null || !filter.test(h)) {
                continue;
            }
            best.add(h);
            if (best.size() > limit) {
                best.poll();
            }
        }
        List<FlowRecord> headers = new ArrayList<>(best);
        headers.sort(order);
        List<FlowRecord> out = new ArrayList<>(headers.size());
        for (FlowRecord h : headers) {
            FlowRecord full = findById(h.id());
            if (full != null && filter.test(full)) {
                out.add(full);
            }
        }
        out.sort(order);
        return out;
    }

    /** The ids a criteria can match: one through the correlation index, else all (after the cursor). */
    private List<String> candidates(QueryCriteria criteria) throws IOException {
        String corr = criteria.correlationId();
        if (corr != null) {
            FlowRecord r = findByCorrelationId(corr);
            return r == null ? List.of() : List.of(r.id());
        }
        return listIds(criteria.afterFlowId());
    }

    // ------------------------------------------------------------------ index entries

    private StripeLocks.Lease acquire(String flowId) throws IOException {
        try {
            return locks().acquire(StripeLocks.stripeOf(flowId), lockTimeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageUnavailableException("filesystem store: interrupted while waiting for a lock", e);
        }
    }

    private static Set<String> checkedHashes(FlowRecord record) {
        Set<String> hashes = new LinkedHashSet<>();
        for (String h : record.keyHashes()) {
            if (!Layout.isKeyHash(h)) {
                throw new StorageException("filesystem store: key hashes are 64 lowercase hex digits; record "
                        + record.id() + " has one that is not");
            }
            hashes.add(h);
        }
        return hashes;
    }

    /** Claims the correlation entry (if given) and then each key hash entry for {@code owner}. */
    private void claimAll(FlowRecord owner, Set<String> keyHashes, @Nullable String correlationId, List<Path> claimed)
            throws IOException {
        if (correlationId != null) {
            if (!claim(layout.corrEntry(correlationId), owner.id(), r -> correlationId.equals(r.correlationId()),
                    claimed)) {
                throw new DuplicateRecordException("correlation id already stored");
            }
        }
        for (String h : keyHashes) {
            if (!claim(layout.keyEntry(h), owner.id(), r -> r.keyHashes().contains(h), claimed)) {
                throw new DuplicateRecordException("key hash already stored");
            }
        }
    }

    /**
     * Makes {@code entry} name {@code flowId}. The caller holds {@code flowId}'s stripe.
     *
     * @param uses whether a record uses the entry (has the key hash, or the correlation id)
     * @return {@code false} when another live record owns the entry
     */
    private boolean claim(Path entry, String flowId, Predicate<FlowRecord> uses, List<Path> claimed)
            throws IOException {
        long deadline = System.nanoTime() + lockTimeout.toNanos();
        long pause = 100_000L;
        while (true) {
            if (files.createExclusive(entry, flowId.getBytes(StandardCharsets.US_ASCII))) {
                claimed.add(entry);
                return true;
            }
            String owner = readEntry(entry);
            if (owner == null) {
                if (Files.exists(entry)) {
                    throw new StorageException("filesystem store: index entry " + entry + " does not name a flow;"
                            + " it is damaged. Remove it (the store rebuilds lookups from the records)");
                }
                continue;
            }
            if (owner.equals(flowId)) {
                claimed.add(entry);
                return true;
            }
            FlowRecord ownerRecord = readHeaderIfExists(owner);
            if (ownerRecord != null && uses.test(ownerRecord)) {
                return false;
            }
            // Stale, or the owner is being written right now (it holds its stripe until its record is written).
            StripeLocks.Lease ownerLease = locks().tryAcquire(StripeLocks.stripeOf(owner));
            if (ownerLease != null) {
                try {
                    if (owner.equals(readEntry(entry))) {
                        ownerRecord = readHeaderIfExists(owner);
                        if (ownerRecord != null && uses.test(ownerRecord)) {
                            return false;
                        }
                        Files.deleteIfExists(entry);
                    }
                } finally {
                    ownerLease.release();
                }
                continue;
            }
            if (System.nanoTime() > deadline) {
                throw new StorageUnavailableException("filesystem store: an index entry is held by flow " + owner
                        + ", which has been busy for more than " + lockTimeout + "; retry");
            }
            LockSupport.parkNanos(pause);
            pause = Math.min(pause * 2, 10_000_000L);
        }
    }

    private void syncIndexDirectories(List<Path> claimed) throws IOException {
        Set<Path> dirs = new LinkedHashSet<>();
        for (Path p : claimed) {
            dirs.add(Objects.requireNonNull(p.getParent()));
        }
        for (Path d : dirs) {
            files.syncDirectory(d);
        }
    }

    private static void removeEntries(List<Path> entries, String flowId) throws IOException {
        for (Path e : entries) {
            removeEntryIfOwned(e, flowId);
        }
    }

    /** Deletes an index entry if it names {@code flowId}; the caller holds that flow's stripe. */
    private static void removeEntryIfOwned(Path entry, String flowId) throws IOException {
        if (flowId.equals(readEntry(entry))) {
            Files.deleteIfExists(entry);
        }
    }
}
