package dev.stasis.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The command line of {@code stasis-bench.jar}: the load harness (default), {@code --suspended N}, and
 * {@code report} (re-render results). {@code jmh} is dispatched by {@link Main} before picocli.
 */
@Command(name = "stasis-bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"End-to-end load harness of the Stasis engine against the raw floor of each store.",
            "Also: 'java -jar stasis-bench.jar jmh [JMH options]' runs the codec benchmarks;",
            "      'java -jar stasis-bench.jar report [--results DIR]' re-renders results.md/html."})
final class BenchCommand implements Callable<Integer> {

    /** Warm-up flows when {@code --warmup} is not given. */
    static final int DEFAULT_WARMUP = 10_000;

    @Option(names = "--store", split = ",", description = "store(s): postgres, redis, mongodb, neo4j, filesystem, "
            + "in-memory, or 'all' (default: in-memory)")
    List<String> stores = new ArrayList<>(List.of("in-memory"));

    @Option(names = "--flows", description = "flows per phase (default: ${DEFAULT-VALUE})")
    int flows = 10_000;

    @Option(names = "--concurrency", description = "operations in flight (default: ${DEFAULT-VALUE})")
    int concurrency = 64;

    @Option(names = "--state-bytes", description = "payload bytes per flow input and floor record (default: ${DEFAULT-VALUE})")
    int stateBytes = 1024;

    @Option(names = "--gzip", description = "engine gzip level, 0 = off (default: ${DEFAULT-VALUE})")
    int gzip = 6;

    @Option(names = "--cipher", description = "jce or bc (default: ${DEFAULT-VALUE})")
    String cipher = "jce";

    @Option(names = "--warmup", description = "warm-up flows (and floor operations) before measuring; the JIT keeps"
            + " compiling the engine's paths for several thousand flows (default: " + DEFAULT_WARMUP + ")")
    @Nullable Integer warmup;

    @Option(names = "--flow", description = "approval: await, then complete (default); approval-step: await, one step,"
            + " then complete (the resume's claim is then its own write)")
    String flow = "approval";

    @Option(names = "--rounds", description = "measured rounds of every phase; their order alternates (engine first,"
            + " then floor first, ...) and each figure is the median over rounds (default: ${DEFAULT-VALUE})")
    int rounds = 3;

    @Option(names = "--no-floor", negatable = false, description = "skip the raw floor")
    boolean noFloor;

    @Option(names = "--suspended", description = "fill the store with N suspended flows, then measure resume, query "
            + "by await id and cleanup of expired flows on the full store")
    long suspended;

    @Option(names = "--batch", description = "--suspended: flows per fill batch (default: ${DEFAULT-VALUE})")
    int batch = 10_000;

    @Option(names = "--expired", description = "--suspended: expired flows to clean up (default: ${DEFAULT-VALUE})")
    int expired = 100_000;

    @Option(names = "--resume-sample", description = "--suspended: suspended flows to resume (default: ${DEFAULT-VALUE})")
    int resumeSample = 10_000;

    @Option(names = "--query-pages", description = "--suspended: pages of 100 to query (default: ${DEFAULT-VALUE})")
    int queryPages = 200;

    @Option(names = "--results", description = "results directory; runs are saved as JSON there and results.md/html "
            + "re-rendered (default: bench/results when it exists, else none); 'none' to skip")
    @Nullable String results;

    @Option(names = "--progress-seconds", description = "progress line interval (default: ${DEFAULT-VALUE})")
    int progressSeconds = 5;

    @Option(names = "--pg-url", description = "r2dbc URL (default: from STASIS_TEST_PG_* or r2dbc:postgresql://postgres@127.0.0.1:5432/test)")
    @Nullable String pgUrl;

    @Option(names = "--pg-pool", description = "connections of the engine's store pool, and of the floor's (default: ${DEFAULT-VALUE})")
    int pgPool = 10;

    @Option(names = "--pg-write-concurrency", description = "group commit: insert (and compare-and-set) statements in "
            + "flight at once (default: the store's, 2)")
    int pgWriteConcurrency;

    @Option(names = "--pg-max-batch", description = "group commit: most records per statement; 1 turns it off "
            + "(default: the store's, 32)")
    int pgMaxBatch;

    @Option(names = "--redis-uri", description = "default: STASIS_TEST_REDIS_URI or redis://127.0.0.1:6379")
    @Nullable String redisUri;

