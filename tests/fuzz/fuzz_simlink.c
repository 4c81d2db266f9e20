/* Fuzz target: the ftsim socket protocol as the server reads it: a stream of headers and
 * payloads, each request decoded with the length and shape checks, and NEXT_CHIP's fault
 * specs parsed as the chip model takes them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_config.h"
#include "wire/simlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos = 0;
    while (size - pos >= SIMLINK_HEADER_SIZE) {
        uint8_t code;
        size_t len;
        if (simlink_header_decode(data + pos, &code, &len, NULL) != 0)
            return 0; /* the server drops such a client */
        pos += SIMLINK_HEADER_SIZE;
        if (len > size - pos)
            return 0;
        uint8_t *payload = malloc(len ? len : 1);
        memcpy(payload, data + pos, len);
        struct simlink_request req;
        if (simlink_parse_request(code, payload, len, &req, NULL) == 0) {
            if (req.len != len || req.timeout_ms > SIMLINK_TIMEOUT_MAX_MS ||
                req.max > SIMLINK_PAYLOAD_MAX)
                abort();
            struct sim_faults faults = {0};
            if (req.op == SIMLINK_NEXT_CHIP &&
                sim_faults_add_list(&faults, (const char *)req.data, req.len, NULL) == 0 &&
                faults.slow_factor == 1)
                abort(); /* slow=1 is refused: a factor is 2..10000 */
        }
        free(payload);
        pos += len;
    }
    return 0;
}
