// The only C surface Weir sees: librdkafka's client API and its mock cluster.
// Everything here is consumed by WeirKafka alone; no other module imports CRdKafka.
#ifndef WEIR_CRDKAFKA_SHIM_H
#define WEIR_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

// One delayed (or failed) response of broker `broker_id` to the next request of `api_key`:
// rd_kafka_mock_broker_push_request_error_rtts is variadic, which Swift cannot call.
static inline rd_kafka_resp_err_t weir_mock_push_request_error_rtt(rd_kafka_mock_cluster_t *mcluster,
                                                                  int32_t broker_id, int16_t api_key,
                                                                  rd_kafka_resp_err_t err, int rtt_ms) {
    return rd_kafka_mock_broker_push_request_error_rtts(mcluster, broker_id, api_key, 1, err, rtt_ms);
}
#endif
