package dev.stasis.security;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;
import javax.crypto.SecretKey;

/**
 * Seals payloads into the versioned Stasis envelope and opens them again. Thread-safe; does no
 * I/O.
 *
 * <p>Envelope layout (multi-byte values big-endian); everything before the ciphertext is the
 * <em>header</em>:
 *
 * <pre>
 * offset 0        magic 'S' 'T' (0x53 0x54)
 *        2        format version (1 byte) = {@value #FORMAT_VERSION}
 *        3        flags (1 byte, caller-defined)
 *        4        key id length n (1 byte, 1..32)
 *        5        key id (n ASCII bytes)
 *        5+n      nonce (12 bytes)
 *        17+n     ciphertext followed by the 16-byte GCM tag
 * </pre>
 *
 * <p>The cipher is AES-256-GCM and its associated data is {@code header || caller aad}, so a
 * change to any header field (version, flags, key id, nonce) or to the caller's associated data
 * (the identity of the record) makes {@link #open(byte[], byte[])} fail. Passing the record
 * identity as {@code aad} stops a sealed record from being swapped in for another.
 *
 * <p>New envelopes use the ring's primary key; an envelope sealed under any other key still opens
 * while that key id is in the ring, which allows key rotation. Each seal draws a fresh random
 * 96-bit nonce, so one key should seal no more than about 2<sup>32</sup> envelopes; rotate well
 * before that.
 */
public final class EnvelopeSealer {

  /** The envelope format version this class writes and reads. */
  public static final int FORMAT_VERSION = 1;

  private static final byte MAGIC_0 = 'S';
  private static final byte MAGIC_1 = 'T';
  private static final int KEY_ID_LENGTH_OFFSET = 4;
  private static final int KEY_ID_OFFSET = 5;
  private static final int MAX_FLAGS = 0xFF;

  private final KeyRing ring;
  private final AeadCipher cipher;

  /**
   * Creates a sealer using the JCE implementation of AES-GCM ({@link AeadCipher#jce()}).
   *
   * @param ring the keys: the primary seals, any key opens
   */
  public EnvelopeSealer(KeyRing ring) {
    this(ring, AeadCipher.jce());
  }

  /**
   * Creates a sealer with a chosen AES-GCM implementation. Both implementations produce and
   * accept the same envelopes.
   *
   * @param ring the keys: the primary seals, any key opens
   * @param cipher the AES-GCM implementation
   */
  public EnvelopeSealer(KeyRing ring, AeadCipher cipher) {
    this.ring = Objects.requireNonNull(ring, "ring");
    this.cipher = Objects.requireNonNull(cipher, "cipher");
  }

  /**
   * Seals a payload with the ring's primary key under a fresh random 96-bit nonce.
   *
   * @param payload the bytes to protect (may be empty)
   * @param flags 0..255, caller-defined bits stored in the header in clear but authenticated (for
   *     example: compressed, codec)
   * @param aad caller-supplied associated data, typically the record identity; it is not stored in
   *     the envelope and must be supplied again to open it (may be empty)
   * @return the envelope
   * @throws IllegalArgumentException when {@code flags} is outside 0..255
   */
  public byte[] seal(byte[] payload, int flags, byte[] aad) {
    Objects.requireNonNull(payload, "payload");
    Objects.requireNonNull(aad, "aad");
    if (flags < 0 || flags > MAX_FLAGS) {
      throw new IllegalArgumentException("flags must be within 0..255, not " + flags);
    }
    String keyId = ring.primaryKeyId();
    byte[] id = keyId.getBytes(StandardCharsets.US_ASCII);
    int headerLength = KEY_ID_OFFSET + id.length + AeadCipher.NONCE_LENGTH;
    byte[] header = new byte[headerLength];
    header[0] = MAGIC_0;
    header[1] = MAGIC_1;
    header[2] = (byte) FORMAT_VERSION;
    header[3] = (byte) flags;
    header[KEY_ID_LENGTH_OFFSET] = (byte) id.length;
    System.arraycopy(id, 0, header, KEY_ID_OFFSET, id.length);
    byte[] nonce = Randomness.bytes(AeadCipher.NONCE_LENGTH);
    System.arraycopy(nonce, 0, header, KEY_ID_OFFSET + id.length, nonce.length);

    byte[] sealed = cipher.encrypt(ring.primaryKey(), nonce, concat(header, aad), payload);

    byte[] envelope = Arrays.copyOf(header, headerLength + sealed.length);
    System.arraycopy(sealed, 0, envelope, headerLength, sealed.length);
    return envelope;
  }

