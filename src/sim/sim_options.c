/* The chip options of a command line; see sim_options.h. */
#include "sim/sim_options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "sim/sim_sku_file.h"

static int parse_uint(const char *name, const char *arg, unsigned long max, unsigned *out,
                      struct ft_error *err)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (errno != 0 || *end != '\0' || v > max || arg[0] < '0' || arg[0] > '9')
        return ft_fail(err, FT_E_INVALID, "--%s: \"%s\" is not a number in 0..%lu", name, arg, max);
    *out = (unsigned)v;
    return 0;
}

static int parse_hex32(const char *name, const char *arg, uint8_t out[32], struct ft_error *err)
{
    size_t n;
    struct ft_error why = {0};
    if (hex_decode(arg, strlen(arg), out, 32, &n, &why) != 0 || n != 32)
        return ft_fail(err, FT_E_INVALID, "--%s: need 64 hex digits (%s)", name,
                       why.message[0] ? why.message : "wrong length");
    return 0;
}

static int copy_text(const char *name, const char *arg, char *dst, size_t cap, struct ft_error *err)
{
    if (strlen(arg) >= cap)
        return ft_fail(err, FT_E_INVALID, "--%s: longer than %zu bytes", name, cap - 1);
    strcpy(dst, arg);
    return 0;
}

/* STEP=MS */
static int parse_step_delay(struct sim_config *cfg, const char *arg, struct ft_error *err)
{
    char step_name[16];
    const char *eq = strchr(arg, '=');
    enum sim_step step;
    unsigned ms = 0;
    if (eq == NULL || (size_t)(eq - arg) >= sizeof(step_name))
        return ft_fail(err, FT_E_INVALID, "--step-delay: expected STEP=MS, got \"%s\"", arg);
    memcpy(step_name, arg, (size_t)(eq - arg));
    step_name[eq - arg] = '\0';
    if (sim_step_parse(step_name, &step, err) != 0)
        return ft_error_prefix(err, "--step-delay");
    if (parse_uint("step-delay", eq + 1, 3600000, &ms, err) != 0)
        return -1;
    cfg->step_delay_ms[step] = ms;
    return 0;
}

/* The numeric options: where each goes and its largest value. */
static unsigned *number_field(struct sim_config *cfg, const char *name, unsigned long *max)
{
    static const struct {
        const char *name;
        size_t offset;
        unsigned long max;
    } fields[] = {
        {"duts", offsetof(struct sim_config, duts), 1000000},
        {"year", offsetof(struct sim_config, year), 9},
        {"week", offsetof(struct sim_config, week), 51},
        {"lot", offsetof(struct sim_config, lot), 999},
        {"wafer", offsetof(struct sim_config, wafer), 99},
        {"x", offsetof(struct sim_config, x), 999},
        {"y", offsetof(struct sim_config, y), 999},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcmp(name, fields[i].name) == 0) {
            *max = fields[i].max;
            return (unsigned *)((char *)cfg + fields[i].offset);
        }
    return NULL;
}

int sim_options_set_console(struct sim_config *cfg, const char *value, struct ft_error *err)
{
    if (strcmp(value, "spi") != 0 && strcmp(value, "uart") != 0)
        return ft_fail(err, FT_E_INVALID, "--console: \"%s\" is not spi or uart", value);
    cfg->console = strcmp(value, "spi") == 0 ? SIM_CONSOLE_SPI : SIM_CONSOLE_UART;
    return 0;
}

int sim_options_set(struct sim_config *cfg, const char *name, const char *value,
                    struct ft_error *err)
{
    unsigned long max;
    unsigned *field = number_field(cfg, name, &max);
    if (field != NULL)
        return parse_uint(name, value, max, field, err);
    if (strcmp(name, "seed") == 0) {
        unsigned seed = 0;
        if (parse_uint(name, value, 0xFFFFFFFFul, &seed, err) != 0)
            return -1;
        cfg->seed = seed;
        return 0;
    }
    if (strcmp(name, "sku") == 0)
        return sim_sku_is_path(value) ? sim_sku_from_file(cfg, value, err)
                                      : sim_config_set_sku(cfg, value, err);
    if (strcmp(name, "firmware") == 0) {
        if (fw_gen_parse(value, &cfg->firmware, err) != 0)
            return ft_error_prefix(err, "--firmware");
        cfg->firmware_set = true;
        return 0;
    }
    if (strcmp(name, "timing") == 0)
        return sim_config_set_timing(cfg, value, err);
    if (strcmp(name, "fault") == 0)
        return sim_config_add_fault(cfg, value, err);
    if (strcmp(name, "step-delay") == 0)
        return parse_step_delay(cfg, value, err);
    if (strcmp(name, "was-seed") == 0)
        return parse_hex32(name, value, cfg->was_seed, err);
    if (strcmp(name, "perso-hash") == 0) {
        cfg->perso_hash_set = true;
        return parse_hex32(name, value, cfg->perso_hash, err);
    }
    if (strcmp(name, "dice-ca-subject") == 0)
        return copy_text(name, value, cfg->dice_ca_subject, SIM_DN_MAX, err);
    if (strcmp(name, "ext-ca-subject") == 0)
        return copy_text(name, value, cfg->ext_ca_subject, SIM_DN_MAX, err);
    if (strcmp(name, "otp-state") == 0)
        return copy_text(name, value, cfg->otp_state, sizeof(cfg->otp_state), err);
    if (strcmp(name, "was-diversifier") == 0)
        return copy_text(name, value, cfg->was_diversifier, SIM_DIVERSIFIER_SIZE + 1, err);
    bool *flag = strcmp(name, "blank") == 0          ? &cfg->blank
                 : strcmp(name, "two-stage") == 0    ? &cfg->sku.two_stage_bootstrap
                 : strcmp(name, "verbose") == 0      ? &cfg->verbose
                 : strcmp(name, "upstream-der") == 0 ? &cfg->upstream_der
                                                     : NULL;
    if (flag == NULL)
        return ft_fail(err, FT_E_INVALID, "--%s: not a chip option", name);
    *flag = true;
    return 0;
}
