package dev.stasis.backend.filesystem;

import dev.stasis.FlowStatus;
import dev.stasis.StorageException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;

/**
 * The record file format (version 1). One file per flow holds a small plain header (the index fields) followed by
 * the sealed state, each with its own CRC32C, so that scans read only the header and any file that was not written
 * whole is detected:
 *
 * <pre>
 * offset        size  content
 * 0             4     magic "STFR"
 * 4             1     format version (1)
 * 5             4     H = header length (big-endian)
 * 9             H     header: the plain fields of {@link FlowRecord}, see {@link #encodeHeader}
 * 9+H           4     CRC32C of bytes [0, 9+H)
 * 13+H          4     S = state length
 * 17+H          S     the sealed state (an AES-256-GCM envelope, opaque to the store)
 * 17+H+S        4     CRC32C of bytes [13+H, 17+H+S)
 * total 21+H+S
 * </pre>
 *
 * The CRCs catch accidental damage (a torn copy, a bad disk); they are not a security measure. Tampering is caught by
 * the envelope's authentication tag, which binds the state to the record's identity.
 */
final class RecordFormat {

    static final byte[] MAGIC = {'S', 'T', 'F', 'R'};
    static final int FORMAT_VERSION = 1;
    static final int PREFIX = 9;
    static final int MAX_HEADER = 16 * 1024 * 1024;
    /** How much a header-only read takes in its first read; almost every header fits. */
    static final int FIRST_READ = 4096;

    private static final byte[] NO_STATE = new byte[0];

    private RecordFormat() {}

    /**
     * Encodes a whole record file.
     *
     * @param r the record
     * @return the file's bytes
     */
    static byte[] encode(FlowRecord r) {
        byte[] header = encodeHeader(r);
        byte[] state = r.state();
        ByteBuffer b = ByteBuffer.allocate(21 + header.length + state.length);
        b.put(MAGIC).put((byte) FORMAT_VERSION).putInt(header.length).put(header);
        b.putInt(crc(b.array(), 0, PREFIX + header.length));
        int stateStart = b.position();
        b.putInt(state.length).put(state);
        b.putInt(crc(b.array(), stateStart, 4 + state.length));
        return b.array();
    }

    /**
     * Decodes a whole record file.
     *
     * @param file the file's bytes
     * @param expectedId the flow id the file name says it holds
     * @param where the file, for messages
     * @return the record
     * @throws StorageException when the file is not a complete, undamaged record of that flow
     */
    static FlowRecord decode(byte[] file, String expectedId, Object where) {
        int headerLength = checkPrefix(file, file.length, where);
        int stateStart = PREFIX + headerLength + 4;
        if (file.length < stateStart + 4) {
            throw Errors.corrupt(where, "truncated after the header");
        }
        checkHeaderCrc(file, headerLength, where);
        int stateLength = ByteBuffer.wrap(file, stateStart, 4).getInt();
        if (stateLength < 0 || (long) stateStart + 4 + stateLength + 4 != file.length) {
            throw Errors.corrupt(where, "length " + file.length + " does not match its header");
        }
        int storedCrc = ByteBuffer.wrap(file, stateStart + 4 + stateLength, 4).getInt();
        if (storedCrc != crc(file, stateStart, 4 + stateLength)) {
            throw Errors.corrupt(where, "state checksum mismatch");
        }
        byte[] state = Arrays.copyOfRange(file, stateStart + 4, stateStart + 4 + stateLength);
        return decodeHeader(file, headerLength, state, expectedId, where);
    }

    /**
     * Reads only the header of a record file: the plain fields, with an empty state. Checks the header's CRC and that
     * the file's size matches what the header promises, without reading the state.
     *
     * @param channel the open file
     * @param expectedId the flow id the file name says it holds
     * @param where the file, for messages
     * @return the record's plain fields ({@link FlowRecord#state()} is empty)
     * @throws IOException on read errors
     * @throws StorageException when the header is damaged
     */
    static FlowRecord readHeader(FileChannel channel, String expectedId, Object where) throws IOException {
        long size = channel.size();
        ByteBuffer first = ByteBuffer.allocate((int) Math.min(size, FIRST_READ));
        readFully(channel, first, 0);
        byte[] bytes = first.array();
        int headerLength = checkPrefix(bytes, size, where);
        int needed = PREFIX + headerLength + 8;
        if (size < needed) {
            throw Errors.corrupt(where, "truncated after the header");
        }
        if (bytes.length < needed) {
            ByteBuffer all = ByteBuffer.allocate(needed);
            readFully(channel, all, 0);
            bytes = all.array();
        }
        checkHeaderCrc(bytes, headerLength, where);
        int stateLength = ByteBuffer.wrap(bytes, PREFIX + headerLength + 4, 4).getInt();
        if (stateLength < 0 || (long) needed + stateLength + 4 != size) {
            throw Errors.corrupt(where, "size " + size + " does not match its header");
        }
        return decodeHeader(bytes, headerLength, NO_STATE, expectedId, where);
    }

