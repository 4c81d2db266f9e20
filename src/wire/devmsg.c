#include "wire/devmsg.h"

#include <jansson.h>
#include <string.h>

#include "common/endian.h"
#include "wire/ujson.h"

/* Parses `json` as one object holding exactly the keys in `keys` (NULL-terminated). */
static json_t *load_object(const char *what, const char *json, size_t len, size_t max_len,
                           const char *const *keys, struct ft_error *err)
{
    if (len > max_len) {
        ft_fail(err, FT_E_RANGE, "%s: %zu bytes exceed the %zu-byte maximum", what, len, max_len);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        ft_fail(err, FT_E_INVALID, "%s: %s at byte %d", what, jerr.text, jerr.position);
        return NULL;
    }
    if (!json_is_object(root)) {
        ft_fail(err, FT_E_INVALID, "%s: not a JSON object", what);
        goto fail;
    }
    size_t expected = 0;
    for (; keys[expected] != NULL; expected++) {
        if (json_object_get(root, keys[expected]) == NULL) {
            ft_fail(err, FT_E_INVALID, "%s: field \"%s\" is missing", what, keys[expected]);
            goto fail;
        }
    }
    if (json_object_size(root) != expected) {
        const char *key;
        json_t *value;
        json_object_foreach(root, key, value)
        {
            size_t i = 0;
            while (keys[i] != NULL && strcmp(keys[i], key) != 0)
                i++;
            if (keys[i] == NULL) {
                ft_fail(err, FT_E_INVALID, "%s: unknown field \"%.64s\"", what, key);
                goto fail;
            }
        }
    }
    return root;
fail:
    json_decref(root);
    return NULL;
}

static int get_uint(const char *what, const char *field, json_t *value, uint64_t max, uint64_t *out,
                    struct ft_error *err)
{
    if (!json_is_integer(value))
        return ft_fail(err, FT_E_INVALID, "%s: %s is not an integer", what, field);
    json_int_t v = json_integer_value(value);
    if (v < 0 || (uint64_t)v > max)
        return ft_fail(err, FT_E_RANGE, "%s: %s = %lld is outside 0..%llu", what, field,
                       (long long)v, (unsigned long long)max);
    *out = (uint64_t)v;
    return 0;
}

/* Reads an array of at most `max_count` unsigned integers <= `max` into out[]. */
static int get_uint_array(const char *what, const char *field, json_t *array, size_t max_count,
                          uint64_t max, void (*store)(void *, size_t, uint64_t), void *dst,
                          size_t *count, struct ft_error *err)
{
    if (!json_is_array(array))
        return ft_fail(err, FT_E_INVALID, "%s: %s is not an array", what, field);
    size_t n = json_array_size(array);
    if (n > max_count)
        return ft_fail(err, FT_E_RANGE, "%s: %s has %zu elements, at most %zu allowed", what, field,
                       n, max_count);
    for (size_t i = 0; i < n; i++) {
        char element[48];
        snprintf(element, sizeof(element), "%s[%zu]", field, i);
        uint64_t v = 0;
        if (get_uint(what, element, json_array_get(array, i), max, &v, err) != 0)
            return -1;
        store(dst, i, v);
    }
    *count = n;
    return 0;
}

static void store_u8(void *dst, size_t i, uint64_t v)
{
    ((uint8_t *)dst)[i] = (uint8_t)v;
}

static void store_u32(void *dst, size_t i, uint64_t v)
{
    ((uint32_t *)dst)[i] = (uint32_t)v;
}

int devmsg_decode_perso_blob(const char *json, size_t len, struct perso_blob *out,
                             struct ft_error *err)
{
    static const char *const keys[] = {"num_objs", "next_free", "body", NULL};
    const char *what = "PersoBlob";
    memset(out, 0, sizeof(*out));
    json_t *root = load_object(what, json, len, UJSON_PERSO_BLOB_SIZE, keys, err);
    if (root == NULL)
        return -1;

    int rc = -1;
    uint64_t num_objs = 0;
    uint64_t next_free = 0;
    size_t body_len = 0;
    if (get_uint(what, "num_objs", json_object_get(root, "num_objs"), UINT32_MAX, &num_objs, err) !=
            0 ||
        get_uint(what, "next_free", json_object_get(root, "next_free"), PERSO_BLOB_BODY_MAX,
                 &next_free, err) != 0 ||
        get_uint_array(what, "body", json_object_get(root, "body"), PERSO_BLOB_BODY_MAX, 255,
                       store_u8, out->body, &body_len, err) != 0)
        goto done;
    if (next_free > body_len) {
        ft_fail(err, FT_E_INVALID, "%s: next_free %llu exceeds the %zu body bytes sent", what,
                (unsigned long long)next_free, body_len);
        goto done;
    }
    out->num_objs = (uint32_t)num_objs;
    out->next_free = (uint32_t)next_free;
    rc = 0;
done:
    json_decref(root);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

int devmsg_decode_sha256_hash(const char *json, size_t len, uint8_t digest[SHA256_DIGEST_SIZE],
                              struct ft_error *err)
{
    static const char *const keys[] = {"data", NULL};
    const char *what = "SerdesSha256Hash";
    json_t *root = load_object(what, json, len, UJSON_SHA256_HASH_SIZE, keys, err);
    if (root == NULL)
        return -1;
    uint32_t data[8] = {0};
    size_t count = 0;
    int rc = get_uint_array(what, "data", json_object_get(root, "data"), 8, UINT32_MAX, store_u32,
                            data, &count, err);
    json_decref(root);
    if (rc != 0)
        return -1;
    if (count != 8)
        return ft_fail(err, FT_E_INVALID, "%s: data has %zu words, a digest needs 8", what, count);
    for (size_t k = 0; k < 8; k++)
        store_be32(digest + 28 - 4 * k, data[k]);
    return 0;
}

void sha256_digest_to_words(const uint8_t digest[SHA256_DIGEST_SIZE], uint32_t data[8])
{
    for (size_t k = 0; k < 8; k++)
        data[k] = load_be32(digest + 28 - 4 * k);
}
