package dev.stasis.backend.redis;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.reactive.RedisClusterReactiveCommands;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import reactor.core.publisher.Mono;

/**
 * One Lua script, run with {@code EVALSHA} and, after a {@code NOSCRIPT} reply (a node that never saw it, a
 * {@code SCRIPT FLUSH}, a failover to a fresh replica), with {@code EVAL}, which also caches it on that node.
 */
final class LuaScript {

    private final String name;
    private final byte[] source;
    private final String sha;

    LuaScript(String name, String source) {
        this.name = name;
        this.source = source.getBytes(StandardCharsets.UTF_8);
        this.sha = sha1(this.source);
    }

    String name() {
        return name;
    }

    byte[] source() {
        return source.clone();
    }

    String sha() {
        return sha;
    }

    /**
     * Runs the script. All {@code keys} must hash to one slot (the script runs on that slot's node).
     *
     * @param c the commands
     * @param type the reply type
     * @param keys the keys
     * @param args the arguments
     * @param <T> the reply's Java type ({@code Long} for integers, {@code List<Object>} for arrays)
     * @return the reply
     */
    <T> Mono<T> run(RedisClusterReactiveCommands<String, byte[]> c, ScriptOutputType type, String[] keys,
            byte[][] args) {
        return c.<T>evalsha(sha, type, keys, args)
                .onErrorResume(RedisNoScriptException.class, e -> c.<T>eval(source, type, keys, args))
                .next();
    }

    private static String sha1(byte[] source) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(source));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is not available", e);
        }
    }

    @Override
    public String toString() {
        return "LuaScript[" + name + " " + sha + "]";
    }
}
