# ftharnessd's parsers: the station configuration and the control requests.
ft_unit_test(test_station_config ftdaemon_proto)
ft_unit_test(test_control_proto ftdaemon_proto)
