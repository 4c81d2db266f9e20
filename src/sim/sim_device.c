#include "sim/sim_device.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/rom_bootstrap.h"
#include "sim/sim_boot.h"

#define UART_QUEUE_CAP (1u << 20)
#define FLASH_SIZE ROM_NVM_MAX_SIZE /* the largest profile's NVM (master's 2 MiB RRAM) */

/* ---- byte queue (a ring buffer of fixed capacity) -------------------------------- */

static int queue_init(struct byte_queue *q, size_t cap)
{
    q->data = malloc(cap);
    q->cap = cap;
    q->head = 0;
    q->len = 0;
    return q->data ? 0 : -1;
}

static size_t queue_push(struct byte_queue *q, const uint8_t *data, size_t len)
{
    size_t n = len < q->cap - q->len ? len : q->cap - q->len;
    for (size_t i = 0; i < n; i++)
        q->data[(q->head + q->len + i) % q->cap] = data[i];
    q->len += n;
    return n;
}

static size_t queue_pop(struct byte_queue *q, uint8_t *out, size_t cap)
{
    size_t n = cap < q->len ? cap : q->len;
    for (size_t i = 0; i < n; i++)
        out[i] = q->data[(q->head + i) % q->cap];
    q->head = (q->head + n) % q->cap;
    q->len -= n;
    return n;
}

/* ---- timing ------------------------------------------------------------------------- */

