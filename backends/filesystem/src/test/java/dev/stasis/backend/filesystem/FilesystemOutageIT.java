package dev.stasis.backend.filesystem;

import dev.stasis.spi.StateStore;
import dev.stasis.tck.AbstractOutageTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.AfterEach;

/**
 * The outage suite. The filesystem's "server" is its directory: the outage moves the store directory away (as an
 * unmounted volume would take it away) and moves it back. Meanwhile calls fail with the retryable
 * {@code StorageUnavailableException} — a lookup must not answer "unknown key" because the whole store is missing.
 */
class FilesystemOutageIT extends AbstractOutageTest {

    private Path base;
    private Path dir;

    @Override
    protected StateStore createStore() throws Exception {
        base = Files.createTempDirectory("stasis-fs-outage");
        dir = base.resolve("store");
        return FilesystemStore.builder(dir).build();
    }

    @Override
    protected void stopServer() throws Exception {
        Files.move(dir, base.resolve("store-unmounted"), StandardCopyOption.ATOMIC_MOVE);
    }

    @Override
    protected void startServer() throws Exception {
        Files.move(base.resolve("store-unmounted"), dir, StandardCopyOption.ATOMIC_MOVE);
    }

    @AfterEach
    void deleteDirectory() throws Exception {
        if (base != null) {
            RawFiles.deleteTree(base);
        }
    }
}
