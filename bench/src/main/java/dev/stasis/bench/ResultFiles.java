package dev.stasis.bench;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The results directory: one JSON file per run under {@code runs/}, from which {@link Report} renders
 * {@code results.md} and {@code results.html}. The report shows the latest run of each configuration, so older runs
 * can stay as history.
 */
final class ResultFiles {

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private ResultFiles() {}

    static Path save(Path dir, String kind, String store, int concurrency, String timestamp, Object result) {
        try {
            Path runs = Files.createDirectories(dir.resolve("runs"));
            String stamp = timestamp.replace(":", "").replace("-", "").replaceAll("\\.\\d+", "");
            Path file = runs.resolve(kind + "-" + store + "-c" + concurrency + "-" + stamp + ".json");
            JSON.writeValue(file.toFile(), result);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @return the latest load run of each (store, concurrency, state size, gzip, cipher, flows), oldest key first */
    static List<RunResult> latestLoadRuns(Path dir) {
        Map<String, RunResult> latest = new LinkedHashMap<>();
        for (Path p : files(dir, "load-")) {
            RunResult r = read(p, RunResult.class);
            String key = r.store() + "|" + r.concurrency() + "|" + r.stateBytes() + "|" + r.gzipLevel() + "|"
                    + r.cipher() + "|" + r.flows() + "|" + r.flowName();
            RunResult old = latest.get(key);
            if (old == null || old.timestamp().compareTo(r.timestamp()) < 0) latest.put(key, r);
        }
        List<RunResult> all = new ArrayList<>(latest.values());
        all.sort(Comparator.comparing(RunResult::concurrency).reversed()
                .thenComparing(RunResult::stateBytes)
                .thenComparing(r -> storeOrder(r.store()))
                .thenComparing(RunResult::flows));
        return all;
    }

    /** @return the latest suspended-mode run of each store */
    static List<SuspendedResult> latestSuspendedRuns(Path dir) {
        Map<String, SuspendedResult> latest = new LinkedHashMap<>();
        for (Path p : files(dir, "suspended-")) {
            SuspendedResult r = read(p, SuspendedResult.class);
            SuspendedResult old = latest.get(r.store());
            if (old == null || old.timestamp().compareTo(r.timestamp()) < 0) latest.put(r.store(), r);
        }
        List<SuspendedResult> all = new ArrayList<>(latest.values());
        all.sort(Comparator.comparing(r -> storeOrder(r.store())));
        return all;
    }

    static int storeOrder(String store) {
        List<String> order = List.of("postgres", "redis", "mongodb", "neo4j", "filesystem", "in-memory");
        int i = order.indexOf(store);
        return i < 0 ? order.size() : i;
    }

    private static List<Path> files(Path dir, String prefix) {
        Path runs = dir.resolve("runs");
        if (!Files.isDirectory(runs)) return List.of();
        try (Stream<Path> s = Files.list(runs)) {
            return s.filter(p -> p.getFileName().toString().startsWith(prefix) && p.toString().endsWith(".json"))
                    .sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static <T> T read(Path p, Class<T> type) {
        try {
            return JSON.readValue(p.toFile(), type);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + p, e);
        }
    }
}
