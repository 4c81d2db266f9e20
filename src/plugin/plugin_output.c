#include "plugin/plugin_output.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bodies hold at most this many objects (20 KiB of 4-byte headers would be more, but the
 * smallest certificate object is far larger than a header). */
#define OBJECTS_MAX 128u

struct object {
    enum perso_obj_type type;
    const uint8_t *raw; /* the whole object, headers included */
    size_t size;
    char name[PERSO_CERT_NAME_MAX_V1 + 1];
    const uint8_t *cert;
    size_t cert_len;
};

static int list_objects(const char *plugin, const char *which, enum perso_blob_version version,
                        const struct plugin_body *body, struct object *out, size_t *n,
                        struct ft_error *err)
{
    struct perso_tlv_iter it;
    struct perso_obj o;
    struct ft_error why = {0};
    int rc;
    *n = 0;
    if (perso_tlv_iter_init(&it, body->data, body->len, version, &why) != 0)
        return ft_fail(err, FT_E_PLUGIN, "plugin %s: %s body: %s", plugin, which, why.message);
    while ((rc = perso_tlv_iter_next(&it, &o, &why)) == 1) {
        if (*n == OBJECTS_MAX)
            return ft_fail(err, FT_E_PLUGIN, "plugin %s: %s body holds more than %u objects",
                           plugin, which, OBJECTS_MAX);
        struct object *d = &out[(*n)++];
        d->type = o.type;
        d->raw = body->data + o.offset;
        d->size = o.size;
        memcpy(d->name, o.name, o.name_len + 1);
        d->cert = o.cert;
        d->cert_len = o.cert_len;
    }
    return rc < 0 ? ft_fail(err, FT_E_PLUGIN, "plugin %s: %s body: %s", plugin, which, why.message)
                  : 0;
}

static bool same_object(const struct object *a, const struct object *b)
{
    return a->size == b->size && memcmp(a->raw, b->raw, a->size) == 0;
}

static bool is_cert(enum perso_obj_type t)
{
    return t == PERSO_OBJ_X509_CERT || t == PERSO_OBJ_CWT_CERT || t == PERSO_OBJ_X509_TBS;
}

/* An output certificate that carries an endorsed certificate's name but other bytes. */
static int changed(const char *plugin, const struct object *given, const struct object *got,
                   struct ft_error *err)
{
    size_t n = given->cert_len < got->cert_len ? given->cert_len : got->cert_len;
    size_t at = 0;
    while (at < n && given->cert[at] == got->cert[at])
        at++;
    if (at == n && given->cert_len != got->cert_len)
        return ft_fail(err, FT_E_PLUGIN,
                       "plugin %s: endorsed certificate %s was changed (%zu bytes, was %zu)",
                       plugin, given->name, got->cert_len, given->cert_len);
    return ft_fail(err, FT_E_PLUGIN,
                   "plugin %s: endorsed certificate %s was changed (byte %zu of %zu differs)",
                   plugin, given->name, at, given->cert_len);
}

static void allowed_list(const char *const *allowed, size_t n, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? ", " : "", allowed[i]);
}

/* An object the plugin added: a certificate under an allowed name, not yet used; the
 * first `matched` given objects are already in the output. */
static int check_appended(const char *plugin, const struct object *o, size_t index,
                          const struct object *given, size_t n_given, size_t matched,
                          const struct object *out, size_t n_before, const char *const *allowed,
                          size_t n_allowed, struct ft_error *err)
{
    if (o->type != PERSO_OBJ_X509_CERT && o->type != PERSO_OBJ_CWT_CERT)
        return ft_fail(err, FT_E_PLUGIN,
                       "plugin %s: appended object %zu is a %s; a plugin may only append "
                       "certificates",
                       plugin, index, perso_obj_type_name(o->type));
    for (size_t i = 0; i < n_given; i++) {
        if (!is_cert(given[i].type) || strcmp(given[i].name, o->name) != 0)
            continue;
        if (i < matched) /* the genuine one is already in place: this is an impostor */
            return ft_fail(err, FT_E_PLUGIN,
                           "plugin %s: appended certificate %s takes the name of an endorsed "
                           "certificate",
                           plugin, o->name);
        return changed(plugin, &given[i], o, err);
    }
    bool ok = false;
    for (size_t i = 0; i < n_allowed && !ok; i++)
        ok = strcmp(allowed[i], o->name) == 0;
    if (!ok) {
        char list[256];
        allowed_list(allowed, n_allowed, list, sizeof(list));
        return ft_fail(err, FT_E_PLUGIN,
                       "plugin %s: appended certificate %s is not one the SKU allows "
                       "(plugin.certs: %s)",
                       plugin, o->name, n_allowed ? list : "none");
    }
    for (size_t i = 0; i < n_before; i++) {
        if (is_cert(out[i].type) && strcmp(out[i].name, o->name) == 0)
            return ft_fail(err, FT_E_PLUGIN, "plugin %s: certificate %s appended twice", plugin,
                           o->name);
    }
    return 0;
}

static int compare(const char *plugin, enum perso_blob_version version,
                   const struct plugin_body *given, const struct plugin_body *returned,
                   struct object *in, struct object *out, const char *const *allowed,
                   size_t n_allowed, struct ft_error *err)
{
    size_t n_in, n_out;
    if (list_objects(plugin, "given", version, given, in, &n_in, err) != 0 ||
        list_objects(plugin, "returned", version, returned, out, &n_out, err) != 0)
        return -1;
    size_t next = 0; /* the endorsed object expected next */
    for (size_t i = 0; i < n_out; i++) {
        if (next < n_in && same_object(&out[i], &in[next])) {
            next++;
            continue;
        }
        for (size_t k = next + 1; k < n_in; k++) {
            if (same_object(&out[i], &in[k]))
                return ft_fail(err, FT_E_PLUGIN,
                               "plugin %s: endorsed certificate %s is missing or out of order",
                               plugin, in[next].name);
        }
        if (check_appended(plugin, &out[i], i, in, n_in, next, out, i, allowed, n_allowed, err) !=
            0)
            return -1;
    }
    if (next < n_in)
        return ft_fail(err, FT_E_PLUGIN,
                       "plugin %s: endorsed certificate %s is missing or out of order", plugin,
                       in[next].name);
    return 0;
}

int plugin_check_output(const char *plugin, enum perso_blob_version version,
                        const struct plugin_body *given, const struct plugin_body *returned,
                        const char *const *allowed, size_t n_allowed, struct ft_error *err)
{
    struct object *objects = calloc(2 * OBJECTS_MAX, sizeof(*objects));
    if (objects == NULL)
        return ft_fail(err, FT_E_NOMEM, "plugin %s: out of memory", plugin);
    int rc = compare(plugin, version, given, returned, objects, objects + OBJECTS_MAX, allowed,
                     n_allowed, err);
    free(objects);
    return rc;
}
