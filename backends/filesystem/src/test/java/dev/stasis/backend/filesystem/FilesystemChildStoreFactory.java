package dev.stasis.backend.filesystem;

import dev.stasis.spi.StateStore;
import dev.stasis.tck.ChildStoreFactory;
import java.nio.file.Path;
import java.util.Map;

/** Opens the crash suite's store in a child JVM: the directory comes from {@code STASIS_FS_STORE_DIR}. */
public final class FilesystemChildStoreFactory implements ChildStoreFactory {

    /** The variable naming the store directory. */
    static final String ENV_DIR = "STASIS_FS_STORE_DIR";

    /** Creates the factory (the child instantiates it reflectively). */
    public FilesystemChildStoreFactory() {}

    @Override
    public StateStore create(Map<String, String> environment) {
        String dir = environment.get(ENV_DIR);
        if (dir == null) {
            throw new IllegalStateException(ENV_DIR + " is not set");
        }
        return FilesystemStore.builder(Path.of(dir)).build();
    }
}
