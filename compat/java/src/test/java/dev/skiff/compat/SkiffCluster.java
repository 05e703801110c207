package dev.skiff.compat;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtensionContext.Namespace;

/**
 * A 3-node Skiff cluster of real {@code skiff start} processes on loopback,
 * started once per test run (the first test class that uses it starts it;
 * JUnit closes it after the last class) in a temporary directory that is
 * removed afterwards.
 *
 * <p>The binary is {@code $SKIFF_BIN}, default {@code ../../bin/skiff} (run
 * {@code make build} first). {@code $SKIFF_BROKERS} (host:port,host:port,...
 * of three nodes) uses a running cluster instead.
 */
public final class SkiffCluster implements BeforeAllCallback {
    private static final Namespace NS = Namespace.create(SkiffCluster.class);
    private static final Random RANDOM = new Random();

    /** The running cluster, set by the extension before any test runs. */
    static Nodes nodes;

    @Override
    public void beforeAll(ExtensionContext ctx) throws Exception {
        synchronized (SkiffCluster.class) {
            if (nodes == null) {
                Nodes n = start();
                ctx.getRoot().getStore(NS).put("cluster", n);
                nodes = n;
            }
        }
    }

    /** The Kafka addresses (host:port) of the three nodes, node 1 first. */
    public static List<String> kafkaAddrs() {
        return nodes.kafka;
    }

    /** Node i's (0-based) Kafka address. */
    public static String kafkaAddr(int i) {
        return nodes.kafka.get(i);
    }

    /** Every node's Kafka address, comma separated. */
    public static String bootstrap() {
        return String.join(",", nodes.kafka);
    }

    /** The processes; closed by JUnit at the end of the run. */
    static final class Nodes implements ExtensionContext.Store.CloseableResource {
        final List<String> kafka = new ArrayList<>();
        final List<Process> procs = new ArrayList<>();
        final List<Path> logs = new ArrayList<>();
        Path root;

        @Override
        public void close() throws Exception {
            for (Process p : procs) {
                p.destroy(); // SIGTERM: skiff shuts down cleanly
            }
            for (Process p : procs) {
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor();
                }
            }
            if (root != null) {
                if (System.getenv("SKIFF_KEEP") != null) {
                    System.err.println("skiff cluster: logs kept in " + root);
                    return;
                }
                deleteTree(root);
            }
        }
    }

    private static Nodes start() throws Exception {
        Nodes n = new Nodes();
        String ext = System.getenv("SKIFF_BROKERS");
        if (ext != null && !ext.isBlank()) {
            for (String a : ext.split(",")) {
                n.kafka.add(a.trim());
            }
            if (n.kafka.size() != 3) {
                throw new IllegalStateException("SKIFF_BROKERS must name 3 nodes, got " + ext);
            }
            return n;
        }
        String binEnv = System.getenv("SKIFF_BIN");
        Path bin = Paths.get(binEnv != null && !binEnv.isBlank() ? binEnv : "../../bin/skiff").toAbsolutePath().normalize();
        if (!Files.isExecutable(bin)) {
            throw new IllegalStateException("no skiff binary at " + bin + ": run `make build` or set SKIFF_BIN");
        }
        n.root = Files.createTempDirectory("skiff-compat-java-");
        int count = 3;
        String[] kafka = new String[count], raft = new String[count], http = new String[count];
        for (int i = 0; i < count; i++) {
            kafka[i] = freeAddr();
            raft[i] = freeAddr();
            http[i] = freeAddr();
        }
        StringBuilder members = new StringBuilder();
        for (int i = 0; i < count; i++) {
            if (i > 0) {
                members.append(',');
            }
            members.append(i + 1).append('=').append(raft[i]);
        }
        try {
            for (int i = 0; i < count; i++) {
                Path dir = n.root.resolve("node" + (i + 1));
                Files.createDirectories(dir);
                Path log = dir.resolve("skiff.log");
                ProcessBuilder pb = new ProcessBuilder(bin.toString(), "start",
                        "--node-id", Integer.toString(i + 1),
                        "--data-dir", dir.resolve("data").toString(),
                        "--kafka-addr", kafka[i],
                        "--raft-addr", raft[i],
                        "--http-addr", http[i],
                        "--initial-members", members.toString(),
                        "--log-format", "json",
                        // Groups start at once: the tests wait for their own consumers only.
                        "--group.initial.rebalance.delay.ms", "0",
                        "--offsets.topic.num.partitions", "5");
                pb.redirectErrorStream(true).redirectOutput(log.toFile());
                n.procs.add(pb.start());
                n.logs.add(log);
                n.kafka.add(kafka[i]);
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            for (int i = 0; i < count; i++) {
                waitReady(n, i, http[i], deadline);
            }
        } catch (Exception e) {
            dumpLogs(n);
            n.close();
            throw e;
        }
        return n;
    }

    private static void waitReady(Nodes n, int i, String http, long deadline) throws Exception {
        URI uri = URI.create("http://" + http + "/readyz");
        String last = "";
        while (System.nanoTime() < deadline) {
            if (!n.procs.get(i).isAlive()) {
                throw new IllegalStateException("skiff node " + (i + 1) + " exited with " + n.procs.get(i).exitValue());
            }
            try {
                HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
                c.setConnectTimeout(1000);
                c.setReadTimeout(1000);
                int code = c.getResponseCode();
                c.disconnect();
                if (code == 200) {
                    return;
                }
                last = "HTTP " + code;
            } catch (IOException e) {
                last = e.toString();
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("skiff node " + (i + 1) + " not ready within 90s: " + last);
    }

    static void dumpLogs(Nodes n) {
        for (int i = 0; i < n.logs.size(); i++) {
            try {
                List<String> lines = Files.readAllLines(n.logs.get(i));
                System.err.println("---- skiff node " + (i + 1) + " log (last 40 lines) ----");
                lines.subList(Math.max(0, lines.size() - 40), lines.size()).forEach(System.err::println);
            } catch (IOException e) {
                System.err.println("skiff node " + (i + 1) + " log: " + e);
            }
        }
    }

    /**
     * A free loopback address whose port is below the ephemeral range, so
     * that no outgoing connection takes it between this check and the
     * node's bind.
     */
    private static String freeAddr() throws IOException {
        int lo = 32768;
        try {
            String[] f = Files.readString(Paths.get("/proc/sys/net/ipv4/ip_local_port_range")).trim().split("\\s+");
            int v = Integer.parseInt(f[0]);
            if (v > 12000) {
                lo = v;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: keep the default
        }
        for (int i = 0; i < 1000; i++) {
            int port = 10000 + RANDOM.nextInt(lo - 10000 - 1);
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(false);
                s.bind(new InetSocketAddress("127.0.0.1", port));
                return "127.0.0.1:" + port;
            } catch (IOException e) {
                // taken: try another
            }
        }
        throw new IOException("no free loopback port below the ephemeral range");
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