    /**
     * The header: every plain field of the record in a fixed order. Strings are a 4-byte length and UTF-8 bytes;
     * nullable values are preceded by a presence byte; instants are epoch milliseconds.
     *
     * @param r the record
     * @return the header bytes
     */
    static byte[] encodeHeader(FlowRecord r) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            writeString(out, r.id());
            writeString(out, r.flowName());
            out.writeInt(r.flowVersion());
            writeString(out, r.status().name());
            out.writeLong(r.version());
            out.writeLong(r.createdAt().toEpochMilli());
            out.writeLong(r.updatedAt().toEpochMilli());
            writeInstant(out, r.deadline());
            writeNullableString(out, r.correlationId());
            out.writeInt(r.waits().size());
            for (WaitRecord w : r.waits()) {
                writeString(out, w.keyHash());
                writeString(out, w.awaitId());
                writeInstant(out, w.deadline());
                writeString(out, w.status().name());
            }
            writeNullableString(out, r.leaseOwner());
            writeInstant(out, r.leaseExpiresAt());
            writeInstant(out, r.retainUntil());
            out.writeInt(r.metadata().size());
            for (Map.Entry<String, String> e : r.metadata().entrySet()) {
                writeString(out, e.getKey());
                writeString(out, e.getValue());
            }
        } catch (IOException e) {
            throw new IllegalStateException("writing to memory failed", e);
        }
        if (bytes.size() > MAX_HEADER) {
            throw new StorageException("filesystem store: the plain fields of record " + r.id() + " take "
                    + bytes.size() + " bytes, more than the limit of " + MAX_HEADER + " (too much metadata?)");
        }
        return bytes.toByteArray();
    }

    private static FlowRecord decodeHeader(byte[] file, int headerLength, byte[] state, String expectedId,
            Object where) {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(file, PREFIX, headerLength));
        try {
            FlowRecord.Builder b = FlowRecord.builder();
            String id = readString(in, headerLength);
            if (!id.equals(expectedId)) {
                throw Errors.corrupt(where, "it holds flow " + id + ", not " + expectedId);
            }
            b.id(id).flowName(readString(in, headerLength)).flowVersion(in.readInt())
                    .status(FlowStatus.valueOf(readString(in, headerLength)))
                    .version(in.readLong())
                    .createdAt(Instant.ofEpochMilli(in.readLong()))
                    .updatedAt(Instant.ofEpochMilli(in.readLong()))
                    .deadline(readInstant(in))
                    .correlationId(readNullableString(in, headerLength));
            int waitCount = readCount(in, headerLength);
            List<WaitRecord> waits = new ArrayList<>(waitCount);
            for (int i = 0; i < waitCount; i++) {
                waits.add(new WaitRecord(readString(in, headerLength), readString(in, headerLength), readInstant(in),
                        WaitRecord.Status.valueOf(readString(in, headerLength))));
            }
            b.waits(waits)
                    .leaseOwner(readNullableString(in, headerLength))
                    .leaseExpiresAt(readInstant(in))
                    .retainUntil(readInstant(in));
            int metaCount = readCount(in, headerLength);
            Map<String, String> metadata = new LinkedHashMap<>();
            for (int i = 0; i < metaCount; i++) {
                metadata.put(readString(in, headerLength), readString(in, headerLength));
            }
            if (in.available() != 0) {
                throw Errors.corrupt(where, "unexpected bytes after the header fields");
            }
            return b.metadata(metadata).state(state).build();
        } catch (EOFException e) {
            throw Errors.corrupt(where, "header ends early");
        } catch (IOException | IllegalArgumentException | NullPointerException e) {
            throw Errors.corrupt(where, "unreadable header: " + e.getMessage());
        }
    }

    private static int checkPrefix(byte[] bytes, long fileSize, Object where) {
        if (fileSize < PREFIX || bytes.length < PREFIX) {
            throw Errors.corrupt(where, "only " + fileSize + " bytes");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) {
                throw Errors.corrupt(where, "not a record file (bad magic)");
            }
        }
        if (bytes[4] != FORMAT_VERSION) {
            throw Errors.corrupt(where, "unknown format version " + bytes[4]);
        }
        int headerLength = ByteBuffer.wrap(bytes, 5, 4).getInt();
        if (headerLength < 0 || headerLength > MAX_HEADER) {
            throw Errors.corrupt(where, "implausible header length " + headerLength);
        }
        return headerLength;
    }

    private static void checkHeaderCrc(byte[] bytes, int headerLength, Object where) {
        int stored = ByteBuffer.wrap(bytes, PREFIX + headerLength, 4).getInt();
        if (stored != crc(bytes, 0, PREFIX + headerLength)) {
            throw Errors.corrupt(where, "header checksum mismatch");
        }
    }

    static int crc(byte[] bytes, int offset, int length) {
        CRC32C c = new CRC32C();
        c.update(bytes, offset, length);
        return (int) c.getValue();
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        long pos = position;
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, pos);
            if (n < 0) {
                throw new EOFException("record file shrank while it was read");
            }
            pos += n;
        }
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static void writeNullableString(DataOutputStream out, @Nullable String s) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            writeString(out, s);
        }
    }

    private static void writeInstant(DataOutputStream out, @Nullable Instant t) throws IOException {
        out.writeBoolean(t != null);
        if (t != null) {
            out.writeLong(t.toEpochMilli());
        }
    }

    private static String readString(DataInputStream in, int limit) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > limit) {
            throw new IOException("implausible string length " + n);
        }
        byte[] b = in.readNBytes(n);
        if (b.length != n) {
            throw new EOFException();
        }
        return new String(b, StandardCharsets.UTF_8);
    }

    private static @Nullable String readNullableString(DataInputStream in, int limit) throws IOException {
        return in.readBoolean() ? readString(in, limit) : null;
    }

    private static @Nullable Instant readInstant(DataInputStream in) throws IOException {
        return in.readBoolean() ? Instant.ofEpochMilli(in.readLong()) : null;
    }

    private static int readCount(DataInputStream in, int limit) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > limit) {
            throw new IOException("implausible count " + n);
        }
        return n;
    }
}
