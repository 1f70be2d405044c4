package dev.stasis.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs a samples command in this JVM (its own hub, as a new process would have) and captures its output. */
final class Cli {

    /**
     * One command's outcome.
     *
     * @param exitCode the exit code
     * @param out standard output
     * @param err error output
     */
    record Run(int exitCode, String out, String err) {

        /** Asserts exit code 0 and returns this. */
        Run ok() {
            assertThat(exitCode).as("exit code; out:%n%s%nerr:%n%s", out, err).isZero();
            return this;
        }

        /** The first group of the first match of {@code regex} in the output; fails when there is none. */
        String group(String regex) {
            return Cli.group(out, regex);
        }
    }

    private Cli() {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(code, out.toString(), err.toString());
    }

    static String group(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertThat(m.find()).as("/%s/ in:%n%s", regex, text).isTrue();
        return m.group(1);
    }

    static List<String> all(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        List<String> found = new ArrayList<>();
        while (m.find()) {
            found.add(m.group(1));
        }
        return found;
    }
}
