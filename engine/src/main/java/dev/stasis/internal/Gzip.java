package dev.stasis.internal;

import java.io.IOException;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * gzip (RFC 1952) on byte arrays with pooled {@link Deflater}s and {@link Inflater}s.
 *
 * <p>Why not {@code GZIPOutputStream}/{@code GZIPInputStream}: each one creates and ends a native zlib stream, and
 * for the 1 KB states most flows have that set-up (zlib allocates and clears ~256 KB at level 6) cost more than the
 * compression itself (measured in {@code bench/}: {@code CodecStagesBenchmark}). A pooled deflater is only
 * {@code reset()} between uses. The bytes written are a standard gzip member (the same as {@code GZIPOutputStream}'s
 * but for the OS byte); the reader accepts any single-member gzip, including optional header fields, so states
 * written by earlier versions still open.
 *
 * <p>The pools never block: an empty pool makes a new instance, a full one ends the returned instance.
 */
public final class Gzip {

    private static final int POOL_SIZE = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
    private static final int FTEXT = 1;
    private static final int FHCRC = 2;
    private static final int FEXTRA = 4;
    private static final int FNAME = 8;
    private static final int FCOMMENT = 16;
    private static final int TRAILER = 8;
    private static final byte[] HEADER = {0x1f, (byte) 0x8b, Deflater.DEFLATED, 0, 0, 0, 0, 0, 0, (byte) 0xff};

    private final int level;
    private final Pool<Deflater> deflaters;
    private static final Pool<Inflater> INFLATERS = new Pool<>(() -> new Inflater(true));

    /**
     * A compressor at one deflate level.
     *
     * @param level 1 (fastest) to 9 (smallest)
     */
    public Gzip(int level) {
        if (level < 1 || level > 9) {
            throw new IllegalArgumentException("gzip level must be 1..9, was " + level);
        }
        this.level = level;
        this.deflaters = new Pool<>(() -> new Deflater(level, true));
    }

    /**
     * The deflate level.
     *
     * @return 1..9
     */
    public int level() {
        return level;
    }

    /**
     * Compresses {@code data} into one gzip member.
     *
     * @param data the bytes
     * @return the gzip member
     */
    public byte[] compress(byte[] data) {
        Deflater deflater = deflaters.take();
        try {
            deflater.setInput(data);
            deflater.finish();
            // deflated straight after the header in one array sized for deflate's worst case (zlib's deflateBound
            // plus slack), so the member is copied once, to its exact length, and not through a stream
            int n = data.length;
            byte[] out = new byte[HEADER.length + n + (n >> 12) + (n >> 14) + 64 + TRAILER];
            System.arraycopy(HEADER, 0, out, 0, HEADER.length);
            int pos = HEADER.length;
            while (!deflater.finished()) {
                if (out.length - pos - TRAILER < 64) {
                    out = Arrays.copyOf(out, out.length * 2);
                }
                pos += deflater.deflate(out, pos, out.length - pos - TRAILER);
            }
            CRC32 crc = new CRC32();
            crc.update(data);
            writeIntLe(out, pos, (int) crc.getValue());
            writeIntLe(out, pos + 4, n);
            deflaters.give(deflater);
            return Arrays.copyOf(out, pos + TRAILER);
        } catch (RuntimeException e) {
            deflater.end();
            throw e;
        }
    }

