package dev.skiff.compat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

import org.apache.kafka.common.utils.Exit;

/**
 * Runs one of Kafka's command-line tools in-process through its main
 * method, with System.out and System.err captured and Exit's procedure
 * replaced so that the tool cannot end the JVM.
 */
final class Tool {
    /** What one run printed and its exit code. */
    record Result(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout ---\n" + out + "--- stderr ---\n" + err;
        }
    }

    private static final class ExitCalled extends RuntimeException {
        ExitCalled(int code) {
            super("exit " + code, null, false, false);
        }
    }

    private Tool() {}

    /** Runs main(args) and returns its output and the code of its first Exit.exit (0 when it returns without one). */
    static synchronized Result run(Consumer<String[]> main, String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        // The first exit wins: a tool that catches ExitCalled exits again with 1.
        int[] first = {-1};
        Exit.setExitProcedure((c, msg) -> {
            if (first[0] < 0) {
                first[0] = c;
            }
            throw new ExitCalled(c);
        });
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            main.accept(args);
        } catch (ExitCalled e) {
            // the code is in first
        } finally {
            System.out.flush();
            System.err.flush();
            System.setOut(oldOut);
            System.setErr(oldErr);
            Exit.resetExitProcedure();
        }
        return new Result(Math.max(first[0], 0), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