static struct timespec deadline_after(unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Waits on the condition until `deadline` (NULL: forever); false on timeout. */
static bool wait_changed(struct sim_device *dev, const struct timespec *deadline)
{
    if (deadline == NULL) {
        pthread_cond_wait(&dev->changed, &dev->lock);
        return true;
    }
    return pthread_cond_timedwait(&dev->changed, &dev->lock, deadline) != ETIMEDOUT;
}

static void notify(struct sim_device *dev)
{
    pthread_cond_broadcast(&dev->changed);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

int sim_device_init(struct sim_device *dev, const struct sim_config *cfg, struct ft_error *err)
{
    memset(dev, 0, sizeof(*dev));
    dev->cfg = *cfg;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&dev->changed, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&dev->lock, NULL);
    dev->chip.flash_size = FLASH_SIZE;
    dev->chip.flash = malloc(FLASH_SIZE);
    if (dev->chip.flash == NULL || queue_init(&dev->uart_tx, UART_QUEUE_CAP) != 0 ||
        queue_init(&dev->uart_rx, UART_QUEUE_CAP) != 0) {
        sim_device_fini(dev);
        return ft_fail(err, FT_E_NOMEM, "ftsim: out of memory");
    }
    dev->row_faults = cfg->faults;
    sim_chip_fresh(dev, 0);
    dev->pins = SIM_PIN_RESET_N; /* out of reset, straps low: the chip boots at once */
    return 0;
}

static void *firmware_thread(void *arg)
{
    struct sim_device *dev = arg;
    pthread_mutex_lock(&dev->lock);
    while (!dev->shutdown) {
        if (!(dev->pins & SIM_PIN_RESET_N)) {
            wait_changed(dev, NULL);
            continue;
        }
        struct fw_ctx fw = {dev, dev->epoch};
        pthread_mutex_unlock(&dev->lock);
        int rc = sim_boot(&fw);
        pthread_mutex_lock(&dev->lock);
        if (rc == SIM_BOOT_SW_RESET && dev->epoch == fw.epoch) {
            dev->epoch++; /* the firmware reset the chip itself: boot again */
            sim_chip_power_on_reset(dev);
        } else if (rc == SIM_BOOT_NEXT_CHIP && dev->epoch == fw.epoch) {
            sim_chip_fresh(dev, dev->chip.index + 1);
            dev->epoch++;
            sim_chip_power_on_reset(dev);
        }
        /* Halted: nothing runs until the next reset or chip (a new epoch); the host's
         * reads and writes wake this wait, and must not boot the chip again. */
        while (dev->epoch == fw.epoch && !dev->shutdown)
            wait_changed(dev, NULL);
    }
    pthread_mutex_unlock(&dev->lock);
    return NULL;
}

int sim_device_start(struct sim_device *dev, struct ft_error *err)
{
    pthread_mutex_lock(&dev->lock);
    sim_chip_power_on_reset(dev);
    pthread_mutex_unlock(&dev->lock);
    int rc = pthread_create(&dev->thread, NULL, firmware_thread, dev);
    if (rc != 0)
        return ft_fail(err, FT_E_NOMEM, "ftsim: cannot start the firmware thread: %s",
                       strerror(rc));
    dev->thread_started = true;
    return 0;
}

void sim_device_stop(struct sim_device *dev)
{
    pthread_mutex_lock(&dev->lock);
    dev->shutdown = true;
    dev->epoch++;
    notify(dev);
    pthread_mutex_unlock(&dev->lock);
    if (dev->thread_started)
        pthread_join(dev->thread, NULL);
    dev->thread_started = false;
}

void sim_device_fini(struct sim_device *dev)
{
    free(dev->chip.flash);
    free(dev->uart_tx.data);
    free(dev->uart_rx.data);
    dev->chip.flash = NULL;
    dev->uart_tx.data = NULL;
    dev->uart_rx.data = NULL;
    pthread_cond_destroy(&dev->changed);
    pthread_mutex_destroy(&dev->lock);
}

/* ---- host side ---------------------------------------------------------------------- */

/* A CSB edge. TX-ready drops at the first falling one after it rose, whatever the
 * transaction: the firmware's first wait sees CSB low. Lock held, chip out of reset. */
static void csb_edge(struct sim_device *dev, bool asserted)
{
    if (asserted)
        dev->pins &= ~SIM_PIN_TX_READY;
    spi_device_cs(&dev->spi, asserted);
}

void sim_device_spi_cs(struct sim_device *dev, bool asserted)
{
    pthread_mutex_lock(&dev->lock);
    /* A chip in reset ignores CSB; power-on reset clears the block's transaction state. */
    if (dev->pins & SIM_PIN_RESET_N)
        csb_edge(dev, asserted);
    /* The deassert edge completes the transaction (an upload queued, a frame read
     * counted): the firmware thread waits for exactly that. */
    notify(dev);
    pthread_mutex_unlock(&dev->lock);
}

void sim_device_spi_clock(struct sim_device *dev, const uint8_t *mosi, uint8_t *miso, size_t len)
{
    pthread_mutex_lock(&dev->lock);
    if ((dev->pins & SIM_PIN_RESET_N) && dev->spi.cs_active) {
        spi_device_clock(&dev->spi, mosi, miso, len);
    } else if (miso != NULL) {
        memset(miso, 0xFF, len); /* in reset, or CSB high: nothing drives MISO */
    }
    pthread_mutex_unlock(&dev->lock);
}

void sim_device_spi_xfer(struct sim_device *dev, const uint8_t *mosi, uint8_t *miso, size_t len)
{
    pthread_mutex_lock(&dev->lock);
    if (dev->pins & SIM_PIN_RESET_N) {
        csb_edge(dev, true);
        spi_device_clock(&dev->spi, mosi, miso, len);
        csb_edge(dev, false);
    } else if (miso != NULL) {
        memset(miso, 0xFF, len); /* a chip in reset drives nothing */
    }
    notify(dev);
    pthread_mutex_unlock(&dev->lock);
}

uint32_t sim_device_gpio_read(struct sim_device *dev)
{
    pthread_mutex_lock(&dev->lock);
    uint32_t pins = dev->pins;
    pthread_mutex_unlock(&dev->lock);
    return pins;
}

uint32_t sim_device_gpio_write(struct sim_device *dev, uint32_t mask, uint32_t value)
{
    pthread_mutex_lock(&dev->lock);
    mask &= SIM_PIN_INPUTS;
    uint32_t before = dev->pins;
    dev->pins = (dev->pins & ~mask) | (value & mask);
    if ((before & SIM_PIN_RESET_N) && !(dev->pins & SIM_PIN_RESET_N)) {
        /* Reset asserted: the firmware stops and the chip's outputs float low. */
        dev->epoch++;
        dev->pins &= ~SIM_PIN_OUTPUTS;
    } else if (!(before & SIM_PIN_RESET_N) && (dev->pins & SIM_PIN_RESET_N)) {
        /* Reset released: the blocks come up (the straps are sampled) before anything
         * else can talk to the chip. */
        sim_chip_power_on_reset(dev);
    }
    notify(dev);
    uint32_t pins = dev->pins;
    pthread_mutex_unlock(&dev->lock);
    return pins;
}

bool sim_device_gpio_wait(struct sim_device *dev, uint32_t mask, uint32_t value,
                          unsigned timeout_ms, uint32_t *pins)
{
    struct timespec deadline = deadline_after(timeout_ms);
    pthread_mutex_lock(&dev->lock);
    bool reached;
    while (!(reached = (dev->pins & mask) == (value & mask)) && !dev->shutdown && !dev->link_drop) {
        if (!wait_changed(dev, &deadline))
            break;
    }
    reached = (dev->pins & mask) == (value & mask);
    *pins = dev->pins;
    pthread_mutex_unlock(&dev->lock);
    return reached;
}

size_t sim_device_uart_read_swaps(struct sim_device *dev, uint8_t *buf, size_t cap,
                                  unsigned timeout_ms, unsigned *swaps)
{
    struct timespec deadline = deadline_after(timeout_ms);
    pthread_mutex_lock(&dev->lock);
    while (dev->uart_tx.len == 0 && !dev->shutdown && !dev->link_drop && timeout_ms > 0) {
        if (!wait_changed(dev, &deadline))
            break;
    }
    size_t n = queue_pop(&dev->uart_tx, buf, cap);
    if (swaps != NULL)
        *swaps = dev->swaps;
    notify(dev);
    pthread_mutex_unlock(&dev->lock);
    return n;
}

size_t sim_device_uart_read(struct sim_device *dev, uint8_t *buf, size_t cap, unsigned timeout_ms)
{
    return sim_device_uart_read_swaps(dev, buf, cap, timeout_ms, NULL);
}

unsigned sim_device_swaps(struct sim_device *dev)
{
    pthread_mutex_lock(&dev->lock);
    unsigned swaps = dev->swaps;
    pthread_mutex_unlock(&dev->lock);
    return swaps;
}

void sim_device_uart_write(struct sim_device *dev, const uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&dev->lock);
    queue_push(&dev->uart_rx, buf, len);
    notify(dev);
    pthread_mutex_unlock(&dev->lock);
}

