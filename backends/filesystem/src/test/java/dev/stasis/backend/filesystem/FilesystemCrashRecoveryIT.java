package dev.stasis.backend.filesystem;

import dev.stasis.spi.StateStore;
import dev.stasis.tck.AbstractCrashRecoveryTest;
import dev.stasis.tck.ChildStoreFactory;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;

/**
 * The crash-injection suite: child JVMs share one store directory and are killed with SIGKILL at random moments
 * (a killed process releases its file locks and leaves at most temp files and stale index entries behind).
 */
class FilesystemCrashRecoveryIT extends AbstractCrashRecoveryTest {

    @TempDir
    static Path tmp;

    private static Path storeDir() {
        return tmp.resolve("store");
    }

    @Override
    protected Class<? extends ChildStoreFactory> childFactory() {
        return FilesystemChildStoreFactory.class;
    }

    @Override
    protected Map<String, String> childEnvironment() {
        return Map.of(FilesystemChildStoreFactory.ENV_DIR, storeDir().toString());
    }

    @Override
    protected StateStore parentStore() {
        return FilesystemStore.builder(storeDir()).build();
    }
}
