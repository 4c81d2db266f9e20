#include "ftdi_rig.h"

int ftdi_rig_start(struct ftdi_rig *rig, enum sim_console console, const char *fault,
                   struct ft_error *err)
{
    rig->tb = ftdi_emu_testbed_new();
    if (rig->tb == NULL)
        return ft_fail(err, FT_E_NOMEM, "cannot create the umockdev testbed");
    rig->fta1 = ftdi_emu_add(rig->tb, FTDI_EMU_FT2232H, "FTA1");
    rig->ftb2 = ftdi_emu_add(rig->tb, FTDI_EMU_FT4232H, "FTB2");
    if (rig->fta1 == NULL || rig->ftb2 == NULL)
        return ft_fail(err, FT_E_NOMEM, "cannot add the emulated adapters");
    struct sim_config cfg;
    sim_config_defaults(&cfg);
    if (sim_config_set_timing(&cfg, "zero", err) != 0)
        return -1;
    cfg.console = console;
    if (fault != NULL && sim_config_add_fault(&cfg, fault, err) != 0)
        return -1;
    if (ftdi_chip_attach(&rig->chip, rig->fta1, 0, &cfg, NULL, err) != 0)
        return -1;
    ftdi_chip_wire_uart(&rig->chip, rig->fta1, 1);
    return 0;
}

void ftdi_rig_stop(struct ftdi_rig *rig)
{
    ftdi_chip_detach(&rig->chip);
    ftdi_emu_testbed_free(rig->tb);
    rig->tb = NULL;
}
