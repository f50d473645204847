/* ScaleBench's broker: librdkafka's mock cluster (one broker on loopback) with the topics named
 * on the command line created at the partition counts given, since the mock has no CreateTopics
 * and auto-creates every other topic with 4 partitions.
 *
 *   topic_broker SECONDS TOPIC:PARTITIONS... > bootstrap   (line 1: host:port; runs SECONDS)
 *
 * Built by scalebench.sh against the uncapped static librdkafka of ../shared/bench/setup.sh
 * (/tmp/bench-src); linked against the system librdkafka it works too, keeping only ~5 MiB per
 * partition. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SECONDS [TOPIC:PARTITIONS...]\n", argv[0]);
        return 2;
    }
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, 1);
    if (!cluster) {
        fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
        return 1;
    }
    for (int i = 2; i < argc; i++) {
        char name[256];
        const char *colon = strrchr(argv[i], ':');
        size_t n = colon ? (size_t)(colon - argv[i]) : strlen(argv[i]);
        int partitions = colon ? atoi(colon + 1) : 1;
        if (n == 0 || n >= sizeof name || partitions < 1) {
            fprintf(stderr, "bad topic argument '%s' (TOPIC:PARTITIONS)\n", argv[i]);
            return 2;
        }
        memcpy(name, argv[i], n);
        name[n] = 0;
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(cluster, name, partitions, 1);
        if (e) {
            fprintf(stderr, "creating %s: %s\n", name, rd_kafka_err2str(e));
            return 1;
        }
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
    fflush(stdout);
    sleep((unsigned)atol(argv[1]));
    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(rk);
    return 0;
}
