package dev.stasis.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class EnvelopeSealerTest {

  private static final byte[] OLD_KEY = KeyRing.generateKey();
  private static final byte[] NEW_KEY = KeyRing.generateKey();
  private static final byte[] AAD = bytes("suspension/42");
  private static final byte[] PAYLOAD = bytes("continuation state: step=7");

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static KeyRing ring() {
    return KeyRing.builder().add("k1", OLD_KEY).build();
  }

  static Stream<AeadCipher> ciphers() {
    return Stream.of(AeadCipher.jce(), AeadCipher.bouncyCastle());
  }

  @ParameterizedTest
  @MethodSource("ciphers")
  void shouldRoundTrip(AeadCipher cipher) {
    EnvelopeSealer sealer = new EnvelopeSealer(ring(), cipher);

    EnvelopeSealer.Opened opened = sealer.open(sealer.seal(PAYLOAD, 0, AAD), AAD);

    assertThat(opened.payload()).isEqualTo(PAYLOAD);
    assertThat(opened.flags()).isZero();
    assertThat(opened.keyId()).isEqualTo("k1");
  }

  @Test
  void shouldRoundTripEmptyAndLargePayloadsAndEmptyAad() {
    EnvelopeSealer sealer = new EnvelopeSealer(ring());
    byte[] large = new byte[1 << 20];
    Randomness.RANDOM.nextBytes(large);

    assertThat(sealer.open(sealer.seal(new byte[0], 3, new byte[0]), new byte[0]).payload())
        .isEmpty();
    assertThat(sealer.open(sealer.seal(large, 0, AAD), AAD).payload()).isEqualTo(large);
  }

  @Test
  void shouldOpenWithEitherImplementationWhatTheOtherSealed() {
    EnvelopeSealer jce = new EnvelopeSealer(ring(), AeadCipher.jce());
    EnvelopeSealer bc = new EnvelopeSealer(ring(), AeadCipher.bouncyCastle());

    assertThat(bc.open(jce.seal(PAYLOAD, 5, AAD), AAD).payload()).isEqualTo(PAYLOAD);
    assertThat(jce.open(bc.seal(PAYLOAD, 5, AAD), AAD).payload()).isEqualTo(PAYLOAD);
  }

  @Test
  void shouldUseAFreshNonceForEverySeal() {
    EnvelopeSealer sealer = new EnvelopeSealer(ring());
    List<String> envelopes = new ArrayList<>();
    List<String> nonces = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      byte[] envelope = sealer.seal(PAYLOAD, 0, AAD);
      envelopes.add(Arrays.toString(envelope));
      nonces.add(Arrays.toString(Arrays.copyOfRange(envelope, 7, 19)));
      assertThat(sealer.open(envelope, AAD).payload()).isEqualTo(PAYLOAD);
    }

    assertThat(envelopes).hasSize(100).doesNotHaveDuplicates();
    assertThat(nonces).hasSize(100).doesNotHaveDuplicates();
  }

  @Test
  void shouldLayOutTheHeaderByteByByte() throws Exception {
    EnvelopeSealer sealer = new EnvelopeSealer(ring());

    byte[] envelope = sealer.seal(PAYLOAD, 0xA5, AAD);

    assertThat(envelope).hasSize(2 + 1 + 1 + 1 + 2 + 12 + PAYLOAD.length + 16);
    assertThat(envelope[0]).isEqualTo((byte) 0x53); // 'S'
    assertThat(envelope[1]).isEqualTo((byte) 0x54); // 'T'
    assertThat(envelope[2]).isEqualTo((byte) 1); // format version
    assertThat(envelope[3]).isEqualTo((byte) 0xA5); // flags
    assertThat(envelope[4]).isEqualTo((byte) 2); // key id length
    assertThat(envelope[5]).isEqualTo((byte) 'k');
    assertThat(envelope[6]).isEqualTo((byte) '1');
    // Bytes 7..18 are the nonce; the rest is ciphertext and tag. Decrypting independently with
    // javax.crypto and AAD = header (bytes 0..18) || caller aad pins the AAD construction.
    byte[] header = Arrays.copyOf(envelope, 19);
    byte[] nonce = Arrays.copyOfRange(envelope, 7, 19);
    byte[] aad = new byte[header.length + AAD.length];
    System.arraycopy(header, 0, aad, 0, header.length);
    System.arraycopy(AAD, 0, aad, header.length, AAD.length);
    Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
    cipher.init(
        Cipher.DECRYPT_MODE, new SecretKeySpec(OLD_KEY, "AES"), new GCMParameterSpec(128, nonce));
    cipher.updateAAD(aad);

    assertThat(cipher.doFinal(envelope, 19, envelope.length - 19)).isEqualTo(PAYLOAD);
  }

  @Test
  void shouldWriteFormatVersionOne() {
    assertThat(EnvelopeSealer.FORMAT_VERSION).isEqualTo(1);
  }

  @ParameterizedTest
  @MethodSource("ciphers")
  void shouldRejectEverySingleBitFlip(AeadCipher cipher) {
    EnvelopeSealer sealer = new EnvelopeSealer(ring(), cipher);
    byte[] envelope = sealer.seal(bytes("tiny"), 1, AAD);

    for (int position = 0; position < envelope.length; position++) {
      for (int bit = 0; bit < 8; bit++) {
        byte[] modified = envelope.clone();
        modified[position] ^= (byte) (1 << bit);

        assertThatThrownBy(() -> sealer.open(modified, AAD))
            .as("position %d bit %d", position, bit)
            .isInstanceOf(EnvelopeIntegrityException.class)
            .hasMessageNotContaining("tiny");
      }
    }
  }

  @Test
  void shouldRejectEveryWholeByteChange() {
    EnvelopeSealer sealer = new EnvelopeSealer(ring());
    byte[] envelope = sealer.seal(bytes("tiny"), 1, AAD);

    for (int position = 0; position < envelope.length; position++) {
      byte[] modified = envelope.clone();
      modified[position] ^= (byte) 0xFF;

      assertThatThrownBy(() -> sealer.open(modified, AAD))
          .as("position %d", position)
          .isInstanceOf(EnvelopeIntegrityException.class);
    }
  }

  @Test
  void shouldRejectEveryTruncation() {
    EnvelopeSealer sealer = new EnvelopeSealer(ring());
    byte[] envelope = sealer.seal(bytes("tiny"), 0, AAD);

    for (int length = 0; length < envelope.length; length++) {
      byte[] truncated = Arrays.copyOf(envelope, length);

      assertThatThrownBy(() -> sealer.open(truncated, AAD))
          .as("length %d", length)
          .isInstanceOf(EnvelopeIntegrityException.class);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {3, 5, 19, 34})
  void shouldExplainTruncationsWithinTheHeaderAndTag(int length) {
    EnvelopeSealer sealer = new EnvelopeSealer(ring());
    byte[] truncated = Arrays.copyOf(sealer.seal(new byte[0], 0, AAD), length);

    assertThatThrownBy(() -> sealer.open(truncated, AAD))
        .isInstanceOf(EnvelopeIntegrityException.class)
        .hasMessageContaining("Truncated envelope")
        .hasMessageContaining(length + " bytes");
  }

  @Test
  void shouldRejectAnAppendedByte() {
    EnvelopeSealer sealer = new EnvelopeSealer(ring());
    byte[] envelope = sealer.seal(PAYLOAD, 0, AAD);

    assertThatThrownBy(() -> sealer.open(Arrays.copyOf(envelope, envelope.length + 1), AAD))
        .isInstanceOf(EnvelopeIntegrityException.class);
  }

  @Test
  void shouldRejectTheWrongAad() {
    EnvelopeSealer sealer = new EnvelopeSealer(ring());
    byte[] envelope = sealer.seal(PAYLOAD, 0, AAD);

    assertThatThrownBy(() -> sealer.open(envelope, bytes("suspension/43")))
        .isInstanceOf(EnvelopeIntegrityException.class)
        .hasMessageContaining("failed authentication")
        .hasMessageContaining("'k1'")
        .hasMessageNotContaining("continuation");
    assertThatThrownBy(() -> sealer.open(envelope, new byte[0]))
        .isInstanceOf(EnvelopeIntegrityException.class);
  }

  @Test
  void shouldRejectARecordSwappedFromAnotherIdentity() {
    EnvelopeSealer sealer = new EnvelopeSealer(ring());
    byte[] first = sealer.seal(bytes("first"), 0, bytes("record-1"));
    byte[] second = sealer.seal(bytes("second"), 0, bytes("record-2"));

    assertThat(sealer.open(first, bytes("record-1")).payload()).isEqualTo(bytes("first"));
    assertThatThrownBy(() -> sealer.open(second, bytes("record-1")))
        .isInstanceOf(EnvelopeIntegrityException.class);
  }

  @Test
  void shouldRejectAWrongMagic() {
    EnvelopeSealer sealer = new EnvelopeSealer(ring());
    byte[] envelope = sealer.seal(PAYLOAD, 0, AAD);
    envelope[0] = '{';

    assertThatThrownBy(() -> sealer.open(envelope, AAD))
        .isInstanceOf(EnvelopeIntegrityException.class)
        .hasMessageContaining("Not a Stasis envelope");
  }

  @Test
  void shouldRejectAnUnsupportedVersion() {
    EnvelopeSealer sealer = new EnvelopeSealer(ring());
    byte[] envelope = sealer.seal(PAYLOAD, 0, AAD);
    envelope[2] = 2;

    assertThatThrownBy(() -> sealer.open(envelope, AAD))
        .isInstanceOf(EnvelopeIntegrityException.class)
        .hasMessageContaining("Unsupported envelope format version 2");
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2, 0x40, 0x80, 0xFE, 0xFF})
  void shouldRoundTripFlags(int flags) {
    EnvelopeSealer sealer = new EnvelopeSealer(ring());

    EnvelopeSealer.Opened opened = sealer.open(sealer.seal(PAYLOAD, flags, AAD), AAD);

    assertThat(opened.flags()).isEqualTo(flags);
    assertThat(opened.payload()).isEqualTo(PAYLOAD);
  }

  @ParameterizedTest
  @ValueSource(ints = {-1, 256, Integer.MIN_VALUE, Integer.MAX_VALUE})
  void shouldRejectFlagsOutsideOneByte(int flags) {
    EnvelopeSealer sealer = new EnvelopeSealer(ring());

    assertThatThrownBy(() -> sealer.seal(PAYLOAD, flags, AAD))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0..255");
  }

  @Test
  void shouldAuthenticateTheFlags() {
    EnvelopeSealer sealer = new EnvelopeSealer(ring());
    byte[] envelope = sealer.seal(PAYLOAD, 0, AAD);
    envelope[3] = 1;

    assertThatThrownBy(() -> sealer.open(envelope, AAD))
        .isInstanceOf(EnvelopeIntegrityException.class)
        .hasMessageContaining("failed authentication");
  }

  @Test
  void shouldOpenRecordsSealedUnderTheOldPrimaryAfterRotation() {
    EnvelopeSealer before = new EnvelopeSealer(KeyRing.builder().add("old", OLD_KEY).build());
    byte[] envelope = before.seal(PAYLOAD, 9, AAD);
    KeyRing rotated =
        KeyRing.builder().add("old", OLD_KEY).add("new", NEW_KEY).primary("new").build();
    EnvelopeSealer after = new EnvelopeSealer(rotated);

    EnvelopeSealer.Opened opened = after.open(envelope, AAD);
    byte[] resealed = after.seal(opened.payload(), opened.flags(), AAD);

    assertThat(opened.payload()).isEqualTo(PAYLOAD);
    assertThat(opened.flags()).isEqualTo(9);
    assertThat(opened.keyId()).isEqualTo("old");
    assertThat(after.open(resealed, AAD).keyId()).isEqualTo("new");
    assertThat(Arrays.copyOfRange(resealed, 5, 8)).isEqualTo(bytes("new"));
  }

  @Test
  void shouldNameTheUnknownKeyIdWhenTheRingLacksIt() {
    EnvelopeSealer before = new EnvelopeSealer(KeyRing.builder().add("old", OLD_KEY).build());
    byte[] envelope = before.seal(PAYLOAD, 0, AAD);
    EnvelopeSealer after = new EnvelopeSealer(KeyRing.builder().add("new", NEW_KEY).build());

    assertThatThrownBy(() -> after.open(envelope, AAD))
        .isInstanceOf(EnvelopeIntegrityException.class)
        .hasMessageContaining("'old'")
        .hasMessageContaining("not in the key ring")
        .hasMessageContaining("[new]");
  }

  @Test
  void shouldRejectAnEnvelopeSealedUnderADifferentKeyWithTheSameId() {
    EnvelopeSealer one = new EnvelopeSealer(KeyRing.builder().add("k1", OLD_KEY).build());
    EnvelopeSealer other = new EnvelopeSealer(KeyRing.builder().add("k1", NEW_KEY).build());

    assertThatThrownBy(() -> other.open(one.seal(PAYLOAD, 0, AAD), AAD))
        .isInstanceOf(EnvelopeIntegrityException.class)
        .hasMessageContaining("failed authentication");
  }

  @Test
  void shouldKeepPlaintextAndKeysOutOfOpenedToString() {
    EnvelopeSealer sealer = new EnvelopeSealer(ring());

    EnvelopeSealer.Opened opened = sealer.open(sealer.seal(PAYLOAD, 4, AAD), AAD);

    assertThat(opened.toString())
        .isEqualTo("Opened[payload=" + PAYLOAD.length + " bytes, flags=4, keyId=k1]");
    assertThat(sealer.toString()).contains("k1").contains("JCE");
  }

  @Test
  void shouldExposeItsKeyRing() {
    KeyRing ring = ring();

    assertThat(new EnvelopeSealer(ring).keyRing()).isSameAs(ring);
  }

  @Test
  void shouldBeSafeToShareAcrossThreads() throws Exception {
    EnvelopeSealer sealer = new EnvelopeSealer(ring(), AeadCipher.bouncyCastle());
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int task = 0; task < 8; task++) {
        byte[] aad = bytes("record-" + task);
        results.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < 500; i++) {
                    byte[] payload = bytes("payload " + i);
                    byte[] envelope = sealer.seal(payload, i & 0xFF, aad);
                    if (!Arrays.equals(sealer.open(envelope, aad).payload(), payload)) {
                      return false;
                    }
                  }
                  return true;
                }));
      }
      for (Future<Boolean> result : results) {
        assertThat(result.get()).isTrue();
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
