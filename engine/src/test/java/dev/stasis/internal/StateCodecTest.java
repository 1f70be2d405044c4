package dev.stasis.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.TextNode;
import dev.stasis.StateIntegrityException;
import dev.stasis.security.EnvelopeSealer;
import dev.stasis.security.KeyRing;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class StateCodecTest {

    private final EnvelopeSealer sealer =
            new EnvelopeSealer(KeyRing.builder().add("k", KeyRing.generateKey()).build());

    private static FlowState state(String text) {
        FlowState s = new FlowState();
        s.input = TextNode.valueOf(text);
        return s;
    }

    private static int flags(byte[] envelope) {
        return envelope[3] & 0xFF;
    }

    @Test
    @DisplayName("state round-trips, compressed when that makes it smaller")
    void roundTripCompressed() {
        StateCodec codec = new StateCodec(sealer, Json.defaultMapper(), 6);
        String big = "secret-line ".repeat(500);
        byte[] aad = StateCodec.aad("f1", "flow", 1, 1);
        byte[] sealed = codec.seal(state(big), aad);
        assertThat(flags(sealed) & StateCodec.FLAG_GZIP).isEqualTo(StateCodec.FLAG_GZIP);
        assertThat(sealed.length).isLessThan(big.length() / 4);
        assertThat(new String(sealed, StandardCharsets.ISO_8859_1)).doesNotContain("secret-line");
        assertThat(codec.open(sealed, aad).input.asText()).isEqualTo(big);
    }

    @Test
    @DisplayName("compression is skipped for small states and when disabled")
    void compressionSkipped() {
        byte[] aad = StateCodec.aad("f1", "flow", 1, 1);
        byte[] small = new StateCodec(sealer, Json.defaultMapper(), 6).seal(state("x"), aad);
        assertThat(flags(small) & StateCodec.FLAG_GZIP).isZero();
        StateCodec off = new StateCodec(sealer, Json.defaultMapper(), 0);
        byte[] big = off.seal(state("y".repeat(5000)), aad);
        assertThat(flags(big) & StateCodec.FLAG_GZIP).isZero();
        assertThat(off.open(big, aad).input.asText()).hasSize(5000);
    }

    @Test
    @DisplayName("compression starts at MIN_COMPRESS bytes of JSON, both sides of the line round-trip")
    void compressionThreshold() throws Exception {
        StateCodec codec = new StateCodec(sealer, Json.defaultMapper(), 6);
        byte[] aad = StateCodec.aad("f1", "flow", 1, 1);
        com.fasterxml.jackson.databind.ObjectWriter writer = Json.defaultMapper().writerFor(FlowState.class);
        // a compressible text sized so that the state's JSON is exactly one byte under, then exactly at, the line
        int overhead = writer.writeValueAsBytes(state("")).length;
        String under = "a".repeat(StateCodec.MIN_COMPRESS - 1 - overhead);
        String at = "a".repeat(StateCodec.MIN_COMPRESS - overhead);
        assertThat(writer.writeValueAsBytes(state(under))).hasSize(StateCodec.MIN_COMPRESS - 1);
        assertThat(writer.writeValueAsBytes(state(at))).hasSize(StateCodec.MIN_COMPRESS);

        byte[] sealedUnder = codec.seal(state(under), aad);
        byte[] sealedAt = codec.seal(state(at), aad);
        assertThat(flags(sealedUnder) & StateCodec.FLAG_GZIP).isZero();
        assertThat(flags(sealedAt) & StateCodec.FLAG_GZIP).isEqualTo(StateCodec.FLAG_GZIP);
        assertThat(sealedAt.length).isLessThan(sealedUnder.length / 4);
        assertThat(codec.open(sealedUnder, aad).input.asText()).isEqualTo(under);
        assertThat(codec.open(sealedAt, aad).input.asText()).isEqualTo(at);
    }

    @Test
    @DisplayName("a state sealed for one record or version does not open for another")
    void aadBindsIdentity() {
        StateCodec codec = new StateCodec(sealer, Json.defaultMapper(), 6);
        byte[] sealed = codec.seal(state("x"), StateCodec.aad("f1", "flow", 1, 1));
        assertThatThrownBy(() -> codec.open(sealed, StateCodec.aad("f2", "flow", 1, 1)))
                .isInstanceOf(StateIntegrityException.class);
        assertThatThrownBy(() -> codec.open(sealed, StateCodec.aad("f1", "flow", 2, 1)))
                .isInstanceOf(StateIntegrityException.class);
        assertThatThrownBy(() -> codec.open(sealed, StateCodec.aad("f1", "flow", 1, 2)))
                .isInstanceOf(StateIntegrityException.class);
    }
}
