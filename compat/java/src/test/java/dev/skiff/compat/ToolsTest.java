package dev.skiff.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.tools.BrokerApiVersionsCommand;
import org.apache.kafka.tools.GetOffsetShell;
import org.apache.kafka.tools.TopicCommand;
import org.apache.kafka.tools.consumer.group.ConsumerGroupCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Kafka's own command-line tools (kafka-topics.sh, kafka-consumer-groups.sh) against Skiff. */
@ExtendWith(SkiffCluster.class)
class ToolsTest {

    private static Tool.Result topics(String... args) {
        String[] full = new String[args.length + 2];
        full[0] = "--bootstrap-server";
        full[1] = SkiffCluster.bootstrap();
        System.arraycopy(args, 0, full, 2, args.length);
        return Tool.run(TopicCommand::main, full);
    }

    @Test
    void topicCommand() throws Exception {
        String topic = Clients.topic("tool-topic");
        Tool.Result r = topics("--create", "--topic", topic, "--partitions", "4", "--replication-factor", "3",
                "--config", "retention.ms=7200000");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("Created topic " + topic + "."), r.toString());

        r = topics("--create", "--topic", topic, "--partitions", "4", "--replication-factor", "3");
        assertEquals(1, r.code(), "creating an existing topic: " + r);
        assertTrue(r.out().contains("already exists") || r.err().contains("already exists"), r.toString());

        r = topics("--list");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().lines().anyMatch(topic::equals), r.toString());

        r = topics("--describe", "--topic", topic);
        assertEquals(0, r.code(), r.toString());
        // Topic: NAME	TopicId: ID	PartitionCount: 4	ReplicationFactor: 3	Configs: ...retention.ms=7200000...
        String head = r.out().lines().filter(l -> l.startsWith("Topic: " + topic + "\t")).findFirst().orElse("");
        assertTrue(head.contains("PartitionCount: 4"), r.toString());
        assertTrue(head.contains("ReplicationFactor: 3"), r.toString());
        assertTrue(head.contains("retention.ms=7200000"), r.toString());
        assertFalse(head.contains("TopicId: AAAAAAAAAAAAAAAAAAAAAA"), "zero topic ID: " + r);
        Pattern part = Pattern.compile("\\tPartition: (\\d+)\\tLeader: (-?\\d+)\\tReplicas: ([\\d,]+)\\tIsr: ([\\d,]*)");
        int parts = 0;
        for (String line : r.out().lines().toList()) {
            Matcher m = part.matcher(line);
            if (m.find()) {
                parts++;
                assertTrue(Integer.parseInt(m.group(2)) > 0, "partition without leader: " + line);
                assertEquals(3, m.group(3).split(",").length, "replicas: " + line);
                assertTrue(List.of(m.group(3).split(",")).contains(m.group(2)), "leader not a replica: " + line);
            }
        }
        assertEquals(4, parts, r.toString());

        r = topics("--alter", "--topic", topic, "--partitions", "6");
        assertEquals(0, r.code(), r.toString());
        r = topics("--describe", "--topic", topic);
        assertTrue(r.out().contains("PartitionCount: 6"), r.toString());

        r = topics("--delete", "--topic", topic);
        assertEquals(0, r.code(), r.toString());
        Clients.waitFor(Duration.ofSeconds(30), "topic gone from --list",
                () -> topics("--list").out().lines().noneMatch(topic::equals));
    }

    /**
     * kafka-consumer-groups.sh --describe of a group that has committed
     * offsets: one row per partition with the committed offset, the log end
     * offset and the lag.
     */
    @Test
    void consumerGroupCommandDescribe() throws Exception {
        String topic = Clients.topic("tool-group");
        String group = Clients.topic("tool-group-g");
        assertEquals(0, topics("--create", "--topic", topic, "--partitions", "2", "--replication-factor", "3").code());

        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, SkiffCluster.bootstrap());
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        try (KafkaProducer<String, String> p = new KafkaProducer<>(pp)) {
            for (int i = 0; i < 10; i++) {
                p.send(new ProducerRecord<>(topic, i % 2, null, "v" + i)).get();
            }
        }
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, SkiffCluster.bootstrap());
        cp.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cp)) {
            c.subscribe(List.of(topic));
            int[] got = {0};
            Clients.waitFor(Duration.ofSeconds(60), "10 records", () -> {
                got[0] += c.poll(Duration.ofMillis(200)).count();
                return got[0] >= 10;
            });
            c.commitSync();
        }

        Tool.Result r = Tool.run(ConsumerGroupCommand::main,
                "--bootstrap-server", SkiffCluster.bootstrap(), "--describe", "--group", group);
        assertEquals(0, r.code(), r.toString());
        // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
        int rows = 0;
        for (String line : r.out().lines().toList()) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 6 && f[0].equals(group) && f[1].equals(topic)) {
                rows++;
                assertEquals("5", f[3], "committed offset: " + line);
                assertEquals("5", f[4], "log end offset: " + line);
                assertEquals("0", f[5], "lag: " + line);
            }
        }
        assertEquals(2, rows, r.toString());

        r = Tool.run(ConsumerGroupCommand::main, "--bootstrap-server", SkiffCluster.bootstrap(), "--list");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().lines().anyMatch(l -> l.trim().equals(group)), r.toString());

        // kafka-get-offsets.sh: TOPIC:PARTITION:OFFSET, the latest offsets.
        r = Tool.run(GetOffsetShell::main, "--bootstrap-server", SkiffCluster.bootstrap(), "--topic", topic);
        assertEquals(0, r.code(), r.toString());
        assertEquals(List.of(topic + ":0:5", topic + ":1:5"), r.out().lines().sorted().toList(), r.toString());
    }

    /** kafka-broker-api-versions.sh: every broker, with no API it cannot print. */
    @Test
    void brokerApiVersions() {
        Tool.Result r = Tool.run(BrokerApiVersionsCommand::main, "--bootstrap-server", SkiffCluster.bootstrap());
        assertEquals(0, r.code(), r.toString());
        for (String addr : SkiffCluster.kafkaAddrs()) {
            assertTrue(r.out().contains(addr + " (id: "), "broker " + addr + " missing: " + r);
        }
        assertTrue(r.out().contains("Produce(0): 0 to "), r.toString());
        assertFalse(r.err().contains("Exception"), r.toString());
    }
}
