package dev.stasis.bench.jmh;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stasis.internal.FlowState;
import dev.stasis.internal.StateCodec;
import dev.stasis.security.AeadCipher;
import dev.stasis.security.EnvelopeSealer;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Each stage of the state codec on its own, on the real state of a suspended flow: Jackson serialize/deserialize,
 * gzip at level 1 and 6 (and gunzip), AES-256-GCM seal and open with JCE and with BouncyCastle (of the level-6
 * payload, as the engine seals it by default).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class CodecStagesBenchmark {

    /** Payload bytes of the flow input (the state's JSON is a few hundred bytes larger). */
    @Param({"1024", "10240", "102400"})
    public int stateBytes;

    /** {@code text}: random alphanumeric (gzip's worst case); {@code json}: order lines (typical business state). */
    @Param({"text", "json"})
    public String payload;

    private ObjectMapper mapper;
    private FlowState state;
    private byte[] json;
    private byte[] gzip1;
    private byte[] gzip6;
    private byte[] aad;
    private EnvelopeSealer jce;
    private EnvelopeSealer bc;
    private byte[] sealedJce;
    private byte[] sealedBc;

    /** Builds the fixture and the inputs of each stage. */
    @Setup
    public void setup() {
        StateFixture f = StateFixture.suspendedState(stateBytes, payload);
        mapper = f.mapper;
        state = f.state;
        aad = f.aad;
        try {
            json = mapper.writeValueAsBytes(state);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        gzip1 = StateFixture.gzip(json, 1);
        gzip6 = StateFixture.gzip(json, 6);
        jce = new EnvelopeSealer(f.ring, AeadCipher.jce());
        bc = new EnvelopeSealer(f.ring, AeadCipher.bouncyCastle());
        sealedJce = jce.seal(gzip6, StateCodec.FLAG_GZIP, aad);
        sealedBc = bc.seal(gzip6, StateCodec.FLAG_GZIP, aad);
        System.out.printf("%n[fixture] payload %d B: state JSON %d B, gzip-1 %d B, gzip-6 %d B, sealed %d B%n",
                stateBytes, json.length, gzip1.length, gzip6.length, sealedJce.length);
    }

    /** @return JSON of the state */
    @Benchmark
    public byte[] serialize() throws IOException {
        return mapper.writeValueAsBytes(state);
    }

    /** @return the state read back from JSON */
    @Benchmark
    public FlowState deserialize() throws IOException {
        return mapper.readValue(json, FlowState.class);
    }

    /** @return gzip level 1 of the JSON */
    @Benchmark
    public byte[] gzipLevel1() {
        return StateFixture.gzip(json, 1);
    }

    /** @return gzip level 6 of the JSON */
    @Benchmark
    public byte[] gzipLevel6() {
        return StateFixture.gzip(json, 6);
    }

    /** @return the JSON gunzipped from level 6 */
    @Benchmark
    public byte[] gunzip() {
        return StateFixture.gunzip(gzip6);
    }

    /** @return the level-6 payload sealed with JCE */
    @Benchmark
    public byte[] sealJce() {
        return jce.seal(gzip6, StateCodec.FLAG_GZIP, aad);
    }

    /** @return the payload opened with JCE */
    @Benchmark
    public EnvelopeSealer.Opened openJce() {
        return jce.open(sealedJce, aad);
    }

    /** @return the level-6 payload sealed with BouncyCastle */
    @Benchmark
    public byte[] sealBouncyCastle() {
        return bc.seal(gzip6, StateCodec.FLAG_GZIP, aad);
    }

    /** @return the payload opened with BouncyCastle */
    @Benchmark
    public EnvelopeSealer.Opened openBouncyCastle() {
        return bc.open(sealedBc, aad);
    }
}