  /**
   * Opens an envelope sealed by {@link #seal(byte[], int, byte[])} under any key of the ring.
   *
   * @param envelope the envelope
   * @param aad the associated data given when sealing
   * @return the payload, the flags and the id of the key that sealed it
   * @throws EnvelopeIntegrityException for a wrong magic, an unsupported format version, a key id
   *     not in the ring, truncation, or failed authentication (a changed byte, the wrong {@code
   *     aad}, or an envelope belonging to another record); the message never contains key
   *     material or plaintext
   */
  public Opened open(byte[] envelope, byte[] aad) {
    Objects.requireNonNull(envelope, "envelope");
    Objects.requireNonNull(aad, "aad");
    if (envelope.length < 2) {
      throw new EnvelopeIntegrityException(
          "Not a Stasis envelope: only " + envelope.length + " bytes");
    }
    if (envelope[0] != MAGIC_0 || envelope[1] != MAGIC_1) {
      throw new EnvelopeIntegrityException(
          "Not a Stasis envelope: the first two bytes are not the magic 'ST'");
    }
    if (envelope.length <= KEY_ID_LENGTH_OFFSET) {
      throw truncated(envelope.length, "the header");
    }
    int version = envelope[2] & 0xFF;
    if (version != FORMAT_VERSION) {
      throw new EnvelopeIntegrityException(
          "Unsupported envelope format version "
              + version
              + "; this version of Stasis reads version "
              + FORMAT_VERSION);
    }
    int flags = envelope[3] & 0xFF;
    int idLength = envelope[KEY_ID_LENGTH_OFFSET] & 0xFF;
    if (idLength == 0 || idLength > KeyRing.MAX_KEY_ID_LENGTH) {
      throw new EnvelopeIntegrityException(
          "Corrupt envelope: key id length " + idLength + " is outside 1..32");
    }
    int headerLength = KEY_ID_OFFSET + idLength + AeadCipher.NONCE_LENGTH;
    if (envelope.length < headerLength + AeadCipher.TAG_LENGTH) {
      throw truncated(
          envelope.length,
          "a header and tag of " + (headerLength + AeadCipher.TAG_LENGTH) + " bytes");
    }
    String keyId = new String(envelope, KEY_ID_OFFSET, idLength, StandardCharsets.US_ASCII);
    if (!KeyRing.isValidKeyId(keyId)) {
      throw new EnvelopeIntegrityException("Corrupt envelope: the key id is not a valid key id");
    }
    SecretKey key =
        ring.key(keyId)
            .orElseThrow(
                () ->
                    new EnvelopeIntegrityException(
                        "Envelope was sealed with key id '"
                            + keyId
                            + "', which is not in the key ring "
                            + ring.keyIds()
                            + "; add that key to open it"));
    byte[] header = Arrays.copyOf(envelope, headerLength);
    byte[] nonce = Arrays.copyOfRange(envelope, KEY_ID_OFFSET + idLength, headerLength);
    byte[] sealed = Arrays.copyOfRange(envelope, headerLength, envelope.length);
    byte[] payload;
    try {
      payload = cipher.decrypt(key, nonce, concat(header, aad), sealed);
    } catch (EnvelopeIntegrityException e) {
      throw new EnvelopeIntegrityException(
          "Envelope failed authentication (key id '"
              + keyId
              + "', "
              + envelope.length
              + " bytes): it was modified or truncated, or is opened with associated data other"
              + " than it was sealed with (for example, it belongs to another record)",
          e);
    }
    return new Opened(payload, flags, keyId);
  }

  /**
   * Returns the key ring this sealer uses.
   *
   * @return the key ring
   */
  public KeyRing keyRing() {
    return ring;
  }

  @Override
  public String toString() {
    return "EnvelopeSealer[" + ring + ", cipher=" + cipher.name() + "]";
  }

  /**
   * An opened envelope.
   *
   * @param payload the authenticated plaintext
   * @param flags the flags given when sealing, 0..255
   * @param keyId the id of the key that sealed the envelope; when it is not the ring's primary,
   *     the caller may want to re-seal the record under the current primary
   */
  public record Opened(byte[] payload, int flags, String keyId) {

    /**
     * Creates an opened envelope.
     *
     * @param payload the authenticated plaintext
     * @param flags the flags, 0..255
     * @param keyId the id of the key that sealed the envelope
     */
    public Opened {
      Objects.requireNonNull(payload, "payload");
      Objects.requireNonNull(keyId, "keyId");
      if (flags < 0 || flags > MAX_FLAGS) {
        throw new IllegalArgumentException("flags must be within 0..255, not " + flags);
      }
    }

    /**
     * Describes the result without its payload, so it is safe to log.
     *
     * @return the payload length, the flags and the key id
     */
    @Override
    public String toString() {
      return "Opened[payload="
          + payload.length
          + " bytes, flags="
          + flags
          + ", keyId="
          + keyId
          + "]";
    }
  }

  private static EnvelopeIntegrityException truncated(int length, String needed) {
    return new EnvelopeIntegrityException(
        "Truncated envelope: " + length + " bytes, too short for " + needed);
  }

  private static byte[] concat(byte[] first, byte[] second) {
    byte[] joined = Arrays.copyOf(first, first.length + second.length);
    System.arraycopy(second, 0, joined, first.length, second.length);
    return joined;
  }
}
