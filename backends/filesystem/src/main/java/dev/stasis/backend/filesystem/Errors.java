package dev.stasis.backend.filesystem;

import dev.stasis.StorageException;
import dev.stasis.StorageUnavailableException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileLockInterruptionException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.Locale;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;

/**
 * The one place where file-system errors become Stasis errors. Transient ({@link StorageUnavailableException}): a
 * full disk or quota, too many open files, a stale NFS handle, an interrupted or timed-out lock wait. Everything else
 * (permissions, a corrupt record) is a {@link StorageException}. A file missing because the whole store directory
 * went away (an unmounted volume) is transient too. Stasis errors pass through.
 */
final class Errors {

    private static final String[] TRANSIENT_REASONS = {
        "no space left on device", "disk quota exceeded", "too many open files", "stale file handle",
        "resource temporarily unavailable", "device or resource busy", "resource deadlock avoided"
    };

    private Errors() {}

    /**
     * Maps an error of the operation {@code operation}.
     *
     * @param operation what the store was doing ("insert", "query", …), for the message
     * @param error the error
     * @return the Stasis error (the same object when it already is one)
     */
    static Throwable map(String operation, Throwable error) {
        return map(operation, error, () -> true);
    }

    /**
     * Maps an error of the operation {@code operation}, knowing whether the store's directory is still there: when it
     * is not (moved away, deleted, its volume unmounted), a missing file is an outage of the store, not an answer.
     *
     * @param operation what the store was doing ("insert", "query", …), for the message
     * @param error the error
     * @param storeAvailable whether the store's directory tree is present
     * @return the Stasis error (the same object when it already is one)
     */
    static Throwable map(String operation, Throwable error, BooleanSupplier storeAvailable) {
        if (error instanceof StorageException || error instanceof Error) {
            return error;
        }
        Throwable cause = error;
        if (cause instanceof UncheckedIOException u) {
            cause = u.getCause();
        } else if (cause instanceof DirectoryIteratorException d) {
            cause = d.getCause();
        }
        if (cause instanceof NoSuchFileException && !storeAvailable.getAsBoolean()) {
            return new StorageUnavailableException("filesystem store: " + operation + " failed: the store directory"
                    + " is not available (moved, deleted, or its volume is not mounted)", cause);
        }
        if (isTransient(cause)) {
            return new StorageUnavailableException("filesystem store: " + operation + " failed: " + cause, cause);
        }
        return new StorageException("filesystem store: " + operation + " failed: " + cause, cause);
    }

    /** Whether an error may go away when the call is made again. */
    static boolean isTransient(Throwable e) {
        if (e instanceof InterruptedException || e instanceof InterruptedIOException
                || e instanceof ClosedByInterruptException || e instanceof FileLockInterruptionException) {
            return true;
        }
        if (e instanceof FileSystemException fse) {
            return hasTransientReason(fse.getReason());
        }
        return e instanceof IOException && hasTransientReason(e.getMessage());
    }

    private static boolean hasTransientReason(@Nullable String reason) {
        if (reason == null) {
            return false;
        }
        String r = reason.toLowerCase(Locale.ROOT);
        for (String t : TRANSIENT_REASONS) {
            if (r.contains(t)) {
                return true;
            }
        }
        return false;
    }

    /**
     * A record file that cannot be decoded. Never a valid record: the read fails and names the file.
     *
     * @param file the file
     * @param why what is wrong with it
     * @return the error
     */
    static StorageException corrupt(Object file, String why) {
        return new StorageException("filesystem store: record file " + file + " is corrupt (" + why
                + "); it was not written by a complete, atomic write of this store. Move it out of the store"
                + " directory to continue, and restore it from a backup if you have one");
    }
}
