/* A simulated Earlgrey chip: pins, the spi_device block, the UART, and a firmware thread
 * that runs the ROM (bootstrap) and the perso firmware as sequential code, the way the
 * real chip does. The host side (a socket, a pty, or a test) calls the sim_device_*
 * functions; the firmware side calls fw_*. One mutex guards everything; every change
 * is broadcast on one condition variable.
 *
 * A reset (reset pin low, a firmware software reset, or a fault) bumps `epoch`; every
 * blocking fw_* call notices and returns FW_ABORT so the firmware unwinds to the boot
 * loop, as the real chip starts over. */
#ifndef FTHARNESS_SIM_SIM_DEVICE_H
#define FTHARNESS_SIM_SIM_DEVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "sim/sim_config.h"
#include "sim/spi_device.h"
#include "wire/simlink.h"
#include "wire/spi_frame.h"

#define FW_ABORT (-1)

struct byte_queue {
    uint8_t *data;
    size_t cap;
    size_t head;
    size_t len;
};

/* State that survives resets: what OTP and flash of this chip hold. */
struct sim_chip {
    unsigned index;         /* which chip in the row, from 0 */
    bool secret1_done;      /* first perso stage ran (two-stage bootstrap) */
    bool secret2_done;      /* RMA token hash and key seeds written */
    bool perso_done;        /* certificates written and OTP locked */
    bool certs_received;    /* the host sent endorsed certificates (the import body) */
    bool perso_image;       /* a perso firmware image is in flash */
    bool second_image;      /* the second bootstrap (perso + ROM_EXT + owner) happened */
    uint8_t perso_hash[32]; /* SHA-256 of the bootstrapped perso image */
    uint8_t rma_token_hash[16];
    bool fault_reset_done; /* the reset fault fires once per chip */
    bool flash_written;    /* the ROM bootstrap erased or programmed since the last boot */
    uint8_t *flash;        /* data NVM, for the ROM bootstrap (ROM_NVM_MAX_SIZE bytes) */
    size_t flash_size;     /* the profile's NVM size (fw_gen_info nvm_size) */
};

struct sim_device {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct sim_config cfg;        /* cfg.faults: the faults of the chip in the socket */
    struct sim_faults row_faults; /* --fault: every chip's, before a handler adds its own */
    struct spi_device spi;
    uint32_t pins;
    uint64_t epoch;
    bool shutdown;
    bool link_drop;     /* disconnect fault: the transport must drop its peer */
    bool finished;      /* served cfg.duts chips */
    unsigned swaps;     /* chips the handler put in (NEXT_CHIP) */
    unsigned completed; /* chips that reached "Personalization done." */
    enum sim_step step;
    bool junk_frames; /* junk-frames fault: a junk frame before each frame of this step */

    struct byte_queue uart_tx; /* chip -> host */
    struct byte_queue uart_rx; /* host -> chip */

    /* SPI console state. */
    uint32_t frame_no;
    uint8_t rx_buf[SPI_DEVICE_PAYLOAD_MAX];
    size_t rx_len;
    size_t rx_pos;
    uint8_t staged[SPI_FRAME_DEVICE_MAX_PAYLOAD];
    size_t staged_len;

    struct sim_chip chip;
    pthread_t thread;
    bool thread_started;
};

/* --- lifecycle -------------------------------------------------------------------- */
int sim_device_init(struct sim_device *dev, const struct sim_config *cfg, struct ft_error *err);
int sim_device_start(struct sim_device *dev, struct ft_error *err);
void sim_device_stop(struct sim_device *dev);
void sim_device_fini(struct sim_device *dev);

/* --- host side -------------------------------------------------------------------- */
/* One CS-framed SPI transaction: CSB low, `len` bytes, CSB high. */
void sim_device_spi_xfer(struct sim_device *dev, const uint8_t *mosi, uint8_t *miso, size_t len);
/* The same split at the CS edges, for a host that clocks byte by byte (an emulated FTDI
 * adapter): CSB falling (asserted) or rising, then bytes while CSB is low. The rising
 * edge completes the transaction and wakes the firmware, as the end of
 * sim_device_spi_xfer does; TX-ready drops when a READ opcode is clocked. In reset, CSB
 * is ignored and MISO reads 0xFF. Neither calls back into the caller. */
void sim_device_spi_cs(struct sim_device *dev, bool asserted);
void sim_device_spi_clock(struct sim_device *dev, const uint8_t *mosi, uint8_t *miso, size_t len);
uint32_t sim_device_gpio_read(struct sim_device *dev);
/* Drives input pins (SIM_PIN_INPUTS); other bits are ignored. Returns the pins after. */
uint32_t sim_device_gpio_write(struct sim_device *dev, uint32_t mask, uint32_t value);
/* Waits until (pins & mask) == value; false on timeout (pins still stored). */
bool sim_device_gpio_wait(struct sim_device *dev, uint32_t mask, uint32_t value,
                          unsigned timeout_ms, uint32_t *pins);
/* Reads up to `cap` UART bytes, waiting up to timeout_ms for the first one. */
size_t sim_device_uart_read(struct sim_device *dev, uint8_t *buf, size_t cap, unsigned timeout_ms);
/* The same, with the handler's swap count at the read (`*swaps`): bytes read before a
 * NEXT_CHIP are the old chip's. */
size_t sim_device_uart_read_swaps(struct sim_device *dev, uint8_t *buf, size_t cap,
                                  unsigned timeout_ms, unsigned *swaps);
unsigned sim_device_swaps(struct sim_device *dev);
void sim_device_uart_write(struct sim_device *dev, const uint8_t *buf, size_t len);

/* Replaces the chip in the socket by the next one of the row (a handler's index). */
/* The handler puts the next chip of the row in. `faults` (`len` bytes, not NUL-terminated;
 * may be empty) lists fault specs separated by spaces or commas that this chip alone has
 * besides the row's; a bad spec refuses the request and leaves the chip in place. */
int sim_device_next_chip(struct sim_device *dev, const char *faults, size_t len,
                         struct ft_error *err);
/* Writes a JSON description of the model's state. */
void sim_device_info(struct sim_device *dev, char *out, size_t cap);
/* True once (and clears the flag) when the disconnect fault asks the link to drop. */
bool sim_device_take_link_drop(struct sim_device *dev);
/* Blocks until the row of chips is finished or the device stops. */
void sim_device_wait_finished(struct sim_device *dev);
/* Blocks until a chip completes after the `*seen` first ones (true, `*seen` updated), or
 * the row is finished or the device stops (false). */
bool sim_device_wait_completed(struct sim_device *dev, unsigned *seen);
/* True once the device is stopping. */
bool sim_device_stopping(struct sim_device *dev);

/* --- firmware side (called on the firmware thread only) --------------------------- */
struct fw_ctx {
    struct sim_device *dev;
    uint64_t epoch;
};

/* Each returns 0, or FW_ABORT when the chip was reset or stopped meanwhile. */
int fw_print(struct fw_ctx *fw, const char *text);
/* Prints on the UART whatever the console is (ROM and ROM_EXT messages); never waits for
 * the host: what the UART queue cannot hold is dropped. */
int fw_print_uart(struct fw_ctx *fw, const char *text);
int fw_write_buffered(struct fw_ctx *fw, const char *data, size_t len);
int fw_flush(struct fw_ctx *fw);
int fw_delay_ms(struct fw_ctx *fw, unsigned ms);
int fw_halt(struct fw_ctx *fw); /* waits for a reset; always returns FW_ABORT */
void fw_set_pins(struct fw_ctx *fw, uint32_t pins, bool high);
int fw_getc(void *fw_ctx); /* next console input byte, or -1 on reset */
/* Next uploaded SPI command (ROM bootstrap); 0 or FW_ABORT. */
int fw_wait_upload(struct fw_ctx *fw, struct spi_upload *out);
void fw_clear_spi_status(struct fw_ctx *fw);
void fw_set_step(struct fw_ctx *fw, enum sim_step step);
/* Makes the next frame carry a frame number one too high. */
void fw_skip_frame_number(struct fw_ctx *fw);
/* Asks the transport to drop the link (disconnect fault). */
void fw_drop_link(struct fw_ctx *fw);

#endif