int sim_device_next_chip(struct sim_device *dev, const char *faults, size_t len,
                         struct ft_error *err)
{
    struct sim_faults chip_faults = dev->row_faults;
    if (sim_faults_add_list(&chip_faults, faults, len, err) != 0)
        return ft_error_prefix(err, "NEXT_CHIP");
    pthread_mutex_lock(&dev->lock);
    dev->cfg.faults = chip_faults;
    /* What the old chip printed and the host never read went with it: a host opens its
     * UART afresh per DUT, and opening a tty or an FTDI channel purges what was pending.
     * Left here, it would read as the new chip's first words. */
    dev->uart_tx.len = 0;
    dev->swaps++;
    sim_chip_fresh(dev, dev->chip.index + 1);
    dev->epoch++;
    sim_chip_power_on_reset(dev);
    notify(dev);
    pthread_mutex_unlock(&dev->lock);
    return 0;
}

void sim_device_info(struct sim_device *dev, char *out, size_t cap)
{
    pthread_mutex_lock(&dev->lock);
    snprintf(out, cap,
             "{\"sku\":\"%s\",\"chip\":%u,\"completed\":%u,\"step\":\"%s\",\"pins\":%u,"
             "\"frame\":%u,\"perso_done\":%s,\"certs_received\":%s}",
             dev->cfg.sku.name, dev->chip.index, dev->completed, sim_step_name(dev->step),
             dev->pins, dev->frame_no, dev->chip.perso_done ? "true" : "false",
             dev->chip.certs_received ? "true" : "false");
    pthread_mutex_unlock(&dev->lock);
}

