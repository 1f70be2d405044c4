package dev.stasis.bench.jmh;

import dev.stasis.internal.FlowState;
import dev.stasis.internal.StateCodec;
import dev.stasis.security.AeadCipher;
import dev.stasis.security.EnvelopeSealer;
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
 * The whole codec pipeline through the engine's own {@link StateCodec}: the suspend side (state → JSON → gzip →
 * sealed envelope), the resume side (envelope → state) and both in a row ({@code sealAndOpen}, the figure of the
 * "seal+open under 30 µs at 1 KB" target), for each cipher and gzip level ({@code 0} = skipped).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class CodecPipelineBenchmark {

    /** Payload bytes of the flow input. */
    @Param({"1024", "10240", "102400"})
    public int stateBytes;

    /** {@code jce} or {@code bc}. */
    @Param({"jce", "bc"})
    public String cipher;

    /** gzip level; 0 = compression skipped. */
    @Param({"6", "1", "0"})
    public int gzipLevel;

    /** {@code text}: random alphanumeric (gzip's worst case); {@code json}: order lines (typical business state). */
    @Param({"text", "json"})
    public String payload;

    private StateCodec codec;
    private FlowState state;
    private byte[] aad;
    private byte[] sealed;

    /** Builds the codec and one sealed envelope. */
    @Setup
    public void setup() {
        StateFixture f = StateFixture.suspendedState(stateBytes, payload);
        AeadCipher c = cipher.equals("bc") ? AeadCipher.bouncyCastle() : AeadCipher.jce();
        codec = new StateCodec(new EnvelopeSealer(f.ring, c), f.mapper, gzipLevel);
        state = f.state;
        aad = f.aad;
        sealed = codec.seal(state, aad);
    }

    /** @return the sealed envelope of the state */
    @Benchmark
    public byte[] suspendSide() {
        return codec.seal(state, aad);
    }

    /** @return the state opened from its envelope */
    @Benchmark
    public FlowState resumeSide() {
        return codec.open(sealed, aad);
    }

    /** @return the state sealed, then opened again */
    @Benchmark
    public FlowState sealAndOpen() {
        return codec.open(codec.seal(state, aad), aad);
    }
}
