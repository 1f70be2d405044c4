package dev.stasis.backend.filesystem;

import dev.stasis.StorageUnavailableException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * Per-record mutual exclusion across threads and processes: {@value #STRIPES} lock stripes, each an in-JVM
 * {@link ReentrantLock} plus an OS file lock ({@link FileChannel#lock()}) on {@code locks/<nn>.lock}. A record's
 * stripe follows from its flow id, so every writer of a record takes the same stripe.
 *
 * <p>Why both: a {@link FileLock} belongs to the whole JVM (a second {@code lock()} from another thread of the same JVM
 * throws {@link java.nio.channels.OverlappingFileLockException}), so threads first take the in-JVM lock and only the
 * holder touches the file lock. The in-JVM locks are shared by every store instance of this JVM on the same
 * directory (one table per real path). At most one channel per lock file is open in a JVM at a time (closing a
 * channel can drop every lock the process holds on that file, so channels are never shared or doubled).
 *
 * <p>Lock files are never deleted (deleting a lock file while another process waits on it breaks mutual exclusion),
 * which is why they are striped rather than one per record. The stripe count is part of the on-disk format.
 */
final class StripeLocks {

    static final int STRIPES = 256;

    private static final ConcurrentHashMap<Path, StripeLocks> BY_DIRECTORY = new ConcurrentHashMap<>();

    private final Path dir;
    private final DurableFiles files;
    private final ReentrantLock[] jvmLocks = new ReentrantLock[STRIPES];
    private final @Nullable FileChannel[] channels = new FileChannel[STRIPES];
    private final @Nullable FileLock[] fileLocks = new FileLock[STRIPES];

    private StripeLocks(Path dir, DurableFiles files) {
        this.dir = dir;
        this.files = files;
        for (int i = 0; i < STRIPES; i++) {
            jvmLocks[i] = new ReentrantLock();
        }
    }

    /**
     * The lock table of a locks directory, shared by every store of this JVM on it.
     *
     * @param realLocksDir the directory's real path ({@link Path#toRealPath})
     * @param files file operations
     * @return the table
     */
    static StripeLocks forDirectory(Path realLocksDir, DurableFiles files) {
        return BY_DIRECTORY.computeIfAbsent(realLocksDir, d -> new StripeLocks(d, files));
    }

    /** The stripe of a flow id (stable across JVMs: {@link String#hashCode()} is specified). */
    static int stripeOf(String flowId) {
        return Math.floorMod(flowId.hashCode(), STRIPES);
    }

    /**
     * Takes a stripe, waiting up to {@code timeout} for other threads of this JVM and then as long as needed for
     * other processes (a process that dies releases its file locks). Reentrant within a thread.
     *
     * @throws StorageUnavailableException when another thread held the stripe for longer than {@code timeout}
     */
    Lease acquire(int stripe, Duration timeout) throws IOException, InterruptedException {
        ReentrantLock jvm = jvmLocks[stripe];
        if (jvm.isHeldByCurrentThread()) {
            jvm.lock();
            return new Lease(stripe, false);
        }
        if (!jvm.tryLock(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
            throw new StorageUnavailableException("filesystem store: lock stripe " + stripe
                    + " was held by another thread for more than " + timeout);
        }
        try {
            FileChannel ch = open(stripe);
            try {
                fileLocks[stripe] = lockFile(ch, System.nanoTime() + timeout.toNanos());
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
            channels[stripe] = ch;
            return new Lease(stripe, true);
        } catch (IOException | RuntimeException e) {
            jvm.unlock();
            throw e;
        }
    }

    /**
     * Takes the OS lock, waiting for other processes. POSIX record locks belong to a process, not a thread, so the
     * kernel's deadlock detection sees a cycle when thread 1 of process A holds stripe x and waits for y while process
     * B holds y and one of its threads waits for x, although no thread waits for itself: {@code lock()} then fails
     * with EDEADLK ("Resource deadlock avoided"). That is a false alarm for us (every thread holds at most one stripe
     * while it waits), so we back off and try again.
     */
    private static FileLock lockFile(FileChannel ch, long deadlineNanos) throws IOException {
        FileLock quick = ch.tryLock();
        if (quick != null) {
            return quick;
        }
        long pause = 50_000L;
        while (true) {
            try {
                return ch.lock();
            } catch (IOException e) {
                if (!isDeadlockAvoided(e) || System.nanoTime() - deadlineNanos > 0) {
                    throw e;
                }
                LockSupport.parkNanos(pause + ThreadLocalRandom.current().nextLong(pause));
                pause = Math.min(pause * 2, 5_000_000L);
            }
        }
    }

    static boolean isDeadlockAvoided(IOException e) {
        String m = e.getMessage();
        return m != null && m.toLowerCase(Locale.ROOT).contains("deadlock");
    }

    /**
     * Takes a stripe only if nobody (in this JVM or another process) holds it now.
     *
     * @return the lease, or {@code null} when the stripe is busy
     */
    @Nullable Lease tryAcquire(int stripe) throws IOException {
        ReentrantLock jvm = jvmLocks[stripe];
        if (jvm.isHeldByCurrentThread()) {
            jvm.lock();
            return new Lease(stripe, false);
        }
        if (!jvm.tryLock()) {
            return null;
        }
        try {
            FileChannel ch = open(stripe);
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
            if (lock == null) {
                ch.close();
                jvm.unlock();
                return null;
            }
            fileLocks[stripe] = lock;
            channels[stripe] = ch;
            return new Lease(stripe, true);
        } catch (IOException | RuntimeException e) {
            jvm.unlock();
            throw e;
        }
    }

    private FileChannel open(int stripe) throws IOException {
        Path file = dir.resolve(String.format("%02x.lock", stripe));
        return FileChannel.open(file, EnumSet.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE),
                files.fileAttributes());
    }

    /** A held stripe. {@link #release()} it in a {@code finally} block. */
    final class Lease {
        private final int stripe;
        private final boolean outermost;

        private Lease(int stripe, boolean outermost) {
            this.stripe = stripe;
            this.outermost = outermost;
        }

        /** Releases the stripe (the file lock only when this is the thread's outermost lease on it). */
        void release() throws IOException {
            try {
                if (outermost) {
                    FileChannel ch = channels[stripe];
                    FileLock lock = fileLocks[stripe];
                    channels[stripe] = null;
                    fileLocks[stripe] = null;
                    try {
                        if (lock != null && lock.isValid()) {
                            lock.release();
                        }
                    } finally {
                        if (ch != null) {
                            ch.close();
                        }
                    }
                }
            } finally {
                jvmLocks[stripe].unlock();
            }
        }
    }
}