bool sim_device_take_link_drop(struct sim_device *dev)
{
    pthread_mutex_lock(&dev->lock);
    bool drop = dev->link_drop;
    dev->link_drop = false;
    pthread_mutex_unlock(&dev->lock);
    return drop;
}

void sim_device_wait_finished(struct sim_device *dev)
{
    pthread_mutex_lock(&dev->lock);
    while (!dev->finished && !dev->shutdown)
        wait_changed(dev, NULL);
    pthread_mutex_unlock(&dev->lock);
}

bool sim_device_wait_completed(struct sim_device *dev, unsigned *seen)
{
    pthread_mutex_lock(&dev->lock);
    while (dev->completed == *seen && !dev->finished && !dev->shutdown)
        wait_changed(dev, NULL);
    bool more = dev->completed != *seen && !dev->finished && !dev->shutdown;
    *seen = dev->completed;
    pthread_mutex_unlock(&dev->lock);
    return more;
}

bool sim_device_stopping(struct sim_device *dev)
{
    pthread_mutex_lock(&dev->lock);
    bool stop = dev->shutdown;
    pthread_mutex_unlock(&dev->lock);
    return stop;
}

/* ---- firmware side ------------------------------------------------------------------ */

/* Called with the lock held. */
static bool aborted(const struct fw_ctx *fw)
{
    return fw->dev->epoch != fw->epoch || fw->dev->shutdown;
}

/* Waits, as the firmware does by polling the CSB status, for CSB low, high, low, high
 * after TX-ready went up at edge count `start`; TX-ready drops at the first low
 * (csb_edge). CSB already low meets the first wait at once. Every transaction counts,
 * whatever its opcode: the host must clock nothing but the frame's two reads while
 * TX-ready is up. */
static int await_frame_read(struct fw_ctx *fw, uint64_t start, bool cs_low_at_start)
{
    struct sim_device *dev = fw->dev;
    if (cs_low_at_start)
        dev->pins &= ~SIM_PIN_TX_READY;
    uint64_t edges = cs_low_at_start ? 3 : 4;
    while (dev->spi.csb_edges < start + edges) {
        if (aborted(fw))
            return FW_ABORT;
        wait_changed(dev, NULL);
    }
    return 0;
}

/* Writes one frame at address 0, header last, raises TX-ready and waits until the host
 * has read it: 4 CSB edges (header and payload transactions), as the device counts them,
 * for a junk header too (the device cannot tell). Lock held. */
static int send_frame_locked(struct fw_ctx *fw, const uint8_t *payload, size_t len, bool junk)
{
    struct sim_device *dev = fw->dev;
    uint8_t frame[SPI_FRAME_HEADER_SIZE + SPI_FRAME_DEVICE_MAX_PAYLOAD + 4];
    size_t size;
    if (spi_frame_encode(dev->frame_no, payload, len, frame, sizeof(frame), &size, NULL) != 0)
        return FW_ABORT;
    if (junk) {
        static const uint8_t bad_magic[4] = {0xEF, 0xBE, 0xAD, 0xDE};
        memcpy(frame, bad_magic, sizeof(bad_magic));
    }
    spi_device_write_buffer(&dev->spi, SPI_FRAME_HEADER_SIZE, frame + SPI_FRAME_HEADER_SIZE,
                            size - SPI_FRAME_HEADER_SIZE);
    spi_device_write_buffer(&dev->spi, 0, frame, SPI_FRAME_HEADER_SIZE);
    uint64_t start = dev->spi.csb_edges;
    bool cs_low = dev->spi.cs_active;
    dev->pins |= SIM_PIN_TX_READY;
    notify(dev);
    int rc = await_frame_read(fw, start, cs_low);
    if (rc == 0 && aborted(fw))
        rc = FW_ABORT; /* read, but the chip was reset meanwhile: the counter is new */
    if (rc == 0 && !junk)
        dev->frame_no++;
    return rc;
}

