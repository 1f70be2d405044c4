package dev.stasis.security;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;

/**
 * The AES-256 keys Stasis seals records with, each under a short id, one of them the primary.
 *
 * <p>New records are sealed with the {@linkplain #primaryKey() primary key}; records sealed under
 * any other key in the ring still open, which is how keys are rotated: add a new key, make it the
 * primary, and keep the old one until no record needs it.
 *
 * <p>Key ids match {@code [A-Za-z0-9._-]{1,32}}, keys are exactly 32 bytes, ids are unique, the
 * primary must be in the ring and the ring must not be empty. Anything else is a {@link
 * KeyRingException}: configuration fails closed. No message and no {@link #toString()} ever
 * contains key material.
 *
 * <p>A key ring is immutable and thread-safe. Loading one from the environment or a file is a
 * one-time configuration step that may read a file (blocking I/O); do it at start-up, never on an
 * event-loop thread. Building a ring also seeds this module's random generator (which reads the
 * operating system's entropy source once), so that generating nonces and resume keys later does
 * no I/O. Everything else here does no I/O.
 */
public final class KeyRing {

  /**
   * Environment variable holding the keys: a comma-separated list of {@code id:base64key} entries,
   * each key being 32 bytes in standard or URL-safe base64 (padding optional). Takes precedence
   * over {@link #ENV_KEY_FILE}.
   */
  public static final String ENV_KEYS = "STASIS_KEYS";

  /**
   * Optional environment variable naming the id of the primary key. Without it the primary is the
   * first key listed in {@link #ENV_KEYS}, or the key file's {@code primary=} line, or else its
   * first key.
   */
  public static final String ENV_PRIMARY = "STASIS_PRIMARY_KEY";

  /**
   * Environment variable holding the path of a key file (see {@link #fromFile(Path)}). Used only
   * when {@link #ENV_KEYS} is not set.
   */
  public static final String ENV_KEY_FILE = "STASIS_KEY_FILE";

  static final int KEY_LENGTH = 32;
  static final int MAX_KEY_ID_LENGTH = 32;

  private static final Pattern KEY_ID = Pattern.compile("[A-Za-z0-9._-]{1,32}");
  private static final Pattern PRIMARY_LINE = Pattern.compile("primary\\s*=(.*)");
  private static final String KEY_ID_RULE = "key ids must match [A-Za-z0-9._-]{1,32}";
  private static final String DEVELOPMENT_KEY_ID = "dev";
  private static final Set<PosixFilePermission> OWNER_READ_WRITE =
      PosixFilePermissions.fromString("rw-------");

  private static final String HOW_TO_CONFIGURE =
      "Either set "
          + ENV_KEYS
          + " to a comma-separated list of id:base64key entries (each key 32 random bytes in"
          + " standard or URL-safe base64), optionally with "
          + ENV_PRIMARY
          + "=<id> to choose the key that seals new records (default: the first listed);"
          + " or set "
          + ENV_KEY_FILE
          + " to the path of a key file with one id:base64key line per key (blank lines and"
          + " # comments are ignored; an optional primary=<id> line chooses the primary, default:"
          + " the first key). Generate an entry with KeyRing.generateKeyLine(\"k1\"), or in a"
          + " shell: echo \"k1:$(openssl rand -base64 32)\".";

  private final Map<String, SecretKey> keys;
  private final String primaryKeyId;
  private final SecretKey primaryKey;

  private KeyRing(Map<String, SecretKey> keys, String primaryKeyId) {
    this.keys = Collections.unmodifiableMap(new LinkedHashMap<>(keys));
    this.primaryKeyId = primaryKeyId;
    this.primaryKey = Objects.requireNonNull(this.keys.get(primaryKeyId));
    // Seed the random generator now, at configuration time, not on a request thread later.
    Randomness.ensureSeeded();
  }

  /**
   * Starts building a key ring in code.
   *
   * @return a new, empty builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Loads the key ring from the process environment ({@link System#getenv()}).
   *
   * <p>{@link #ENV_KEYS} wins over {@link #ENV_KEY_FILE}; {@link #ENV_PRIMARY} optionally chooses
   * the primary in either case. May read the key file: a one-time, blocking configuration step.
   *
   * @return the configured key ring
   * @throws KeyRingException when neither variable is set (the message explains how to configure
   *     and generate a key) or the configuration is invalid
   */
  public static KeyRing fromEnvironment() {
    return fromEnvironment(System.getenv());
  }

