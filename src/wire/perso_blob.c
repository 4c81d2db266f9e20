#include "wire/perso_blob.h"

#include <string.h>

int perso_blob_validate(const struct perso_blob *blob, enum perso_blob_version version,
                        struct ft_error *err)
{
    return perso_blob_validate_mixed(blob, version, 0, err);
}

int perso_blob_validate_mixed(const struct perso_blob *blob, enum perso_blob_version version,
                              unsigned v0_types, struct ft_error *err)
{
    if (blob->next_free > PERSO_BLOB_BODY_MAX)
        return ft_fail(err, FT_E_RANGE, "perso blob: next_free %u exceeds the body size %u",
                       blob->next_free, PERSO_BLOB_BODY_MAX);
    size_t count;
    if (perso_tlv_count_mixed(blob->body, blob->next_free, version, v0_types, &count, err) != 0)
        return ft_error_prefix(err, "perso blob");
    if (count != blob->num_objs)
        return ft_fail(err, FT_E_INVALID,
                       "perso blob: num_objs is %u but the body holds %zu objects", blob->num_objs,
                       count);
    return 0;
}

int perso_blob_from_writer(struct perso_blob *blob, const struct perso_tlv_writer *w,
                           struct ft_error *err)
{
    if (w->len > PERSO_BLOB_BODY_MAX)
        return ft_fail(err, FT_E_CAPACITY, "perso blob: %zu bytes exceed the body size %u", w->len,
                       PERSO_BLOB_BODY_MAX);
    /* The writer may have built the body in place (w->buf == blob->body). */
    memmove(blob->body, w->buf, w->len);
    memset(blob->body + w->len, 0, PERSO_BLOB_BODY_MAX - w->len);
    blob->num_objs = (uint32_t)w->num_objs;
    blob->next_free = (uint32_t)w->len;
    return 0;
}
