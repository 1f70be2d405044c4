package dev.stasis.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GzipTest {

    private static byte[] text(int size, long seed) {
        Random r = new Random(seed);
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            // compressible but not trivial: a small alphabet
            b[i] = (byte) ('a' + r.nextInt(12));
        }
        return b;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 128, 1024, 10_240, 70_000, 1_000_000})
    @DisplayName("round-trips, and the JDK's GZIPInputStream reads what it writes")
    void roundTripAndJdkReadsIt(int size) throws IOException {
        byte[] data = text(size, size);
        byte[] zipped = new Gzip(6).compress(data);
        assertThat(Gzip.decompress(zipped, Integer.MAX_VALUE)).isEqualTo(data);
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(zipped))) {
            assertThat(in.readAllBytes()).isEqualTo(data);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 17, 1024, 65_536, 300_000})
    @DisplayName("incompressible input (deflate's output is larger than its input) round-trips at every level")
    void incompressible(int size) throws IOException {
        byte[] data = new byte[size];
        new Random(size).nextBytes(data);
        for (int level : new int[] {1, 6, 9}) {
            byte[] zipped = new Gzip(level).compress(data);
            assertThat(zipped.length).isGreaterThan(size);
            assertThat(Gzip.decompress(zipped, Integer.MAX_VALUE)).isEqualTo(data);
            try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(zipped))) {
                assertThat(in.readAllBytes()).isEqualTo(data);
            }
        }
    }

    @Test
    @DisplayName("reads GZIPOutputStream's output (states sealed by earlier versions), with optional header fields")
    void readsJdkOutput() throws IOException {
        byte[] data = text(5000, 7);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        }
        assertThat(Gzip.decompress(out.toByteArray(), Integer.MAX_VALUE)).isEqualTo(data);
        // the same member with FNAME and FCOMMENT set, as gzip(1) writes them
        byte[] plain = out.toByteArray();
        byte[] named = new byte[plain.length + 8];
        System.arraycopy(plain, 0, named, 0, 10);
        named[3] = 8 | 16;
        byte[] fields = {'a', '.', 'j', 0, 'h', 'i', '!', 0};
        System.arraycopy(fields, 0, named, 10, fields.length);
        System.arraycopy(plain, 10, named, 18, plain.length - 10);
        assertThat(Gzip.decompress(named, Integer.MAX_VALUE)).isEqualTo(data);
    }

    @Test
    @DisplayName("a changed byte, a truncation, a wrong size or an oversized state is refused")
    void refusesDamage() {
        byte[] data = text(4000, 3);
        byte[] zipped = new Gzip(6).compress(data);
        byte[] crc = zipped.clone();
        crc[crc.length - 6] ^= 1;
        assertThatThrownBy(() -> Gzip.decompress(crc, Integer.MAX_VALUE)).isInstanceOf(IOException.class);
        byte[] size = zipped.clone();
        size[size.length - 4] ^= 1;
        assertThatThrownBy(() -> Gzip.decompress(size, Integer.MAX_VALUE)).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> Gzip.decompress(Arrays.copyOf(zipped, zipped.length / 2), Integer.MAX_VALUE))
                .isInstanceOf(IOException.class);
        assertThatThrownBy(() -> Gzip.decompress(new byte[] {1, 2, 3}, Integer.MAX_VALUE))
                .isInstanceOf(IOException.class);
        assertThatThrownBy(() -> Gzip.decompress(zipped, 100)).isInstanceOf(IOException.class)
                .hasMessageContaining("larger than 100");
        // after failures the pooled inflaters still work
        assertThat(IntStream.range(0, 20).allMatch(i -> {
            try {
                return Arrays.equals(Gzip.decompress(zipped, Integer.MAX_VALUE), data);
            } catch (IOException e) {
                return false;
            }
        })).isTrue();
    }

    @Test
    @DisplayName("pooled deflaters give the same bytes from many threads at once")
    void concurrentUse() {
        Gzip gzip = new Gzip(6);
        byte[] data = text(20_000, 11);
        byte[] expected = gzip.compress(data);
        assertThat(IntStream.range(0, 400).parallel().allMatch(i -> {
            byte[] z = gzip.compress(data);
            try {
                return Arrays.equals(z, expected) && Arrays.equals(Gzip.decompress(z, Integer.MAX_VALUE), data);
            } catch (IOException e) {
                return false;
            }
        })).isTrue();
    }
}
