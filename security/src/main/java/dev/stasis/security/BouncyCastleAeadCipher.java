package dev.stasis.security;

import java.util.Arrays;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.engines.AESEngine;
import org.bouncycastle.crypto.modes.GCMBlockCipher;
import org.bouncycastle.crypto.modes.GCMModeCipher;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * AES-256-GCM on BouncyCastle's lightweight API; a new {@code GCMModeCipher} per call, so
 * thread-safe.
 */
final class BouncyCastleAeadCipher implements AeadCipher {

  static final BouncyCastleAeadCipher INSTANCE = new BouncyCastleAeadCipher();

  static {
    // Load and initialise the BouncyCastle classes once, when the cipher is first asked for
    // (typically while building an EnvelopeSealer at start-up), not on the first request.
    try {
      INSTANCE.encrypt(
          new SecretKeySpec(new byte[KeyRing.KEY_LENGTH], "AES"),
          new byte[NONCE_LENGTH],
          new byte[0],
          new byte[0]);
    } catch (RuntimeException e) {
      // Best effort only: a real problem shows up again, with its cause, on first use.
    }
  }

  private BouncyCastleAeadCipher() {}

  @Override
  public byte[] encrypt(SecretKey key, byte[] nonce, byte[] aad, byte[] plaintext) {
    AesKeys.checkArguments(nonce, aad, plaintext);
    GCMModeCipher gcm = init(true, key, nonce, aad);
    try {
      return run(gcm, plaintext);
    } catch (InvalidCipherTextException e) {
      throw new IllegalStateException("AES-GCM encryption failed", e);
    }
  }

  @Override
  public byte[] decrypt(SecretKey key, byte[] nonce, byte[] aad, byte[] ciphertextWithTag) {
    AesKeys.checkArguments(nonce, aad, ciphertextWithTag);
    GCMModeCipher gcm = init(false, key, nonce, aad);
    if (ciphertextWithTag.length < TAG_LENGTH) {
      throw AesKeys.authenticationFailed(name());
    }
    try {
      return run(gcm, ciphertextWithTag);
    } catch (InvalidCipherTextException e) {
      throw AesKeys.authenticationFailed(name());
    }
  }

  private static GCMModeCipher init(boolean encrypt, SecretKey key, byte[] nonce, byte[] aad) {
    byte[] raw = AesKeys.rawAes256(key);
    try {
      GCMModeCipher gcm = GCMBlockCipher.newInstance(AESEngine.newInstance());
      gcm.init(encrypt, new AEADParameters(new KeyParameter(raw), TAG_LENGTH * 8, nonce, aad));
      return gcm;
    } finally {
      Arrays.fill(raw, (byte) 0);
    }
  }

  private static byte[] run(GCMModeCipher gcm, byte[] input) throws InvalidCipherTextException {
    byte[] output = new byte[gcm.getOutputSize(input.length)];
    try {
      int length = gcm.processBytes(input, 0, input.length, output, 0);
      length += gcm.doFinal(output, length);
      return length == output.length ? output : Arrays.copyOf(output, length);
    } catch (InvalidCipherTextException e) {
      // When decrypting, processBytes already wrote unauthenticated plaintext: discard it.
      Arrays.fill(output, (byte) 0);
      throw e;
    }
  }

  @Override
  public String name() {
    return "BouncyCastle";
  }

  @Override
  public String toString() {
    return "AeadCipher[" + name() + "]";
  }
}
