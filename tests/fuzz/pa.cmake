# The PA API message decoders (JSON and protobuf); included by tests/fuzz/CMakeLists.txt.
ft_fuzz_target(fuzz_pa_json ftpa_msg pa_pb)
ft_fuzz_target(fuzz_pa_grpc ftpa_client ftpa_msg)
