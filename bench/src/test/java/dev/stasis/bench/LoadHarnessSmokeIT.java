package dev.stasis.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Runs the load harness with a small N on every store available to the tests and checks that it completes and
 * reports sane numbers. No timing thresholds: this proves the harness works, not how fast anything is. PostgreSQL
 * and Redis are the local servers of the test machines (skipped, and reported as skipped, when not listening);
 * MongoDB is mongo-java-server started by the harness; Neo4j is started from backends/neo4j-harness/target (skipped
 * when that module is not built and no NEO4J_URI is set).
 */
class LoadHarnessSmokeIT {

    @TempDir
    Path results;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"in-memory", "filesystem", "postgres", "redis", "mongodb", "neo4j"})
    void harnessCompletesWithSaneNumbers(String store) throws IOException {
        assumeTrue(available(store), store + " is not available to this test run");
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8);
        String[] args = {"--store", store, "--flows", "200", "--rounds", "2", "--concurrency", "8", "--warmup", "50",
            "--progress-seconds", "2", "--results", results.toString(),
            "--work-dir", System.getProperty("stasis.bench.work.dir", "target/smoke")};
        picocli.CommandLine cl = BenchCommand.commandLine(out, args);
        int code = cl.execute(args);
        String output = buffer.toString(StandardCharsets.UTF_8);
        System.out.print(output);
        assertThat(code).as(output).isZero();

        List<Object> produced = ((BenchCommand) cl.getCommand()).produced();
        assertThat(produced).hasSize(1);
        RunResult r = (RunResult) produced.get(0);
        assertThat(r.store()).isEqualTo(store);
        assertThat(r.phases()).extracting(PhaseResult::name)
                .containsExactly("engine.suspend", "engine.resume", "floor.write", "floor.claim");
        for (PhaseResult p : r.phases()) {
            assertThat(p.errors()).as(p.name() + ": " + p.firstError()).isZero();
            // two rounds of 200
            assertThat(p.ops()).as(p.name()).isEqualTo(400);
            assertThat(r.roundThroughputs().get(p.name())).as(p.name()).hasSize(2).allSatisfy(t -> assertThat(t)
                    .isPositive());
            assertThat(p.throughput()).as(p.name()).isPositive();
            assertThat(p.p50()).as(p.name()).isPositive().isLessThanOrEqualTo(p.p95());
            assertThat(p.p95()).as(p.name()).isLessThanOrEqualTo(p.p99());
            assertThat(p.p99()).as(p.name()).isLessThanOrEqualTo(p.max());
        }
        PhaseResult suspend = r.phase("engine.suspend");
        assertThat(suspend).isNotNull();
        // the engine inserts one record per started flow
        assertThat(suspend.storeCalls()).containsEntry("insert", 400L);
        // the approval flow runs no step after its wait: each resume's claim goes with its completion, one write
        assertThat(r.phase("engine.resume").storeCalls()).containsEntry("compare_and_set", 400L);
        assertThat(r.floorDescription()).isNotBlank();
        assertThat(r.ratioSuspend()).isPositive();
        assertThat(r.ratioResume()).isPositive();
        assertThat(r.roundCount()).isEqualTo(2);
        assertThat(r.roundRatiosSuspend()).hasSize(2).allSatisfy(x -> assertThat(x).isPositive());
        assertThat(r.roundRatiosResume()).hasSize(2).allSatisfy(x -> assertThat(x).isPositive());
        // the median of two rounds lies between them
        assertThat(r.ratioResume()).isBetween(java.util.Collections.min(r.roundRatiosResume()),
                java.util.Collections.max(r.roundRatiosResume()));
        assertThat(output).contains("round 2 of 2 (floor first)");
        assertThat(r.meanSealedBytes()).isGreaterThan(100);
        assertThat(r.bytesPerFlow()).isPositive();
        assertThat(r.heapBefore()).isPositive();
        assertThat(r.heapAfter()).isPositive();
        assertThat(output).contains("engine/floor throughput");

        // the run was saved and rendered
        assertThat(Files.list(results.resolve("runs")).toList()).hasSize(1);
        assertThat(Files.readString(results.resolve("results.md"))).contains("| " + store + " |");
        assertThat(Files.readString(results.resolve("results.html"))).contains("<svg").contains(store);
    }

    @Test
    void approvalStepFlowWritesItsClaimBeforeTheStep() throws IOException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8);
        String[] args = {"--store", "in-memory", "--flow", "approval-step", "--flows", "200", "--rounds", "1",
            "--concurrency", "8",
            "--warmup", "50", "--results", results.toString()};
        picocli.CommandLine cl = BenchCommand.commandLine(out, args);
        int code = cl.execute(args);
        String output = buffer.toString(StandardCharsets.UTF_8);
        assertThat(code).as(output).isZero();
        RunResult r = (RunResult) ((BenchCommand) cl.getCommand()).produced().get(0);
        assertThat(r.flowName()).isEqualTo("approval-step");
        PhaseResult resume = r.phase("engine.resume");
        assertThat(resume.errors()).as(resume.firstError()).isZero();
        // the claim on its own before the step, then the completion
        assertThat(resume.storeCalls()).containsEntry("compare_and_set", 400L);
        assertThat(output).contains("flow: approval-step");
        assertThat(Files.readString(results.resolve("results.md"))).contains("| in-memory (approval-step) |");
    }

    private static boolean available(String store) {
        return switch (store) {
            case "postgres" -> listening(env("STASIS_TEST_PG_HOST", "127.0.0.1"),
                    Integer.parseInt(env("STASIS_TEST_PG_PORT", "5432")));
            case "redis" -> {
                URI uri = URI.create(env("STASIS_TEST_REDIS_URI", "redis://127.0.0.1:6379"));
                yield listening(uri.getHost(), uri.getPort() < 0 ? 6379 : uri.getPort());
            }
            case "neo4j" -> System.getenv("NEO4J_URI") != null || Files.isRegularFile(
                    Path.of(System.getProperty("stasis.neo4j.harness.dir", "../backends/neo4j-harness/target"))
                            .resolve("harness-classpath.txt"));
            default -> true;
        };
    }

    private static boolean listening(String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }
}
