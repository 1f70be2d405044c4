package dev.stasis.backend.filesystem;

import dev.stasis.QueryCriteria;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.StateStore;
import dev.stasis.spi.StoreHealth;
import dev.stasis.security.KeyRing;
import dev.stasis.security.KeyRingException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * The embedded default store: every flow record in one local directory, no server.
 *
 * <pre>{@code
 * FilesystemStore store = FilesystemStore.builder(Path.of("/var/lib/myapp/stasis")).build();
 * PersistenceHub hub = PersistenceHub.builder(store, KeyRing.fromEnvironment()).register(purchase).build();
 * }</pre>
 *
 * <p><b>What it guarantees</b> (the same contract suite as the database stores proves it):
 * <ul>
 *   <li><b>Owner-only files.</b> {@link #provision()} creates the directory tree with mode {@code 0700} and every
 *       file with {@code 0600} (on POSIX file systems). It refuses a non-empty directory that is not a store.</li>
 *   <li><b>Durable, atomic writes.</b> A record is written to a temp file in the same directory, {@code fsync}ed,
 *       renamed over the old one with {@code ATOMIC_MOVE}, and the directory is {@code fsync}ed. Once a call
 *       completes its change survives a crash; a crash before leaves the old version. Each file carries CRC32C
 *       checksums: a damaged file is reported as a {@link dev.stasis.StorageException}, never read as a record.</li>
 *   <li><b>Atomic compare-and-set across threads and processes.</b> Insert, compare-and-set and delete hold the
 *       record's lock stripe (an in-JVM lock plus an OS file lock) around read-version, compare and write, so
 *       several hubs in several JVMs on one host can share a directory; exactly one resume of a key wins.</li>
 *   <li><b>Lookups by index files.</b> {@code keys/<keyHash>} and {@code corr/<sha256(correlationId)>} name the
 *       flow; they are created exclusively (so duplicates are detected) before the record uses them and removed after,
 *       and every lookup checks the record really holds the key hash, so a crash between two writes never gives a
 *       wrong answer.</li>
 *   <li><b>Scans without the sealed state.</b> Each record file starts with a small header holding the plain index
 *       fields; {@link #query}, {@link #deleteMatching}, {@link #dueForTimeout} and {@link #expiredLeases} read only
 *       the headers (one small read per record: O(n) in the number of stored records), then read whole only the
 *       records they return.</li>
 *   <li><b>Never blocks the caller.</b> All file I/O runs on {@link Builder#scheduler(Scheduler)}
 *       ({@link Schedulers#boundedElastic()} by default).</li>
 * </ul>
 *
 * <p><b>Limits.</b> One host: file locks do not work reliably on network file systems, so do not share the directory
 * over NFS/SMB. Scans are linear in the number of records (fine for thousands to a few hundred thousand; clean up
 * finished flows). Hard links are required (every local Linux, macOS and Windows file system has them).
 *
 * <p><b>Keys.</b> The store holds only sealed bytes; the hub needs a {@link KeyRing}. {@link #keyRing(Path, boolean)}
 * loads one from the environment and, only in an explicit development mode, creates a development key file beside
 * the store.
 */
public final class FilesystemStore implements StateStore {

    private final RecordFiles files;
    private final Scheduler scheduler;
    private final Path directory;

    private FilesystemStore(Builder b) {
        this.directory = b.directory.toAbsolutePath().normalize();
        this.scheduler = b.scheduler;
        this.files = new RecordFiles(directory,
                directory.getFileSystem().supportedFileAttributeViews().contains("posix"), b.lockTimeout);
    }

    /**
     * Starts a builder for a store in {@code directory}. The directory is created on {@link #provision()} (or on the
     * first call) if it does not exist; an existing directory must be empty or hold a store.
     *
     * @param directory the store's directory, e.g. {@code /var/lib/myapp/stasis}
     * @return a builder
     */
    public static Builder builder(Path directory) {
        return new Builder(directory);
    }

    /**
     * The store's directory (absolute).
     *
     * @return the directory
     */
    public Path directory() {
        return directory;
    }

    @Override
    public Mono<Void> provision() {
        return Mono.<Void>fromCallable(() -> {
                    files.provision();
                    return null;
                })
                .subscribeOn(scheduler)
                .onErrorMap(e -> Errors.map("provision", e));
    }

    @Override
    public Mono<Void> insert(FlowRecord record) {
        Objects.requireNonNull(record, "record");
        return io("insert", () -> {
            files.insert(record);
            return null;
        });
    }

    @Override
    public Mono<FlowRecord> findById(String flowId) {
        Objects.requireNonNull(flowId, "flowId");
        return io("findById", () -> files.findById(flowId));
    }

    @Override
    public Mono<FlowRecord> findByKeyHash(String keyHash) {
        Objects.requireNonNull(keyHash, "keyHash");
        return io("findByKeyHash", () -> files.findByKeyHash(keyHash));
    }

    @Override
    public Mono<FlowRecord> findByCorrelationId(String correlationId) {
        Objects.requireNonNull(correlationId, "correlationId");
        return io("findByCorrelationId", () -> files.findByCorrelationId(correlationId));
    }

    @Override
    public Mono<Boolean> compareAndSet(long expectedVersion, FlowRecord next) {
        Objects.requireNonNull(next, "next");
        return io("compareAndSet", () -> files.compareAndSet(expectedVersion, next));
    }

    @Override
    public Mono<Boolean> delete(String flowId, long expectedVersion) {
        Objects.requireNonNull(flowId, "flowId");
        return io("delete", () -> files.delete(flowId, expectedVersion));
    }

    @Override
    public Flux<FlowRecord> query(QueryCriteria criteria) {
        Objects.requireNonNull(criteria, "criteria");
        return io("query", () -> files.query(criteria)).flatMapIterable(l -> l);
    }

    @Override
    public Mono<Long> deleteMatching(QueryCriteria criteria) {
        Objects.requireNonNull(criteria, "criteria");
        return io("deleteMatching", () -> files.deleteMatching(criteria));
    }

    @Override
    public Flux<FlowRecord> dueForTimeout(Instant now, int limit) {
        Objects.requireNonNull(now, "now");
        return io("dueForTimeout", () -> files.dueForTimeout(now, limit)).flatMapIterable(l -> l);
    }

    @Override
    public Flux<FlowRecord> expiredLeases(Instant now, int limit) {
        Objects.requireNonNull(now, "now");
        return io("expiredLeases", () -> files.expiredLeases(now, limit)).flatMapIterable(l -> l);
    }

    /**
     * Reports whether the directory is there and writable, and whether it is provisioned. Never signals an error.
     *
     * @return the health, with the directory and format in the details
     */
    @Override
    public Mono<StoreHealth> health() {
        return Mono.fromCallable(() -> {
                    Map<String, String> details = new LinkedHashMap<>();
                    details.put("directory", directory.toString());
                    details.put("format", "1");
                    boolean up = Files.isDirectory(directory) && Files.isWritable(directory);
                    return new StoreHealth("filesystem", up, up && files.isProvisioned(), details);
                })
                .subscribeOn(scheduler)
                .onErrorResume(e -> Mono.just(new StoreHealth("filesystem", false, false,
                        Map.of("directory", directory.toString(), "error", e.toString()))));
    }

    /**
     * Nothing to release: the store keeps no files open between calls, and the scheduler belongs to the caller.
     *
     * @return an empty {@code Mono}
     */
    @Override
    public Mono<Void> close() {
        return Mono.empty();
    }

    @Override
    public String toString() {
        return "FilesystemStore[" + directory + "]";
    }

    private <T> Mono<T> io(String operation, Callable<@Nullable T> work) {
        return Mono.fromCallable(() -> {
                    files.ensureProvisioned();
                    return work.call();
                })
                .subscribeOn(scheduler)
                .onErrorMap(e -> Errors.map(operation, e, files::isAvailable));
    }

    // ------------------------------------------------------------------ keys

    /**
     * Where development mode keeps its key file: beside the store directory, never inside it (so that copying the
     * store alone does not copy the key), named {@code <directory name>.dev-key}. For {@code ./data/store} that is
     * {@code ./data/store.dev-key}.
     *
     * @param directory the store directory
     * @return the key file's path
     */
    public static Path developmentKeyFile(Path directory) {
        Path dir = directory.toAbsolutePath().normalize();
        Path name = dir.getFileName();
        if (name == null) {
            throw new KeyRingException("development mode needs a store directory with a name, not " + dir);
        }
        return dir.resolveSibling(name + ".dev-key");
    }

    /**
     * The key ring for a store in {@code directory}, from the process environment. Call it once at start-up: it may
     * read (and in development mode create) a key file.
     *
     * <ol>
     *   <li>When {@code STASIS_KEYS} or {@code STASIS_KEY_FILE} is set, the ring comes from there
     *       ({@link KeyRing#fromEnvironment()}), in either mode.</li>
     *   <li>Otherwise, in development mode only, the key file {@link #developmentKeyFile(Path)} is loaded, or created
     *       with one fresh key and permissions {@code 0600}; a warning saying so goes to standard error.</li>
     *   <li>Otherwise it fails closed with a {@link KeyRingException} that tells how to configure a key.</li>
     * </ol>
     *
     * @param directory the store directory
     * @param developmentMode {@code true} only for local experiments and demos, never in production
     * @return the key ring
     * @throws KeyRingException when no key is configured and development mode is off, or the configuration is invalid
     */
    public static KeyRing keyRing(Path directory, boolean developmentMode) {
        return keyRing(directory, developmentMode, System.getenv(), System.err);
    }

    /**
     * Like {@link #keyRing(Path, boolean)}, with the environment variables given (for applications that take their
     * configuration from elsewhere). The development-mode warning goes to standard error.
     *
     * @param directory the store directory
     * @param developmentMode {@code true} only for local experiments and demos
     * @param environment the variables to read {@code STASIS_KEYS}, {@code STASIS_KEY_FILE} and
     *     {@code STASIS_PRIMARY_KEY} from
     * @return the key ring
     * @throws KeyRingException when no key is configured and development mode is off, or the configuration is invalid
     */
    public static KeyRing keyRing(Path directory, boolean developmentMode, Map<String, String> environment) {
        return keyRing(directory, developmentMode, environment, System.err);
    }

    static KeyRing keyRing(Path directory, boolean developmentMode, Map<String, String> environment, PrintStream err) {
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(environment, "environment");
        if (isSet(environment.get(KeyRing.ENV_KEYS)) || isSet(environment.get(KeyRing.ENV_KEY_FILE))) {
            return KeyRing.fromEnvironment(environment);
        }
        if (!developmentMode) {
            String howTo;
            try {
                KeyRing.fromEnvironment(Map.of());
                howTo = "";
            } catch (KeyRingException e) {
                howTo = e.getMessage();
            }
            throw new KeyRingException(howTo + " For local experiments only, development mode"
                    + " (FilesystemStore.keyRing(directory, true)) creates a key file beside the store instead.");
        }
        Path keyFile = developmentKeyFile(directory);
        KeyRing.DevelopmentKey dev = KeyRing.loadOrCreateDevelopmentKeyFile(keyFile);
        err.println("[stasis] DEVELOPMENT MODE: " + (dev.created() ? "created" : "using")
                + " the development key file " + keyFile + " (owner-only, 0600). Records sealed with it open only"
                + " with this file. Never use development mode in production: set " + KeyRing.ENV_KEYS + " or "
                + KeyRing.ENV_KEY_FILE + ".");
        warnIfReadableByOthers(keyFile, err);
        return dev.keyRing();
    }

    private static void warnIfReadableByOthers(Path keyFile, PrintStream err) {
        if (!FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            return;
        }
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(keyFile);
            if (perms.contains(PosixFilePermission.GROUP_READ) || perms.contains(PosixFilePermission.OTHERS_READ)) {
                err.println("[stasis] WARNING: " + keyFile + " can be read by other users; chmod 600 it.");
            }
        } catch (java.io.IOException e) {
            err.println("[stasis] WARNING: cannot check the permissions of " + keyFile + ": " + e);
        }
    }

    private static boolean isSet(@Nullable String value) {
        return value != null && !value.isBlank();
    }

    // ------------------------------------------------------------------ builder

    /** Builds a {@link FilesystemStore}. */
    public static final class Builder {
        private final Path directory;
        private Scheduler scheduler = Schedulers.boundedElastic();
        private Duration lockTimeout = Duration.ofSeconds(30);

        private Builder(Path directory) {
            this.directory = Objects.requireNonNull(directory, "directory");
        }

        /**
         * Where the blocking file I/O runs. It must allow blocking (a bounded elastic scheduler, or one made from an
         * executor); never an event loop or {@link Schedulers#parallel()}.
         *
         * @param scheduler the scheduler; default {@link Schedulers#boundedElastic()}
         * @return this builder
         */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
            return this;
        }

        /**
         * How long a write waits for another thread of this JVM holding the same lock stripe, and how long an insert
         * waits for the owner of an index entry that is being written, before failing with a (retryable)
         * {@link dev.stasis.StorageUnavailableException}.
         *
         * @param timeout the timeout; default 30 seconds
         * @return this builder
         */
        public Builder lockTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("lockTimeout must be positive");
            }
            this.lockTimeout = timeout;
            return this;
        }

        /**
         * Builds the store. Does no I/O: the directory is created by {@link #provision()} or the first call.
         *
         * @return the store
         */
        public FilesystemStore build() {
            return new FilesystemStore(this);
        }
    }
}
