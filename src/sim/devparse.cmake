# Device-side parsers of the ftsim model: the firmware's ujson deserializer and the ROM
# SPI bootstrap with its flash, SFDP and JEDEC ID. Pure code, no I/O.
add_library(ftsim_devparse STATIC ${CMAKE_CURRENT_SOURCE_DIR}/ujson_de.c ${CMAKE_CURRENT_SOURCE_DIR}/rom_bootstrap.c)
target_link_libraries(ftsim_devparse PUBLIC ftcommon ftwire)
