# ftsim DICE certificate generator (src/sim/dice_certs.c, src/sim/der.c).
ft_unit_test(test_sim_dice ftsim_dice)
