/* cw_safetensors — see safetensors.h. */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The safetensors spec caps the header at 100 MB. */
#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

struct cw_safetensors {
    void *map;                 /* whole file, PROT_READ */
    size_t map_len;
    cw_st_tensor *tensors;
    size_t count;
    char *names;               /* all tensor names, NUL-separated */
};

typedef struct st_dtype_info {
    const char *name;
    cw_st_dtype dtype;
    size_t size;
} st_dtype_info;

static const st_dtype_info st_dtypes[] = {
    { "F32", CW_ST_F32, 4 },   { "F16", CW_ST_F16, 2 },    { "BF16", CW_ST_BF16, 2 },
    { "F64", CW_ST_OTHER, 8 }, { "I64", CW_ST_OTHER, 8 },  { "U64", CW_ST_OTHER, 8 },
    { "I32", CW_ST_OTHER, 4 }, { "U32", CW_ST_OTHER, 4 },  { "I16", CW_ST_OTHER, 2 },
    { "U16", CW_ST_OTHER, 2 }, { "I8", CW_ST_OTHER, 1 },   { "U8", CW_ST_OTHER, 1 },
    { "BOOL", CW_ST_OTHER, 1 }, { "F8_E4M3", CW_ST_OTHER, 1 }, { "F8_E5M2", CW_ST_OTHER, 1 },
};

static const st_dtype_info *st_dtype_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++) {
        if (strcmp(st_dtypes[i].name, name) == 0)
            return &st_dtypes[i];
    }
    return NULL;
}

