package dev.stasis.backend.filesystem;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/**
 * Durable file operations. All of them block: call them on a scheduler meant for blocking work.
 *
 * <ul>
 *   <li>{@link #replace}: write a temp file in the target's directory with owner-only permissions, {@code fsync} it,
 *       rename it over the target atomically ({@code ATOMIC_MOVE}). A reader sees the old file or the new one, never
 *       a mix; a crash leaves at most a temp file that readers ignore.</li>
 *   <li>{@link #createExclusive}: the same, but the final step is a hard link that fails when the target exists, so
 *       the file appears with its whole content and exactly one of several concurrent creators wins.</li>
 *   <li>{@link #syncDirectory}: {@code fsync} a directory, so that renames, links and deletions in it survive a
 *       crash. Callers do it once after a batch of changes.</li>
 * </ul>
 */
final class DurableFiles {

    static final Set<PosixFilePermission> OWNER_RW = PosixFilePermissions.fromString("rw-------");
    static final Set<PosixFilePermission> OWNER_RWX = PosixFilePermissions.fromString("rwx------");

    private final boolean posix;

    DurableFiles(boolean posix) {
        this.posix = posix;
    }

    FileAttribute<?>[] fileAttributes() {
        return posix ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_RW)}
                : new FileAttribute<?>[0];
    }

    FileAttribute<?>[] directoryAttributes() {
        return posix ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_RWX)}
                : new FileAttribute<?>[0];
    }

    /**
     * Replaces (or creates) {@code target} with {@code content} atomically and durably, except for the directory
     * entry: call {@link #syncDirectory} on its directory afterwards.
     */
    void replace(Path target, byte[] content) throws IOException {
        Path temp = writeTemp(target, content);
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(temp, e);
            throw e;
        }
    }

    /**
     * Creates {@code target} holding {@code content}, unless it exists. The file appears complete (a hard link to a
     * finished, synced temp file). Call {@link #syncDirectory} on its directory afterwards.
     *
     * @return {@code true} when created; {@code false} when the target already existed
     */
    boolean createExclusive(Path target, byte[] content) throws IOException {
        Path temp = writeTemp(target, content);
        try {
            Files.createLink(target, temp);
            return true;
        } catch (FileAlreadyExistsException e) {
            return false;
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** Flushes a directory's entries to disk. A no-op where directories cannot be opened (Windows). */
    void syncDirectory(Path dir) throws IOException {
        if (!posix) {
            return;
        }
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** Reads a whole file, or returns {@code null} when it does not exist. */
    static byte @Nullable [] readIfExists(Path file) throws IOException {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** Creates a directory with owner-only permissions if it is missing, and tightens them if it exists. */
    boolean ensureDirectory(Path dir) throws IOException {
        boolean created = false;
        if (!Files.isDirectory(dir)) {
            try {
                Files.createDirectory(dir, directoryAttributes());
                created = true;
            } catch (FileAlreadyExistsException e) {
                if (!Files.isDirectory(dir)) {
                    throw e;
                }
            }
        }
        tighten(dir, OWNER_RWX);
        return created;
    }

    /** Removes group and other permissions from a file or directory this store owns. */
    void tighten(Path path, Set<PosixFilePermission> wanted) throws IOException {
        if (!posix) {
            return;
        }
        Set<PosixFilePermission> current = Files.getPosixFilePermissions(path);
        if (!current.equals(wanted)) {
            try {
                Files.setPosixFilePermissions(path, EnumSet.copyOf(wanted));
            } catch (AccessDeniedException e) {
                throw new AccessDeniedException(path.toString(), null,
                        "cannot make it owner-only (" + PosixFilePermissions.toString(wanted) + "); it is "
                                + PosixFilePermissions.toString(current) + " and owned by another user?");
            }
        }
    }

    private Path writeTemp(Path target, byte[] content) throws IOException {
        Path temp = target.resolveSibling("." + target.getFileName() + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        try (FileChannel ch = FileChannel.open(temp,
                EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), fileAttributes())) {
            ByteBuffer b = ByteBuffer.wrap(content);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(temp, e);
            throw e;
        }
        return temp;
    }

    private static void deleteQuietly(Path temp, Throwable primary) {
        try {
            Files.deleteIfExists(temp);
        } catch (IOException suppressed) {
            primary.addSuppressed(suppressed);
        }
    }
}
