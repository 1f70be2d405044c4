package dev.stasis.backend.filesystem;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.StorageException;
import dev.stasis.StorageUnavailableException;
import dev.stasis.spi.DuplicateRecordException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ErrorsTest {

    @Test
    @DisplayName("a full disk, too many open files and interruptions are transient")
    void transientErrors() {
        assertThat(Errors.map("insert", new FileSystemException("/d/x", null, "No space left on device")))
                .isExactlyInstanceOf(StorageUnavailableException.class).hasMessageContaining("insert");
        assertThat(Errors.map("query", new IOException("Too many open files")))
                .isExactlyInstanceOf(StorageUnavailableException.class);
        assertThat(Errors.map("query", new UncheckedIOException(new ClosedByInterruptException())))
                .isExactlyInstanceOf(StorageUnavailableException.class);
        assertThat(Errors.map("x", new InterruptedException())).isExactlyInstanceOf(StorageUnavailableException.class);
        // a false EDEADLK from the kernel's per-process lock accounting, after the retries ran out
        assertThat(Errors.map("compareAndSet", new IOException("Resource deadlock avoided")))
                .isExactlyInstanceOf(StorageUnavailableException.class);
        assertThat(StripeLocks.isDeadlockAvoided(new IOException("Resource deadlock avoided"))).isTrue();
    }

    @Test
    @DisplayName("permission problems and other errors are not transient; Stasis errors pass through")
    void permanentErrors() {
        assertThat(Errors.map("insert", new AccessDeniedException("/d/x")))
                .isExactlyInstanceOf(StorageException.class);
        assertThat(Errors.map("insert", new IllegalStateException("bug"))).isExactlyInstanceOf(StorageException.class);
        DuplicateRecordException dup = new DuplicateRecordException("dup");
        assertThat(Errors.map("insert", dup)).isSameAs(dup);
    }
}