    /**
     * Decompresses one gzip member.
     *
     * @param data the gzip bytes
     * @param maxSize the largest decompressed size accepted
     * @return the decompressed bytes
     * @throws IOException when {@code data} is not a well-formed gzip member, fails its CRC or size check, or
     *     decompresses to more than {@code maxSize} bytes
     */
    public static byte[] decompress(byte[] data, int maxSize) throws IOException {
        int pos = headerLength(data);
        if (data.length < pos + 8) {
            throw new IOException("gzip data truncated");
        }
        int expectedSize = readIntLe(data, data.length - 4);
        int expectedCrc = readIntLe(data, data.length - 8);
        if (expectedSize < 0 || expectedSize > maxSize) {
            throw new IOException("state larger than " + maxSize + " bytes");
        }
        Inflater inflater = INFLATERS.take();
        try {
            inflater.setInput(data, pos, data.length - 8 - pos);
            byte[] out = new byte[expectedSize];
            int n = 0;
            while (n < expectedSize) {
                int got = inflater.inflate(out, n, expectedSize - n);
                if (got == 0 && (inflater.finished() || inflater.needsInput() || inflater.needsDictionary())) {
                    break;
                }
                n += got;
            }
            // one byte more than the trailer announced means the trailer lies
            if (n != expectedSize || (!inflater.finished() && inflater.inflate(new byte[1]) > 0)) {
                throw new IOException("gzip size mismatch");
            }
            if (!inflater.finished()) {
                throw new IOException("gzip data truncated");
            }
            CRC32 crc = new CRC32();
            crc.update(out, 0, n);
            if ((int) crc.getValue() != expectedCrc) {
                throw new IOException("gzip CRC mismatch");
            }
            INFLATERS.give(inflater);
            return out;
        } catch (DataFormatException e) {
            inflater.end();
            throw new IOException("corrupt gzip data", e);
        } catch (IOException | RuntimeException e) {
            inflater.end();
            throw e;
        }
    }

    private static int headerLength(byte[] d) throws IOException {
        if (d.length < 10 || (d[0] & 0xff) != 0x1f || (d[1] & 0xff) != 0x8b || d[2] != Deflater.DEFLATED) {
            throw new IOException("not gzip data");
        }
        int flags = d[3] & 0xff;
        if ((flags & ~(FTEXT | FHCRC | FEXTRA | FNAME | FCOMMENT)) != 0) {
            throw new IOException("reserved gzip flags set");
        }
        int pos = 10;
        if ((flags & FEXTRA) != 0) {
            if (d.length < pos + 2) {
                throw new IOException("gzip header truncated");
            }
            pos += 2 + ((d[pos] & 0xff) | (d[pos + 1] & 0xff) << 8);
        }
        if ((flags & FNAME) != 0) {
            pos = skipZeroTerminated(d, pos);
        }
        if ((flags & FCOMMENT) != 0) {
            pos = skipZeroTerminated(d, pos);
        }
        if ((flags & FHCRC) != 0) {
            pos += 2;
        }
        if (pos > d.length) {
            throw new IOException("gzip header truncated");
        }
        return pos;
    }

    private static int skipZeroTerminated(byte[] d, int pos) throws IOException {
        while (pos < d.length && d[pos] != 0) {
            pos++;
        }
        if (pos >= d.length) {
            throw new IOException("gzip header truncated");
        }
        return pos + 1;
    }

    private static void writeIntLe(byte[] out, int at, int v) {
        out[at] = (byte) v;
        out[at + 1] = (byte) (v >>> 8);
        out[at + 2] = (byte) (v >>> 16);
        out[at + 3] = (byte) (v >>> 24);
    }

    private static int readIntLe(byte[] d, int at) {
        return (d[at] & 0xff) | (d[at + 1] & 0xff) << 8 | (d[at + 2] & 0xff) << 16 | (d[at + 3] & 0xff) << 24;
    }

    /** A bounded, lock-free pool; {@code reset()} on return. */
    private static final class Pool<T> {
        private final ConcurrentLinkedQueue<T> items = new ConcurrentLinkedQueue<>();
        private final AtomicInteger size = new AtomicInteger();
        private final Supplier<T> factory;

        Pool(Supplier<T> factory) {
            this.factory = factory;
        }

        T take() {
            T item = items.poll();
            if (item == null) {
                return factory.get();
            }
            size.decrementAndGet();
            return item;
        }

        void give(T item) {
            if (item instanceof Deflater d) {
                d.reset();
            } else if (item instanceof Inflater i) {
                i.reset();
            }
            if (size.incrementAndGet() <= POOL_SIZE) {
                items.offer(item);
            } else {
                size.decrementAndGet();
                if (item instanceof Deflater d) {
                    d.end();
                } else if (item instanceof Inflater i) {
                    i.end();
                }
            }
        }
    }
}