static int uart_emit_locked(struct fw_ctx *fw, const uint8_t *data, size_t len)
{
    struct sim_device *dev = fw->dev;
    while (len > 0) {
        size_t n = queue_push(&dev->uart_tx, data, len);
        data += n;
        len -= n;
        notify(dev);
        if (len > 0) {
            if (aborted(fw))
                return FW_ABORT;
            wait_changed(dev, NULL); /* the host has not drained the UART yet */
        }
    }
    return aborted(fw) ? FW_ABORT : 0;
}

/* Emits console bytes as frames (SPI) or into the UART. Lock held. */
static int emit_locked(struct fw_ctx *fw, const uint8_t *data, size_t len)
{
    struct sim_device *dev = fw->dev;
    if (dev->cfg.console == SIM_CONSOLE_UART)
        return uart_emit_locked(fw, data, len);
    while (len > 0) {
        size_t n = len < SPI_FRAME_DEVICE_MAX_PAYLOAD ? len : SPI_FRAME_DEVICE_MAX_PAYLOAD;
        if (dev->junk_frames && send_frame_locked(fw, data, n, true) != 0)
            return FW_ABORT;
        if (send_frame_locked(fw, data, n, false) != 0)
            return FW_ABORT;
        data += n;
        len -= n;
    }
    return 0;
}

int fw_print(struct fw_ctx *fw, const char *text)
{
    pthread_mutex_lock(&fw->dev->lock);
    int rc = aborted(fw) ? FW_ABORT : emit_locked(fw, (const uint8_t *)text, strlen(text));
    pthread_mutex_unlock(&fw->dev->lock);
    return rc;
}

int fw_print_uart(struct fw_ctx *fw, const char *text)
{
    struct sim_device *dev = fw->dev;
    pthread_mutex_lock(&dev->lock);
    int rc = aborted(fw) ? FW_ABORT : 0;
    if (rc == 0) {
        /* A UART sends whether anyone reads or not: the ROM's and ROM_EXT's lines never
         * wait for the host, and what a full queue cannot take is lost, as on a line nobody
         * listens to (a chip whose UART nobody reads boots again and again). */
        queue_push(&dev->uart_tx, (const uint8_t *)text, strlen(text));
        notify(dev);
    }
    pthread_mutex_unlock(&dev->lock);
    return rc;
}

int fw_write_buffered(struct fw_ctx *fw, const char *data, size_t len)
{
    struct sim_device *dev = fw->dev;
    pthread_mutex_lock(&dev->lock);
    int rc = aborted(fw) ? FW_ABORT : 0;
    while (rc == 0 && len > 0) {
        size_t room = sizeof(dev->staged) - dev->staged_len;
        size_t n = len < room ? len : room;
        memcpy(dev->staged + dev->staged_len, data, n);
        dev->staged_len += n;
        data += n;
        len -= n;
        if (dev->staged_len == sizeof(dev->staged)) {
            rc = emit_locked(fw, dev->staged, dev->staged_len);
            dev->staged_len = 0;
        }
    }
    pthread_mutex_unlock(&dev->lock);
    return rc;
}

int fw_flush(struct fw_ctx *fw)
{
    struct sim_device *dev = fw->dev;
    pthread_mutex_lock(&dev->lock);
    int rc = aborted(fw) ? FW_ABORT : 0;
    if (rc == 0 && dev->staged_len > 0)
        rc = emit_locked(fw, dev->staged, dev->staged_len);
    dev->staged_len = 0;
    pthread_mutex_unlock(&dev->lock);
    return rc;
}