  /**
   * Loads the key ring from the given environment variables; the testable form of {@link
   * #fromEnvironment()}.
   *
   * <p>{@link #ENV_KEYS}, when set and not blank, is used and {@link #ENV_KEY_FILE} is ignored;
   * otherwise the key file named by {@link #ENV_KEY_FILE} is read with {@link #fromFile(Path)}
   * rules. {@link #ENV_PRIMARY}, when set, overrides the default primary of either source (the
   * first key listed, or the file's {@code primary=} line). Blank values count as unset.
   *
   * @param env the environment variables
   * @return the configured key ring
   * @throws KeyRingException when neither {@link #ENV_KEYS} nor {@link #ENV_KEY_FILE} is set (the
   *     message explains how to configure and generate a key) or the configuration is invalid
   */
  public static KeyRing fromEnvironment(Map<String, String> env) {
    Objects.requireNonNull(env, "env");
    @Nullable String keys = nonBlank(env.get(ENV_KEYS));
    @Nullable String file = nonBlank(env.get(ENV_KEY_FILE));
    @Nullable String primary = nonBlank(env.get(ENV_PRIMARY));
    Builder builder;
    if (keys != null) {
      builder = parseKeysVariable(keys);
    } else if (file != null) {
      Path path;
      try {
        path = Path.of(file);
      } catch (InvalidPathException e) {
        throw new KeyRingException(ENV_KEY_FILE + " is not a valid path: " + e.getMessage(), e);
      }
      builder = readKeyFile(path);
    } else {
      throw new KeyRingException("No encryption key is configured. " + HOW_TO_CONFIGURE);
    }
    if (primary != null) {
      if (!builder.keys.containsKey(primary)) {
        throw new KeyRingException(
            ENV_PRIMARY
                + " names key id "
                + describeId(primary)
                + ", which is not among the configured key ids "
                + builder.keys.keySet());
      }
      builder.primary(primary);
    }
    return builder.build();
  }

  /**
   * Loads a key ring from a key file. This reads the file: a one-time, blocking configuration
   * step.
   *
   * <p>The file is UTF-8 text with one {@code id:base64key} line per key (32 bytes, standard or
   * URL-safe base64, padding optional). Blank lines and lines starting with {@code #} are ignored.
   * An optional {@code primary=id} line chooses the primary; without it the first key is the
   * primary. Keep the file readable by its owner only.
   *
   * @param file the key file
   * @return the key ring it holds
   * @throws KeyRingException when the file cannot be read or its content is invalid (the message
   *     names the file and line, never its content)
   */
  public static KeyRing fromFile(Path file) {
    return readKeyFile(file).build();
  }

