/* Fuzz target: what a gRPC server sends the PA client: the response body of a unary call
 * (Length-Prefixed-Message framing, then the protobuf message), the grpc-status and
 * grpc-message trailer values. A body that converts must give JSON the RPC's response
 * decoder accepts.
 *
 * Input: byte 0 modulo the number of RPCs picks the RPC (pa_rpc_list() order); the rest
 * is the body, and also the two trailer values. */
#include <stdint.h>
#include <stdlib.h>

#include "pa/pa_grpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n_rpcs = 0;
    const struct pa_rpc_desc *rpcs = pa_rpc_list(&n_rpcs);
    const struct pa_rpc_desc *rpc = &rpcs[data[0] % n_rpcs];
    const uint8_t *body = data + 1;
    size_t len = size - 1;

    char *json = NULL;
    size_t json_len = 0;
    if (pa_grpc_response_json(rpc, body, len, &json, &json_len, NULL) == 0) {
        /* What the converter wrote (within pa_msg.h's limits), the JSON decoder reads. */
        void *msg = calloc(1, rpc->response->size);
        if (msg == NULL || pa_msg_from_json(rpc->response, json, json_len, msg, NULL) != 0)
            abort();
        pa_msg_free(rpc->response, msg);
        free(msg);
    }
    free(json);

    int code = pa_grpc_parse_status((const char *)body, len);
    if (code < -1 || code > 16)
        abort();
    char message[64];
    pa_grpc_decode_message((const char *)body, len, message, sizeof(message));
    return 0;
}