int fw_delay_ms(struct fw_ctx *fw, unsigned ms)
{
    if (ms == 0)
        return 0;
    struct timespec deadline = deadline_after(ms);
    pthread_mutex_lock(&fw->dev->lock);
    while (!aborted(fw) && wait_changed(fw->dev, &deadline))
        ;
    int rc = aborted(fw) ? FW_ABORT : 0;
    pthread_mutex_unlock(&fw->dev->lock);
    return rc;
}

int fw_halt(struct fw_ctx *fw)
{
    pthread_mutex_lock(&fw->dev->lock);
    while (!aborted(fw))
        wait_changed(fw->dev, NULL);
    pthread_mutex_unlock(&fw->dev->lock);
    return FW_ABORT;
}

void fw_set_pins(struct fw_ctx *fw, uint32_t pins, bool high)
{
    pthread_mutex_lock(&fw->dev->lock);
    if (!aborted(fw)) {
        pins &= SIM_PIN_OUTPUTS;
        fw->dev->pins = high ? fw->dev->pins | pins : fw->dev->pins & ~pins;
        notify(fw->dev);
    }
    pthread_mutex_unlock(&fw->dev->lock);
}

/* Refills the console input buffer from the next upload (SPI) or the UART. Lock held. */
static int refill_input_locked(struct fw_ctx *fw)
{
    struct sim_device *dev = fw->dev;
    while (dev->rx_pos == dev->rx_len) {
        if (aborted(fw))
            return FW_ABORT;
        if (dev->cfg.console == SIM_CONSOLE_UART) {
            dev->rx_len = queue_pop(&dev->uart_rx, dev->rx_buf, sizeof(dev->rx_buf));
            dev->rx_pos = 0;
        } else {
            struct spi_upload up;
            if (spi_device_pop_upload(&dev->spi, &up)) {
                memcpy(dev->rx_buf, up.payload, up.len);
                dev->rx_len = up.len;
                dev->rx_pos = 0;
                /* Clearing BUSY after taking the payload is the console's flow control:
                 * the host sends the next chunk only then. */
                spi_device_clear_status(&dev->spi);
                notify(dev);
                continue;
            }
        }
        if (dev->rx_pos == dev->rx_len)
            wait_changed(dev, NULL);
    }
    return 0;
}

int fw_getc(void *ctx)
{
    struct fw_ctx *fw = ctx;
    pthread_mutex_lock(&fw->dev->lock);
    int c = refill_input_locked(fw) == 0 ? fw->dev->rx_buf[fw->dev->rx_pos++] : -1;
    pthread_mutex_unlock(&fw->dev->lock);
    return c;
}

int fw_wait_upload(struct fw_ctx *fw, struct spi_upload *out)
{
    pthread_mutex_lock(&fw->dev->lock);
    int rc = 0;
    while (!spi_device_pop_upload(&fw->dev->spi, out)) {
        if (aborted(fw)) {
            rc = FW_ABORT;
            break;
        }
        wait_changed(fw->dev, NULL);
    }
    pthread_mutex_unlock(&fw->dev->lock);
    return rc;
}

void fw_clear_spi_status(struct fw_ctx *fw)
{
    pthread_mutex_lock(&fw->dev->lock);
    spi_device_clear_status(&fw->dev->spi);
    notify(fw->dev);
    pthread_mutex_unlock(&fw->dev->lock);
}

void fw_set_step(struct fw_ctx *fw, enum sim_step step)
{
    pthread_mutex_lock(&fw->dev->lock);
    fw->dev->step = step;
    fw->dev->junk_frames = step == fw->dev->cfg.faults.junk_frames_at;
    pthread_mutex_unlock(&fw->dev->lock);
}

void fw_skip_frame_number(struct fw_ctx *fw)
{
    pthread_mutex_lock(&fw->dev->lock);
    fw->dev->frame_no++;
    pthread_mutex_unlock(&fw->dev->lock);
}

void fw_drop_link(struct fw_ctx *fw)
{
    pthread_mutex_lock(&fw->dev->lock);
    fw->dev->link_drop = true;
    notify(fw->dev);
    pthread_mutex_unlock(&fw->dev->lock);
}