  /**
   * Development mode only: loads the key file, or, when it does not exist, creates it (and its
   * parent directories) holding one fresh key, with POSIX permissions {@code 0600} ({@code
   * rw-------}) where the file system supports them. The result says whether the file was
   * created, so the caller can warn on stderr that a development key is in use.
   *
   * <p>This does blocking file I/O; it is a one-time configuration step. Never use it in
   * production: losing the file makes every record sealed with it unreadable.
   *
   * @param file the development key file
   * @return the key ring, the file, and whether the file was created
   * @throws KeyRingException when the file cannot be read, created or written, or is invalid
   */
  public static DevelopmentKey loadOrCreateDevelopmentKeyFile(Path file) {
    Objects.requireNonNull(file, "file");
    if (Files.exists(file)) {
      return new DevelopmentKey(fromFile(file), file, false);
    }
    try {
      Path parent = file.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      boolean posix = file.getFileSystem().supportedFileAttributeViews().contains("posix");
      try {
        if (posix) {
          Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_READ_WRITE));
        } else {
          Files.createFile(file);
        }
      } catch (FileAlreadyExistsException e) {
        // Someone else created it meanwhile: use theirs.
        return new DevelopmentKey(fromFile(file), file, false);
      }
      byte[] content = developmentKeyFileContent();
      try {
        if (posix) {
          // The umask cannot widen what createFile set, but make the mode exact anyway.
          Files.setPosixFilePermissions(file, OWNER_READ_WRITE);
        }
        Files.write(file, content);
      } catch (IOException e) {
        try {
          Files.deleteIfExists(file);
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
        throw e;
      } finally {
        Arrays.fill(content, (byte) 0);
      }
    } catch (IOException e) {
      throw new KeyRingException("Cannot create development key file " + file + ": " + e, e);
    }
    return new DevelopmentKey(fromFile(file), file, true);
  }

  /**
   * The result of {@link #loadOrCreateDevelopmentKeyFile(Path)}.
   *
   * @param keyRing the key ring loaded from the file
   * @param file the key file
   * @param created {@code true} when the file did not exist and was created with a fresh key
   */
  public record DevelopmentKey(KeyRing keyRing, Path file, boolean created) {

    /**
     * Creates the result.
     *
     * @param keyRing the key ring loaded from the file
     * @param file the key file
     * @param created whether the file was created
     */
    public DevelopmentKey {
      Objects.requireNonNull(keyRing, "keyRing");
      Objects.requireNonNull(file, "file");
    }
  }

  /**
   * Generates a new AES-256 key.
   *
   * @return 32 bytes from a {@link java.security.SecureRandom}
   */
  public static byte[] generateKey() {
    return Randomness.bytes(KEY_LENGTH);
  }

  /**
   * Generates a new key and formats it as {@code id:base64key} (standard base64), ready to be a
   * line of a key file or an entry of {@link #ENV_KEYS}.
   *
   * @param id the key id; must match {@code [A-Za-z0-9._-]{1,32}}
   * @return the key line; it is secret, treat it as such
   * @throws KeyRingException when the id is invalid
   */
  public static String generateKeyLine(String id) {
    checkKeyId(id);
    byte[] key = generateKey();
    try {
      return id + ":" + Base64.getEncoder().encodeToString(key);
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  /**
   * Returns the id of the primary key, the key that seals new records.
   *
   * @return the primary key id
   */
  public String primaryKeyId() {
    return primaryKeyId;
  }

  /**
   * Returns the primary key, the key that seals new records.
   *
   * @return the primary AES-256 key
   */
  public SecretKey primaryKey() {
    return primaryKey;
  }

  /**
   * Looks a key up by id.
   *
   * @param id the key id
   * @return the key, or empty when the ring has no key with that id
   */
  public Optional<SecretKey> key(String id) {
    return Optional.ofNullable(keys.get(Objects.requireNonNull(id, "id")));
  }

  /**
   * Returns the ids of all keys, in the order they were added.
   *
   * @return an unmodifiable set of key ids, never empty
   */
  public Set<String> keyIds() {
    return keys.keySet();
  }

  /**
   * Describes the ring by its key ids and primary only, never its key material.
   *
   * @return a log-safe description
   */
  @Override
  public String toString() {
    return "KeyRing[primary=" + primaryKeyId + ", keyIds=" + keys.keySet() + "]";
  }

  /** Builds a {@link KeyRing} in code. Not thread-safe. */
  public static final class Builder {

    private final Map<String, SecretKey> keys = new LinkedHashMap<>();
    private @Nullable String primary;

    private Builder() {}

    /**
     * Adds a key. The bytes are copied; the caller may clear its array afterwards.
     *
     * @param id the key id; must match {@code [A-Za-z0-9._-]{1,32}} and be new to this builder
     * @param key32 the AES-256 key, exactly 32 bytes
     * @return this builder
     * @throws KeyRingException when the id is invalid or already present, or the key is not 32
     *     bytes
     */
    public Builder add(String id, byte[] key32) {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(key32, "key32");
      checkKeyId(id);
      if (key32.length != KEY_LENGTH) {
        throw new KeyRingException(
            "Key '"
                + id
                + "' must be exactly "
                + KEY_LENGTH
                + " bytes (AES-256), but is "
                + key32.length
                + " bytes");
      }
      if (keys.containsKey(id)) {
        throw new KeyRingException("Duplicate key id '" + id + "': key ids must be unique");
      }
      keys.put(id, new SecretKeySpec(key32, "AES"));
      return this;
    }

    /**
     * Chooses the primary key, the one that seals new records. Without this call the first key
     * added is the primary.
     *
     * @param id the id of a key added to this builder (before or after this call)
     * @return this builder
     */
    public Builder primary(String id) {
      this.primary = Objects.requireNonNull(id, "id");
      return this;
    }

    /**
     * Builds the key ring.
     *
     * @return the immutable key ring
     * @throws KeyRingException when no key was added or the chosen primary is not among them
     */
    public KeyRing build() {
      if (keys.isEmpty()) {
        throw new KeyRingException("A key ring needs at least one key. " + HOW_TO_CONFIGURE);
      }
      String primaryId = primary != null ? primary : keys.keySet().iterator().next();
      if (!keys.containsKey(primaryId)) {
        throw new KeyRingException(
            "The primary key id "
                + describeId(primaryId)
                + " is not in the key ring; key ids: "
                + keys.keySet());
      }
      return new KeyRing(keys, primaryId);
    }
  }

  /** Whether {@code id} is a valid key id. */
  static boolean isValidKeyId(String id) {
    return KEY_ID.matcher(id).matches();
  }

  private static void checkKeyId(String id) {
    Objects.requireNonNull(id, "id");
    if (!isValidKeyId(id)) {
      // The id itself is not echoed: an invalid "id" may be a key pasted in the wrong place.
      throw new KeyRingException(
          "Invalid key id (" + id.length() + " characters): " + KEY_ID_RULE);
    }
  }

  /** Quotes an id for a message, or only describes it when it is not a valid id. */
  private static String describeId(String id) {
    return isValidKeyId(id) ? "'" + id + "'" : "(an invalid key id of " + id.length() + " chars)";
  }

  private static @Nullable String nonBlank(@Nullable String value) {
    return value == null || value.isBlank() ? null : value.strip();
  }

  private static Builder parseKeysVariable(String value) {
    Builder builder = new Builder();
    String[] entries = value.split(",", -1);
    for (int i = 0; i < entries.length; i++) {
      String entry = entries[i].strip();
      if (entry.isEmpty()) {
        continue;
      }
      addEntry(builder, entry, ENV_KEYS + " entry " + (i + 1), "id:base64key");
    }
    if (builder.keys.isEmpty()) {
      throw new KeyRingException(ENV_KEYS + " is set but holds no keys. " + HOW_TO_CONFIGURE);
    }
    return builder;
  }

  private static Builder readKeyFile(Path file) {
    Objects.requireNonNull(file, "file");
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new KeyRingException(
          "Key file " + file + " does not exist. " + HOW_TO_CONFIGURE, e);
    } catch (IOException e) {
      throw new KeyRingException("Cannot read key file " + file + ": " + e, e);
    }
    Builder builder = new Builder();
    @Nullable String primary = null;
    int primaryLine = 0;
    for (int i = 0; i < lines.size(); i++) {
      String where = "Key file " + file + ", line " + (i + 1);
      String line = lines.get(i).strip();
      if (i == 0 && line.startsWith("\uFEFF")) {
        line = line.substring(1).strip();
      }
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      Matcher primaryMatch = PRIMARY_LINE.matcher(line);
      if (primaryMatch.matches()) {
        if (primary != null) {
          throw new KeyRingException(
              where + ": a second primary= line (the first is line " + primaryLine + ")");
        }
        primary = primaryMatch.group(1).strip();
        primaryLine = i + 1;
        if (primary.isEmpty()) {
          throw new KeyRingException(where + ": primary= needs a key id");
        }
        continue;
      }
      addEntry(builder, line, where, "id:base64key or primary=id");
    }
    if (builder.keys.isEmpty()) {
      throw new KeyRingException("Key file " + file + " holds no keys. " + HOW_TO_CONFIGURE);
    }
    if (primary != null) {
      if (!builder.keys.containsKey(primary)) {
        throw new KeyRingException(
            "Key file "
                + file
                + ", line "
                + primaryLine
                + ": primary key id "
                + describeId(primary)
                + " is not among the key ids in the file "
                + builder.keys.keySet());
      }
      builder.primary(primary);
    }
    return builder;
  }

  /** Parses one {@code id:base64key} entry into the builder; messages never show the entry. */
  private static void addEntry(Builder builder, String entry, String where, String expected) {
    int colon = entry.indexOf(':');
    if (colon < 0) {
      throw new KeyRingException(where + ": expected " + expected);
    }
    String id = entry.substring(0, colon).strip();
    String encoded = entry.substring(colon + 1).strip();
    if (!isValidKeyId(id)) {
      throw new KeyRingException(
          where + ": invalid key id (" + id.length() + " characters): " + KEY_ID_RULE);
    }
    byte[] key = decodeBase64(encoded, id, where);
    try {
      builder.add(id, key);
    } catch (KeyRingException e) {
      throw new KeyRingException(where + ": " + e.getMessage());
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  private static byte[] decodeBase64(String encoded, String id, String where) {
    Base64.Decoder decoder =
        encoded.indexOf('-') >= 0 || encoded.indexOf('_') >= 0
            ? Base64.getUrlDecoder()
            : Base64.getDecoder();
    try {
      return decoder.decode(encoded);
    } catch (IllegalArgumentException e) {
      // The decoder's message quotes the offending character, so it is not passed on.
      throw new KeyRingException(
          where + ": key '" + id + "' is not valid base64 (standard or URL-safe)");
    }
  }

  private static byte[] developmentKeyFileContent() {
    String content =
        "# Stasis DEVELOPMENT key file, created by development mode.\n"
            + "# Never use it in production: configure "
            + ENV_KEYS
            + " or "
            + ENV_KEY_FILE
            + " instead.\n"
            + "# Records sealed with this key cannot be opened without this file.\n"
            + "# Format: one id:base64key line per key; optional primary=<id> line.\n"
            + generateKeyLine(DEVELOPMENT_KEY_ID)
            + "\n";
    return content.getBytes(StandardCharsets.UTF_8);
  }
}