static uint64_t st_read_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* A non-negative JSON integer as size_t; -1 when it is anything else. */
static int st_json_size(json_object *o, size_t *out)
{
    if (o == NULL || !json_object_is_type(o, json_type_int))
        return -1;
    errno = 0;
    int64_t v = json_object_get_int64(o);
    if (v < 0 || errno != 0)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* Fill `t` from one header entry; `data` is the data buffer of `data_len`
 * bytes. Returns 0 or -1 with err set. */
static int st_parse_entry(const char *path, const char *name, json_object *entry,
                          const unsigned char *data, size_t data_len, cw_st_tensor *t,
                          cw_error *err)
{
    if (!json_object_is_type(entry, json_type_object))
        return cw_error_set(err, CW_E_CONFIG, "%s: tensor '%s': entry is not an object", path,
                            name);
    json_object *jdtype = NULL, *jshape = NULL, *joff = NULL;
    if (!json_object_object_get_ex(entry, "dtype", &jdtype) ||
        !json_object_is_type(jdtype, json_type_string))
        return cw_error_set(err, CW_E_CONFIG, "%s: tensor '%s': missing dtype", path, name);
    const st_dtype_info *info = st_dtype_lookup(json_object_get_string(jdtype));
    if (info == NULL)
        return cw_error_set(err, CW_E_CONFIG, "%s: tensor '%s': unknown dtype '%s'", path, name,
                            json_object_get_string(jdtype));
    if (!json_object_object_get_ex(entry, "shape", &jshape) ||
        !json_object_is_type(jshape, json_type_array))
        return cw_error_set(err, CW_E_CONFIG, "%s: tensor '%s': missing shape", path, name);
    size_t ndim = json_object_array_length(jshape);
    if (ndim > CW_ST_MAX_DIMS)
        return cw_error_set(err, CW_E_CONFIG, "%s: tensor '%s': too many dimensions", path, name);
    size_t nelem = 1;
    for (size_t d = 0; d < ndim; d++) {
        size_t dim = 0;
        if (st_json_size(json_object_array_get_idx(jshape, d), &dim) != 0)
            return cw_error_set(err, CW_E_CONFIG, "%s: tensor '%s': bad shape", path, name);
        if (dim != 0 && nelem > SIZE_MAX / dim)
            return cw_error_set(err, CW_E_CONFIG, "%s: tensor '%s': shape overflows", path, name);
        nelem *= dim;
        t->shape[d] = dim;
    }
    if (nelem > SIZE_MAX / info->size)
        return cw_error_set(err, CW_E_CONFIG, "%s: tensor '%s': shape overflows", path, name);
    size_t begin = 0, end = 0;
    if (!json_object_object_get_ex(entry, "data_offsets", &joff) ||
        !json_object_is_type(joff, json_type_array) || json_object_array_length(joff) != 2 ||
        st_json_size(json_object_array_get_idx(joff, 0), &begin) != 0 ||
        st_json_size(json_object_array_get_idx(joff, 1), &end) != 0)
        return cw_error_set(err, CW_E_CONFIG, "%s: tensor '%s': bad data_offsets", path, name);
    if (begin > end || end > data_len)
        return cw_error_set(err, CW_E_CONFIG,
                            "%s: tensor '%s': data_offsets [%zu, %zu] outside the %zu-byte data "
                            "(truncated file?)",
                            path, name, begin, end, data_len);
    if (end - begin != nelem * info->size)
        return cw_error_set(err, CW_E_CONFIG,
                            "%s: tensor '%s': %zu bytes for %zu elements of %s", path, name,
                            end - begin, nelem, info->name);
    t->dtype_name = info->name;
    t->dtype = info->dtype;
    t->ndim = ndim;
    t->nelem = nelem;
    t->data = data + begin;
    t->nbytes = end - begin;
    return 0;
}

/* Parse the JSON header into st->tensors. */
static int st_parse_header(cw_safetensors *st, const char *path, const char *hdr, size_t hdr_len,
                           const unsigned char *data, size_t data_len, cw_error *err)
{
    int rc = -1;
    json_tokener *tok = json_tokener_new();
    json_object *root = NULL;
    if (tok == NULL) {
        cw_error_set(err, CW_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, hdr, (int)hdr_len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    /* The spec allows trailing spaces as padding after the JSON. */
    while (used < hdr_len && hdr[used] == ' ')
        used++;
    if (root == NULL || jerr != json_tokener_success || used != hdr_len) {
        cw_error_set(err, CW_E_CONFIG, "%s: header is not valid JSON (%s)", path,
                     root == NULL && jerr == json_tokener_continue
                         ? "unexpected end"
                         : (jerr != json_tokener_success ? json_tokener_error_desc(jerr)
                                                         : "trailing bytes"));
        goto out;
    }
    if (!json_object_is_type(root, json_type_object)) {
        cw_error_set(err, CW_E_CONFIG, "%s: header is not a JSON object", path);
        goto out;
    }
    size_t n = 0, names_len = 0;
    json_object_object_foreach(root, key, val) {
        (void)val;
        if (strcmp(key, "__metadata__") == 0)
            continue;
        n++;
        names_len += strlen(key) + 1;
    }
    st->tensors = calloc(n > 0 ? n : 1, sizeof *st->tensors);
    st->names = malloc(names_len > 0 ? names_len : 1);
    if (st->tensors == NULL || st->names == NULL) {
        cw_error_set(err, CW_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    char *np = st->names;
    json_object_object_foreach(root, key2, val2) {
        if (strcmp(key2, "__metadata__") == 0)
            continue;
        cw_st_tensor *t = &st->tensors[st->count];
        size_t klen = strlen(key2);
        memcpy(np, key2, klen + 1);
        t->name = np;
        np += klen + 1;
        if (st_parse_entry(path, key2, val2, data, data_len, t, err) != 0)
            goto out;
        st->count++;
    }
    rc = 0;
out:
    json_object_put(root);
    json_tokener_free(tok);
    return rc;
}

cw_safetensors *cw_safetensors_create(const char *path, cw_error *err)
{
    cw_safetensors *st = calloc(1, sizeof *st);
    int fd = -1;
    if (st == NULL) {
        cw_error_set(err, CW_E_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cw_error_set(err, CW_E_CONFIG, "%s: %s", path, strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        cw_error_set(err, CW_E_CONFIG, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size < 8) {
        cw_error_set(err, CW_E_CONFIG, "%s: too short for a safetensors file (%lld bytes)", path,
                     (long long)sb.st_size);
        goto fail;
    }
    st->map_len = (size_t)sb.st_size;
    st->map = mmap(NULL, st->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (st->map == MAP_FAILED) {
        st->map = NULL;
        cw_error_set(err, CW_E_CONFIG, "%s: mmap: %s", path, strerror(errno));
        goto fail;
    }
    const unsigned char *bytes = st->map;
    uint64_t hdr_len = st_read_le64(bytes);
    if (hdr_len < 2 || hdr_len > ST_MAX_HEADER || hdr_len > st->map_len - 8) {
        cw_error_set(err, CW_E_CONFIG,
                     "%s: header length %llu does not fit the %zu-byte file (truncated or not "
                     "a safetensors file)",
                     path, (unsigned long long)hdr_len, st->map_len);
        goto fail;
    }
    const unsigned char *data = bytes + 8 + hdr_len;
    size_t data_len = st->map_len - 8 - (size_t)hdr_len;
    if (st_parse_header(st, path, (const char *)bytes + 8, (size_t)hdr_len, data, data_len, err)
        != 0)
        goto fail;
    close(fd);
    return st;
fail:
    if (fd >= 0)
        close(fd);
    cw_safetensors_destroy(st);
    return NULL;
}

void cw_safetensors_destroy(cw_safetensors *st)
{
    if (st == NULL)
        return;
    if (st->map != NULL)
        munmap(st->map, st->map_len);
    free(st->tensors);
    free(st->names);
    free(st);
}

size_t cw_safetensors_count(const cw_safetensors *st)
{
    return st->count;
}

const cw_st_tensor *cw_safetensors_at(const cw_safetensors *st, size_t i)
{
    return i < st->count ? &st->tensors[i] : NULL;
}

const cw_st_tensor *cw_safetensors_find(const cw_safetensors *st, const char *name)
{
    for (size_t i = 0; i < st->count; i++) {
        if (strcmp(st->tensors[i].name, name) == 0)
            return &st->tensors[i];
    }
    return NULL;
}

float cw_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {
            /* Subnormal: renormalise. */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while ((man & 0x400u) == 0);
            bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

int cw_safetensors_to_f32(const cw_st_tensor *t, float *out, size_t want, cw_error *err)
{
    if (t->nelem != want)
        return cw_error_set(err, CW_E_CONFIG, "tensor '%s': %zu elements, expected %zu", t->name,
                            t->nelem, want);
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case CW_ST_F32:
        memcpy(out, p, want * sizeof(float));   /* the file is little-endian, like us */
        return 0;
    case CW_ST_F16:
        for (size_t i = 0; i < want; i++)
            out[i] = cw_f16_to_f32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
        return 0;
    case CW_ST_BF16:
        for (size_t i = 0; i < want; i++) {
            uint32_t bits = (uint32_t)(p[2 * i] | (p[2 * i + 1] << 8)) << 16;
            memcpy(&out[i], &bits, sizeof bits);
        }
        return 0;
    case CW_ST_OTHER:
    default:
        break;
    }
    return cw_error_set(err, CW_E_CONFIG, "tensor '%s': dtype %s is not a float type", t->name,
                        t->dtype_name);
}
