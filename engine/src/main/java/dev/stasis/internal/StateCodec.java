package dev.stasis.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stasis.StasisException;
import dev.stasis.StateIntegrityException;
import dev.stasis.security.EnvelopeIntegrityException;
import dev.stasis.security.EnvelopeSealer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Turns a {@link FlowState} into sealed bytes and back: Jackson JSON, then gzip (skipped for JSON under
 * {@value #MIN_COMPRESS} bytes and when it does not make the payload smaller), then AES-256-GCM through {@link EnvelopeSealer}. The envelope's flags record whether the
 * payload is compressed and which codec wrote it; the associated data binds the envelope to the record's identity
 * (flow id, flow name and version, record version). Pure CPU work on byte arrays: it does not block.
 */
public final class StateCodec {

    /** Flag bit: the payload is gzip-compressed. */
    public static final int FLAG_GZIP = 0x01;
    /** Codec id in the flags' high nibble: 0 = Jackson JSON. */
    public static final int CODEC_JSON = 0x00;
    /**
     * States of fewer JSON bytes are stored uncompressed. Below this size deflate saves tens of bytes (a finished
     * flow's 197-byte state becomes 151) at the cost of a whole deflate cycle: resetting a pooled deflater clears
     * its 64 KB hash table, and the block's Huffman trees are built for a few hundred bytes. In the PostgreSQL load
     * run that cycle was ~8 % of the engine's CPU per resume (async-profiler, {@code bench/README.md}).
     */
    static final int MIN_COMPRESS = 512;
    private static final int MAX_PLAINTEXT = 64 * 1024 * 1024;

    private final EnvelopeSealer sealer;
    private final ObjectMapper mapper;
    // built once, here: an ObjectReader/ObjectWriter resolves the (de)serializer of FlowState when it is created, so
    // the first resumes under load do not all queue on Jackson's cache lock to build it (a parked event loop)
    private final com.fasterxml.jackson.databind.ObjectReader reader;
    private final com.fasterxml.jackson.databind.ObjectWriter writer;
    private final @org.jspecify.annotations.Nullable Gzip gzip;

    /**
     * Creates a codec.
     *
     * @param sealer the envelope sealer (holds the key ring)
     * @param mapper Jackson mapper for the state
     * @param gzipLevel 1 (fastest) to 9 (smallest), or 0 to never compress
     */
    public StateCodec(EnvelopeSealer sealer, ObjectMapper mapper, int gzipLevel) {
        if (gzipLevel < 0 || gzipLevel > 9) {
            throw new IllegalArgumentException("gzip level must be 0..9, was " + gzipLevel);
        }
        this.sealer = sealer;
        this.mapper = mapper;
        this.reader = mapper.readerFor(FlowState.class);
        this.writer = mapper.writerFor(FlowState.class);
        this.gzip = gzipLevel == 0 ? null : new Gzip(gzipLevel);
    }

    /**
     * The associated data of a record: binds a ciphertext to that record and that version of it.
     *
     * @param flowId the flow id
     * @param flowName the flow name
     * @param flowVersion the flow's definition version
     * @param recordVersion the record's compare-and-set version the bytes are written under
     * @return the AAD bytes
     */
    public static byte[] aad(String flowId, String flowName, int flowVersion, long recordVersion) {
        return ("stasis/1|" + flowId + "|" + flowName + "|" + flowVersion + "|" + recordVersion)
                .getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Serializes, compresses and seals.
     *
     * @param state the state
     * @param aad the record's associated data ({@link #aad})
     * @return the envelope
     */
    public byte[] seal(FlowState state, byte[] aad) {
        byte[] json;
        try {
            json = writer.writeValueAsBytes(state);
        } catch (IOException e) {
            throw new StasisException("cannot serialize flow state: " + e.getMessage(), e);
        }
        int flags = CODEC_JSON;
        byte[] payload = json;
        if (gzip != null && json.length >= MIN_COMPRESS) {
            byte[] zipped = gzip.compress(json);
            if (zipped.length < json.length) {
                payload = zipped;
                flags |= FLAG_GZIP;
            }
        }
        return sealer.seal(payload, flags, aad);
    }

    /**
     * Opens, decompresses and deserializes.
     *
     * @param envelope the stored bytes
     * @param aad the record's associated data
     * @return the state
     * @throws StateIntegrityException when the envelope does not authenticate or its content cannot be decoded
     */
    public FlowState open(byte[] envelope, byte[] aad) {
        EnvelopeSealer.Opened opened;
        try {
            opened = sealer.open(envelope, aad);
        } catch (EnvelopeIntegrityException e) {
            throw new StateIntegrityException("stored state failed authentication: " + e.getMessage(), e);
        }
        if ((opened.flags() & 0xF0) != CODEC_JSON) {
            throw new StateIntegrityException("stored state uses an unknown codec " + (opened.flags() >> 4));
        }
        try {
            byte[] json = (opened.flags() & FLAG_GZIP) != 0
                    ? Gzip.decompress(opened.payload(), MAX_PLAINTEXT)
                    : opened.payload();
            return reader.readValue(json);
        } catch (IOException e) {
            throw new StateIntegrityException("stored state cannot be decoded: " + e.getClass().getSimpleName(), e);
        }
    }
}
