/* Fuzz target: the supervisor's reading of a site worker's datagram (and a worker's of the
 * supervisor's). A worker runs plugins and talks to the chip and the network, so its bytes
 * are outside input. An accepted message must hold only terminated, bounded strings and
 * in-range numbers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/site_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checked in every build type (assert would vanish under NDEBUG). */
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)
#define TERMINATED(field) REQUIRE(memchr((field), '\0', sizeof(field)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct site_msg msg;
    struct ft_error err = {0};
    if (site_msg_parse(data, size, &msg, &err) != 0) {
        REQUIRE(err.code != FT_OK && memchr(err.message, '\0', sizeof(err.message)) != NULL);
        return 0;
    }
    REQUIRE(msg.type <= SITE_MSG_SPOOL);
    TERMINATED(msg.sku);
    TERMINATED(msg.request_id);
    TERMINATED(msg.step);
    TERMINATED(msg.error);
    TERMINATED(msg.dut_state);
    TERMINATED(msg.device_id);
    TERMINATED(msg.record_file);
    REQUIRE(msg.exit_class >= 0 && msg.exit_class <= 7);
    REQUIRE(msg.din.year <= 9 && msg.din.week <= 51 && msg.din.lot <= 999 && msg.din.wafer <= 99 &&
            msg.din.x <= 999 && msg.din.y <= 999);
    REQUIRE(msg.record == NULL || json_is_object(msg.record));
    json_decref(msg.record);
    return 0;
}