    @Option(names = "--mongo-uri", description = "a real MongoDB (default: STASIS_TEST_MONGODB_URI, else mongo-java-server in-process)")
    @Nullable String mongoUri;

    @Option(names = "--neo4j-uri", description = "default: NEO4J_URI, else start the harness from --neo4j-harness-dir")
    @Nullable String neo4jUri;

    @Option(names = "--neo4j-harness-dir", description = "default: backends/neo4j-harness/target")
    @Nullable Path neo4jHarnessDir;

    @Option(names = "--work-dir", description = "scratch directory (default: ${DEFAULT-VALUE})")
    Path workDir = Path.of(System.getProperty("java.io.tmpdir"), "stasis-bench");

    private final PrintStream out;
    private final String commandLine;
    private final List<Object> produced = new ArrayList<>();

    BenchCommand(PrintStream out, String commandLine) {
        this.out = out;
        this.commandLine = commandLine;
    }

    /** @return the results of the runs, in order (for the smoke test) */
    List<Object> produced() {
        return produced;
    }

    @Nullable Path resultsDir() {
        if ("none".equals(results)) return null;
        if (results != null) return Path.of(results);
        Path d = Path.of("bench", "results");
        return d.toFile().isDirectory() ? d : null;
    }

    TargetConfig config() {
        TargetConfig c = TargetConfig.fromEnvironment(workDir, out);
        c = c.withPg(pgUrl != null ? pgUrl : c.pgUrl(), pgPool, pgWriteConcurrency, pgMaxBatch);
        if (redisUri != null) c = c.withRedis(redisUri);
        if (mongoUri != null) c = c.withMongo(mongoUri);
        c = c.withNeo4j(neo4jUri != null ? neo4jUri : c.neo4jUri(),
                neo4jHarnessDir != null ? neo4jHarnessDir : c.neo4jHarnessDir());
        return c;
    }

    @Override
    public Integer call() {
        if (!BenchFlows.NAMES.contains(flow)) {
            out.println("[bench] --flow must be one of " + BenchFlows.NAMES + ", was " + flow);
            return 2;
        }
        if (rounds < 1) {
            out.println("[bench] --rounds must be at least 1, was " + rounds);
            return 2;
        }
        List<String> names = stores.size() == 1 && stores.get(0).equals("all") ? Targets.ALL : stores;
        Path dir = resultsDir();
        TargetConfig config = config();
        int failures = 0;
        for (String name : names) {
            try (StoreTarget target = Targets.open(name, config)) {
                if (suspended > 0) {
                    SuspendedResult r = new SuspendedMode(out).run(target, new SuspendedMode.Options(suspended, batch,
                            expired, resumeSample, queryPages, concurrency, stateBytes, gzip, cipher,
                            progressSeconds * 1000L, commandLine));
                    produced.add(r);
                    if (dir != null) {
                        out.println("[bench] saved " + ResultFiles.save(dir, "suspended", target.name(), concurrency,
                                r.timestamp(), r));
                    }
                } else {
                    int w = warmup != null ? warmup : DEFAULT_WARMUP;
                    RunResult r = new LoadHarness(out).run(target, new LoadHarness.Options(flows, concurrency,
                            stateBytes, gzip, cipher, w, !noFloor, progressSeconds * 1000L, commandLine, flow, rounds));
                    produced.add(r);
                    if (dir != null) {
                        out.println("[bench] saved " + ResultFiles.save(dir, "load", target.name(), concurrency,
                                r.timestamp(), r));
                    }
                }
            } catch (RuntimeException e) {
                failures++;
                out.println("[bench] " + name + " FAILED: " + e);
                e.printStackTrace(out);
            }
        }
        if (dir != null) {
            Report.regenerate(dir);
            out.println("[bench] wrote " + dir.resolve("results.md") + " and " + dir.resolve("results.html"));
        }
        return failures == 0 ? 0 : 1;
    }

    /** {@code report}: re-renders results.md and results.html. */
    @Command(name = "report", description = "re-render results.md and results.html from the saved runs")
    int report(@Option(names = "--results", defaultValue = "bench/results") Path dir) {
        Report.regenerate(dir);
        out.println("[bench] wrote " + dir.resolve("results.md") + " and " + dir.resolve("results.html"));
        return 0;
    }

    static CommandLine commandLine(PrintStream out, String[] args) {
        String line = "java -jar bench/target/stasis-bench.jar " + String.join(" ", args);
        return new CommandLine(new BenchCommand(out, line.trim()));
    }
}
