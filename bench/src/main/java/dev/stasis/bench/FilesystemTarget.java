package dev.stasis.bench;

import dev.stasis.backend.filesystem.FilesystemStore;
import dev.stasis.spi.StateStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * A {@link FilesystemStore} in a fresh directory. Floor: write a temp file, fsync it, rename it into place (suspend);
 * read it and delete it (resume), on the same bounded-elastic scheduler the store uses by default.
 */
final class FilesystemTarget implements StoreTarget {

    private final Path root;
    private final Path storeDir;
    private final Path floorDir;
    private final FilesystemStore store;

    FilesystemTarget(TargetConfig config) {
        this.root = config.workDir().resolve("fs-" + UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();
        this.storeDir = root.resolve("store");
        this.floorDir = root.resolve("floor");
        try {
            Files.createDirectories(floorDir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.store = FilesystemStore.builder(storeDir).build();
        store.provision().block();
    }

    @Override
    public String name() {
        return "filesystem";
    }

    @Override
    public String description() {
        String fsType;
        try {
            fsType = Files.getFileStore(root).type();
        } catch (IOException e) {
            fsType = "?";
        }
        return "FilesystemStore in " + storeDir + " (" + fsType + ")";
    }

    @Override
    public StateStore store() {
        return store;
    }

    @Override
    public Floor floor() {
        return new Floor() {
            private final AtomicLong tmp = new AtomicLong();

            @Override
            public String describe() {
                return "write tmp + fsync + rename; read + delete";
            }

            @Override
            public Mono<?> write(String id, byte[] payload) {
                return Mono.fromCallable(() -> {
                    Path t = floorDir.resolve(".tmp-" + tmp.incrementAndGet());
                    try (FileChannel ch = FileChannel.open(t, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                        ByteBuffer b = ByteBuffer.wrap(payload);
                        while (b.hasRemaining()) {
                            ch.write(b);
                        }
                        ch.force(true);
                    }
                    Files.move(t, floorDir.resolve(id), StandardCopyOption.ATOMIC_MOVE);
                    return id;
                }).subscribeOn(Schedulers.boundedElastic());
            }

            @Override
            public Mono<byte[]> claim(String id) {
                return Mono.fromCallable(() -> {
                    Path p = floorDir.resolve(id);
                    byte[] data = Files.readAllBytes(p);
                    Files.delete(p);
                    return data;
                }).subscribeOn(Schedulers.boundedElastic());
            }
        };
    }

    @Override
    public @Nullable Long storedBytes() {
        try (Stream<Path> files = Files.walk(storeDir)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public String storedBytesMethod() {
        return "measured: sum of file sizes under the store directory (records and index files; not block-rounded)";
    }

    @Override
    public void close() {
        store.close().block();
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }
}
