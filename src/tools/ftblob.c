/* ftblob: decodes a perso blob captured from a chip or a log and lists its objects, or
 * says exactly what is wrong with it. Accepts a console line (RESP_OK:... CRC:n), the
 * PersoBlob JSON alone, or the raw TLV body bytes. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/hex.h"
#include "common/version.h"
#include "wire/devmsg.h"
#include "wire/perso_blob.h"
#include "wire/perso_tlv.h"
#include "wire/resp.h"

#define INPUT_MAX (1u << 20)

enum exit_code {
    EXIT_VALID = 0,
    EXIT_INVALID = 1, /* the blob is malformed */
    EXIT_USAGE = 2,   /* bad arguments or unreadable input */
};

enum input_format { FORMAT_AUTO, FORMAT_LINE, FORMAT_JSON, FORMAT_RAW };

static void usage(FILE *out)
{
    fprintf(out, "usage: ftblob [--blob-version 0|1] [--format auto|line|json|raw] FILE|-\n"
                 "\n"
                 "Decodes a perso TLV blob and lists its objects.\n"
                 "  --blob-version N  blob version to expect (default 0)\n"
                 "  --format F        line: a RESP_OK console line; json: the PersoBlob JSON;\n"
                 "                    raw: the TLV body bytes; auto (default) picks one\n"
                 "  --version         print the version and exit\n"
                 "Exit status: 0 valid, 1 malformed blob, 2 usage or input error.\n");
}

static char *read_input(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return NULL;
    }
    char *buf = malloc(INPUT_MAX + 1);
    size_t n = buf ? fread(buf, 1, INPUT_MAX + 1, f) : 0;
    int failed = buf == NULL || ferror(f);
    if (f != stdin)
        fclose(f);
    if (failed || n > INPUT_MAX) {
        fprintf(stderr, "%s: %s\n", path, failed ? "read error" : "larger than 1 MiB");
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Finds the RESP_OK line in `text` and returns its JSON part. */
static int json_from_line(const char *text, size_t len, const char **json, size_t *json_len,
                          struct ft_error *err)
{
    const char *line = text;
    const char *end = text + len;
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t line_len = (size_t)((nl ? nl : end) - line);
        struct resp_line resp;
        int rc = resp_parse_line(line, line_len, RESP_CRC_NONE, &resp, err);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            if (resp.kind == RESP_ERR)
                return ft_fail(err, FT_E_DEVICE, "the device answered RESP_ERR:%.*s",
                               (int)resp.json_len, resp.json);
            *json = resp.json;
            *json_len = resp.json_len;
            return 0;
        }
        line = nl ? nl + 1 : end;
    }
    return ft_fail(err, FT_E_INVALID, "no RESP_OK line in the input");
}

static enum input_format detect(const char *text, size_t len)
{
    for (size_t i = 0; i + 8 <= len; i++) {
        if (memcmp(text + i, "RESP_OK:", 8) == 0 || memcmp(text + i, "RESP_ERR", 8) == 0)
            return FORMAT_LINE;
    }
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t'))
        i++;
    return i < len && text[i] == '{' ? FORMAT_JSON : FORMAT_RAW;
}

static int load_blob(const char *text, size_t len, enum input_format format,
                     struct perso_blob *blob, size_t *num_objs, enum perso_blob_version v,
                     struct ft_error *err)
{
    const char *json = text;
    size_t json_len = len;
    switch (format == FORMAT_AUTO ? detect(text, len) : format) {
    case FORMAT_LINE:
        if (json_from_line(text, len, &json, &json_len, err) != 0)
            return -1;
        /* fall through */
    case FORMAT_JSON:
        if (devmsg_decode_perso_blob(json, json_len, blob, err) != 0)
            return -1;
        if (perso_blob_validate(blob, v, err) != 0)
            return -1;
        *num_objs = blob->num_objs;
        return 0;
    default:
        if (len > PERSO_BLOB_BODY_MAX)
            return ft_fail(err, FT_E_RANGE, "raw body of %zu bytes exceeds %u", len,
                           PERSO_BLOB_BODY_MAX);
        memcpy(blob->body, text, len);
        blob->next_free = (uint32_t)len;
        return perso_tlv_count(blob->body, len, v, num_objs, err);
    }
}

static void print_objects(const struct perso_blob *blob, enum perso_blob_version v, size_t num_objs)
{
    printf("perso blob V%d: %zu objects, %u of %u body bytes used\n", (int)v, num_objs,
           blob->next_free, PERSO_BLOB_BODY_MAX);
    printf("%3s %6s %-16s %5s  %-15s %s\n", "#", "offset", "type", "size", "name", "content");
    if (v == PERSO_BLOB_V1)
        printf("%3d %6d %-16s %5d  %-15s %s\n", 0, 0, "BlobVersion", 4, "", "version 1");
    struct perso_tlv_iter it;
    struct perso_obj obj;
    perso_tlv_iter_init(&it, blob->body, blob->next_free, v, NULL);
    while (perso_tlv_iter_next(&it, &obj, NULL) == 1) {
        char content[80];
        if (perso_obj_type_is_cert(obj.type)) {
            snprintf(content, sizeof(content), "%zu-byte %s", obj.cert_len,
                     obj.type == PERSO_OBJ_CWT_CERT ? "CBOR cert" : "DER");
        } else {
            char hex[2 * 12 + 1];
            size_t shown = obj.payload_len < 12 ? obj.payload_len : 12;
            hex_encode(obj.payload, shown, hex, sizeof(hex), NULL);
            snprintf(content, sizeof(content), "%s%s", hex, shown < obj.payload_len ? "..." : "");
        }
        printf("%3zu %6zu %-16s %5zu  %-15s %s\n", obj.index, obj.offset,
               perso_obj_type_name(obj.type), obj.size, obj.name, content);
    }
}

int main(int argc, char **argv)
{
    enum perso_blob_version version = PERSO_BLOB_V0;
    enum input_format format = FORMAT_AUTO;
    static const struct option options[] = {
        {"blob-version", required_argument, NULL, 'v'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "v:f:h", options, NULL)) != -1) {
        if (opt == 'v' && (strcmp(optarg, "0") == 0 || strcmp(optarg, "1") == 0)) {
            version = optarg[0] == '1' ? PERSO_BLOB_V1 : PERSO_BLOB_V0;
        } else if (opt == 'f' && strcmp(optarg, "auto") == 0) {
            format = FORMAT_AUTO;
        } else if (opt == 'f' && strcmp(optarg, "line") == 0) {
            format = FORMAT_LINE;
        } else if (opt == 'f' && strcmp(optarg, "json") == 0) {
            format = FORMAT_JSON;
        } else if (opt == 'f' && strcmp(optarg, "raw") == 0) {
            format = FORMAT_RAW;
        } else if (opt == 'h') {
            usage(stdout);
            return EXIT_VALID;
        } else if (opt == 'V') {
            printf("ftblob %s\n", FTHARNESS_VERSION);
            return EXIT_VALID;
        } else {
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return EXIT_USAGE;
    }

    const char *path = argv[optind];
    size_t len;
    char *text = read_input(path, &len);
    if (text == NULL)
        return EXIT_USAGE;
    static struct perso_blob blob;
    size_t num_objs = 0;
    struct ft_error err = {0};
    int rc = load_blob(text, len, format, &blob, &num_objs, version, &err);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "ftblob: %s: %s\n", path, err.message);
        return EXIT_INVALID;
    }
    print_objects(&blob, version, num_objs);
    return EXIT_VALID;
}
