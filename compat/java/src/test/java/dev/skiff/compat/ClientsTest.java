package dev.skiff.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Future;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** KafkaProducer and KafkaConsumer against Skiff. */
@ExtendWith(SkiffCluster.class)
class ClientsTest {
    private static final int PARTITIONS = 3;

    private static String newTopic(String prefix) throws Exception {
        String topic = Clients.topic(prefix);
        try (Admin a = Clients.admin(SkiffCluster.bootstrap())) {
            a.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 3))).all().get();
        }
        return topic;
    }

    private static KafkaProducer<String, String> producer(String compression) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, SkiffCluster.bootstrap());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        return new KafkaProducer<>(p);
    }

    /** Produces values from..to-1 ("v<i>", key "k<i>") and waits for every acknowledgement. */
    private static List<RecordMetadata> produce(KafkaProducer<String, String> p, String topic, int from, int to)
            throws Exception {
        List<Future<RecordMetadata>> fs = new ArrayList<>();
        for (int i = from; i < to; i++) {
            fs.add(p.send(new ProducerRecord<>(topic, "k" + i, "v" + i)));
        }
        List<RecordMetadata> out = new ArrayList<>();
        for (Future<RecordMetadata> f : fs) {
            out.add(f.get());
        }
        return out;
    }

    private static Properties consumerProps(String group, String protocol) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, SkiffCluster.bootstrap());
        if (group != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
        }
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        return p;
    }

    /** Polls until n records arrived (or fails after a minute) and returns them. */
    private static List<ConsumerRecord<String, String>> pollN(KafkaConsumer<String, String> c, int n)
            throws Exception {
        List<ConsumerRecord<String, String>> got = new ArrayList<>();
        Clients.waitFor(Duration.ofSeconds(60), n + " records (have " + got.size() + ")", () -> {
            c.poll(Duration.ofMillis(200)).forEach(got::add);
            return got.size() >= n;
        });
        return got;
    }

    /**
     * An idempotent acks=all producer with each compression codec: every
     * send is acknowledged with an offset, and a consumer reads every record
     * back, decompressed, in per-partition offset order.
     */
    @ParameterizedTest
    @ValueSource(strings = {"none", "gzip", "snappy", "lz4", "zstd"})
    void idempotentProducerCompression(String compression) throws Exception {
        String topic = newTopic("produce-" + compression);
        int n = 300;
        List<RecordMetadata> acks;
        try (KafkaProducer<String, String> p = producer(compression)) {
            acks = produce(p, topic, 0, n);
        }
        Map<Integer, Long> ends = new HashMap<>();
        for (RecordMetadata m : acks) {
            assertTrue(m.hasOffset(), "acknowledged without an offset: " + m);
            ends.merge(m.partition(), m.offset() + 1, Math::max);
        }
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(consumerProps(null, null))) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < PARTITIONS; i++) {
                tps.add(new TopicPartition(topic, i));
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            List<ConsumerRecord<String, String>> got = pollN(c, n);
            assertEquals(n, got.size(), "records read");
            Map<Integer, Long> next = new HashMap<>();
            Set<String> values = new TreeSet<>();
            for (ConsumerRecord<String, String> r : got) {
                assertEquals("v" + r.key().substring(1), r.value(), "value of " + r);
                long want = next.getOrDefault(r.partition(), 0L);
                assertEquals(want, r.offset(), "offsets of partition " + r.partition() + " are contiguous");
                next.put(r.partition(), r.offset() + 1);
                values.add(r.value());
            }
            assertEquals(n, values.size(), "distinct values");
            assertEquals(ends, next, "every partition read to its last acknowledged offset");
            Map<TopicPartition, Long> leo = c.endOffsets(tps);
            for (TopicPartition tp : tps) {
                assertEquals(ends.getOrDefault(tp.partition(), 0L), leo.get(tp), "end offset of " + tp);
            }
        }
    }

    /**
     * A group consumer (classic protocol, or KIP-848's consumer protocol)
     * reads, commits and closes; a second consumer of the same group resumes
     * at the committed offsets and reads exactly the records produced since.
     */
    @ParameterizedTest
    @ValueSource(strings = {"classic", "consumer"})
    void groupCommitAndResume(String protocol) throws Exception {
        String topic = newTopic("group-" + protocol);
        String group = Clients.topic("g-" + protocol);
        try (KafkaProducer<String, String> p = producer("none")) {
            produce(p, topic, 0, 60);
        }
        Map<TopicPartition, OffsetAndMetadata> committed;
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(consumerProps(group, protocol))) {
            c.subscribe(List.of(topic));
            List<ConsumerRecord<String, String>> got = pollN(c, 60);
            assertEquals(60, got.size());
            c.commitSync();
            Set<TopicPartition> tps = new HashSet<>();
            for (int i = 0; i < PARTITIONS; i++) {
                tps.add(new TopicPartition(topic, i));
            }
            committed = c.committed(tps);
            long sum = 0;
            for (TopicPartition tp : tps) {
                OffsetAndMetadata om = committed.get(tp);
                if (om != null) {
                    sum += om.offset();
                }
            }
            assertEquals(60, sum, "committed offsets add up to the records read: " + committed);
        }
        try (KafkaProducer<String, String> p = producer("none")) {
            produce(p, topic, 60, 90);
        }
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(consumerProps(group, protocol))) {
            c.subscribe(List.of(topic));
            List<ConsumerRecord<String, String>> got = pollN(c, 30);
            // A few more polls: nothing before the committed offsets may come back.
            for (int i = 0; i < 3; i++) {
                c.poll(Duration.ofMillis(200)).forEach(got::add);
            }
            Set<String> values = new TreeSet<>();
            for (ConsumerRecord<String, String> r : got) {
                OffsetAndMetadata om = committed.get(new TopicPartition(r.topic(), r.partition()));
                assertNotNull(om, "no commit for partition " + r.partition());
                assertTrue(r.offset() >= om.offset(), "read " + r + " before the committed offset " + om);
                values.add(r.value());
            }
            assertEquals(30, got.size(), "records after resuming");
            for (int i = 60; i < 90; i++) {
                assertTrue(values.contains("v" + i), "missing v" + i);
            }
        }
    }

    /** Admin.describeConsumerGroups of a KIP-848 group: its type, its member and the member's assignment. */
    @Test
    void describeConsumerProtocolGroup() throws Exception {
        String topic = newTopic("group-type");
        String group = Clients.topic("g-type");
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(consumerProps(group, "consumer"));
                Admin a = Clients.admin(SkiffCluster.bootstrap())) {
            c.subscribe(List.of(topic));
            Clients.waitFor(Duration.ofSeconds(60), "an assignment", () -> {
                c.poll(Duration.ofMillis(200));
                return c.assignment().size() == PARTITIONS;
            });
            ConsumerGroupDescription d = a.describeConsumerGroups(List.of(group)).all().get().get(group);
            assertEquals(GroupType.CONSUMER, d.type(), d.toString());
            assertEquals(1, d.members().size(), d.toString());
            assertEquals(PARTITIONS, d.members().iterator().next().assignment().topicPartitions().size(), d.toString());
        }
    }
}
