package dev.stasis.backend.filesystem;

import dev.stasis.spi.StateStore;
import dev.stasis.tck.AbstractStateStoreContractTest;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The filesystem store passes the whole contract suite, in a fresh temporary directory for the class
 * ({@code STASIS_FS_TEST_DIR} chooses the parent directory; default: the system temp directory). The side channel
 * reads and rewrites the files directly ({@link RawFiles}).
 */
class FilesystemStoreIT extends AbstractStateStoreContractTest {

    private Path base;
    private Path dir;

    @Override
    protected StateStore createStore() throws Exception {
        String parent = System.getenv("STASIS_FS_TEST_DIR");
        base = parent == null || parent.isBlank()
                ? Files.createTempDirectory("stasis-fs-it")
                : Files.createTempDirectory(Files.createDirectories(Path.of(parent)), "stasis-fs-it");
        dir = base.resolve("store");
        return FilesystemStore.builder(dir).build();
    }

    @Override
    protected void disposeStore(StateStore store) throws Exception {
        super.disposeStore(store);
        RawFiles.deleteTree(base);
    }

    @Override
    protected byte[] rawState(String flowId) throws Exception {
        return RawFiles.state(dir, flowId);
    }

    @Override
    protected void rawReplaceState(String flowId, byte[] state) throws Exception {
        RawFiles.replaceState(dir, flowId, state);
    }

    @Override
    protected String rawDump(String flowId) throws Exception {
        return RawFiles.dump(dir, flowId);
    }
}
