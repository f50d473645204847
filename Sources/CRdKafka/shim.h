// The only C surface Weir sees: librdkafka's client API and its mock cluster.
// Everything here is consumed by WeirKafka alone; no other module imports CRdKafka.
#ifndef WEIR_CRDKAFKA_SHIM_H
#define WEIR_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif
