package dev.stasis.security;

import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.InvalidKeyException;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM on {@code javax.crypto.Cipher}. Thread-safe: each thread keeps one {@code Cipher} and re-initialises it
 * per call with the call's key and nonce. Re-initialising with the same key object skips the AES key expansion, and
 * {@code Cipher.getInstance} (a provider lookup) runs once per thread instead of once per call: at 1 KB those two
 * were a fifth of the seal+open time ({@code bench/}: {@code CodecStagesBenchmark}). A {@code Cipher} that failed is
 * dropped, never reused.
 */
final class JceAeadCipher implements AeadCipher {

  private static final String TRANSFORMATION = "AES/GCM/NoPadding";

  static final JceAeadCipher INSTANCE = new JceAeadCipher();

  private static final ThreadLocal<Cipher> CIPHERS = new ThreadLocal<>();

  static {
    // The first Cipher.getInstance loads the JCE and its policy files: do that once here, when
    // the cipher is first asked for (typically while building an EnvelopeSealer at start-up),
    // not on the first request.
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

  private JceAeadCipher() {}

  @Override
  public byte[] encrypt(SecretKey key, byte[] nonce, byte[] aad, byte[] plaintext) {
    AesKeys.checkArguments(nonce, aad, plaintext);
    Arrays.fill(AesKeys.rawAes256(key), (byte) 0);
    try {
      Cipher cipher = init(Cipher.ENCRYPT_MODE, key, nonce, aad);
      return cipher.doFinal(plaintext);
    } catch (GeneralSecurityException e) {
      CIPHERS.remove();
      throw new IllegalStateException("AES-GCM encryption failed", e);
    } catch (RuntimeException e) {
      CIPHERS.remove();
      throw e;
    }
  }

  @Override
  public byte[] decrypt(SecretKey key, byte[] nonce, byte[] aad, byte[] ciphertextWithTag) {
    AesKeys.checkArguments(nonce, aad, ciphertextWithTag);
    Arrays.fill(AesKeys.rawAes256(key), (byte) 0);
    if (ciphertextWithTag.length < TAG_LENGTH) {
      throw AesKeys.authenticationFailed(name());
    }
    try {
      Cipher cipher = init(Cipher.DECRYPT_MODE, key, nonce, aad);
      return cipher.doFinal(ciphertextWithTag);
    } catch (AEADBadTagException e) {
      CIPHERS.remove();
      throw AesKeys.authenticationFailed(name());
    } catch (GeneralSecurityException e) {
      CIPHERS.remove();
      throw new IllegalStateException("AES-GCM decryption failed", e);
    } catch (RuntimeException e) {
      CIPHERS.remove();
      throw e;
    }
  }

  private static Cipher init(int mode, SecretKey key, byte[] nonce, byte[] aad)
      throws GeneralSecurityException {
    Cipher cipher = CIPHERS.get();
    if (cipher == null) {
      cipher = Cipher.getInstance(TRANSFORMATION);
      CIPHERS.set(cipher);
    }
    GCMParameterSpec spec = new GCMParameterSpec(TAG_LENGTH * 8, nonce);
    try {
      // Passing our own SecureRandom keeps the JCE from creating its default (NativePRNG) one.
      cipher.init(mode, key, spec, Randomness.RANDOM);
    } catch (InvalidKeyException e) {
      throw new IllegalArgumentException("The key is not usable for AES-GCM", e);
    } catch (InvalidAlgorithmParameterException e) {
      // The JDK refuses to encrypt twice in a row with the same key and nonce on one Cipher object. Our sealer never
      // repeats a nonce (96 random bits each time); a caller of this class that does gets what a fresh Cipher does.
      cipher = Cipher.getInstance(TRANSFORMATION);
      CIPHERS.set(cipher);
      cipher.init(mode, key, spec, Randomness.RANDOM);
    }
    cipher.updateAAD(aad);
    return cipher;
  }

  @Override
  public String name() {
    return "JCE";
  }

  @Override
  public String toString() {
    return "AeadCipher[" + name() + "]";
  }
}
