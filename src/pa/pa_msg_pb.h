/* A struct of pa_msg.h and the message protoc-c generated for the same proto message, each
 * made from the other over pa_msg's field tables. This is the one bridge between the
 * fixed-capacity structs the harness works with and the generic codecs over protobuf-c's
 * descriptors: proto3 JSON (pa_pbjson.h) and the binary form (protobuf-c's pack and
 * unpack), so each mapping exists once.
 *
 * Both directions hold pa_msg's rules: every string NUL-terminated within its capacity and
 * UTF-8, every byte field, string and list within its limit (pa_limits.h), exactly one
 * member set in each oneof (stricter than proto3, see pa_msg.h). A message from protobuf-c
 * must hold no field outside the schema. Errors name the message and the field path, as
 * pa_msg.h describes.
 *
 * Ownership: *out of pa_msg_to_pb is NEW, free it with protobuf_c_message_free_unpacked
 * (*out, NULL); `msg` is BORROWED. pa_msg_from_pb overwrites `out`, which then OWNS its heap
 * buffers (free with pa_msg_free); on failure `out` is zeroed and owns nothing. */
#ifndef FTHARNESS_PA_PA_MSG_PB_H
#define FTHARNESS_PA_PA_MSG_PB_H

#include <protobuf-c/protobuf-c.h>

#include "common/error.h"
#include "pa/pa_msg.h"

int pa_msg_to_pb(const struct pa_msg_desc *desc, const void *msg, ProtobufCMessage **out,
                 struct ft_error *err);

/* `pb` must be of desc->generated. */
int pa_msg_from_pb(const struct pa_msg_desc *desc, const ProtobufCMessage *pb, void *out,
                   struct ft_error *err);

#endif
