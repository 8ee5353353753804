/* Shared file plumbing of io/ (see fileio.h): the non-blocking open of regular inputs, exact
 * reads, CRC-32 words, spec checks and the header prologue of model files and checkpoints. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "bytes.h"
#include "err.h"

int dp_open_regular_fd(const char *path, const char *expected, uint64_t *size, dp_error *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        dp_fail(err, DP_ENOINPUT, "%s: cannot open: %s", path, strerror(e));
        errno = e;
        return -1;
    }
    struct stat st;
    const char *why = NULL;
    int e = 0;
    if (fstat(fd, &st) != 0) {
        e = errno;
        why = "cannot stat";
    } else if (!S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode) && expected)
            dp_fail(err, DP_ENOINPUT, "%s: is a directory, expected %s", path, expected);
        else
            dp_fail(err, DP_ENOINPUT, "%s: not a regular file", path);
        close(fd);
        errno = 0;
        return -1;
    } else {
        /* Regular files never block; blocking mode again so stdio sees no EAGAIN anywhere. */
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
            e = errno;
            why = "cannot set blocking mode";
        }
    }
    if (why) {
        dp_fail(err, DP_ENOINPUT, "%s: %s: %s", path, why, strerror(e));
        close(fd);
        errno = 0;
        return -1;
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

FILE *dp_open_regular(const char *path, const char *expected, uint64_t *size, dp_error *err)
{
    int fd = dp_open_regular_fd(path, expected, size, err);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        dp_fail(err, DP_ENOINPUT, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

dp_status dp_read_exact(FILE *f, unsigned char *p, size_t n, const char *path, long at,
                        dp_error *err)
{
    size_t got = fread(p, 1, n, f);
    if (got == n) return DP_OK;
    if (ferror(f))
        return dp_fail(err, DP_ENOINPUT, "%s: cannot read at offset %ld: %s", path, at,
                       strerror(errno ? errno : EIO));
    /* The size was checked up front, so this is a file shrinking under us. */
    return dp_fail(err, DP_EDATA,
                   "%s: truncated: file ended at offset %ld, expected %zu more bytes",
                   path, at + (long)got, n - got);
}

/* zlib's crc32 takes a uInt length: feed large buffers in pieces. */
unsigned long dp_crc(unsigned long crc, const unsigned char *p, size_t n)
{
    while (n > 0) {
        uInt k = n > 0x40000000u ? 0x40000000u : (uInt)n;
        crc = crc32(crc, p, k);
        p += k;
        n -= k;
    }
    return crc;
}

int dp_write_crc(FILE *f, const unsigned char *p, size_t n, unsigned long *crc)
{
    *crc = dp_crc(*crc, p, n);
    return fwrite(p, 1, n, f) == n ? 0 : -1;
}

int dp_write_words(FILE *f, const void *src, size_t n, unsigned char *buf, unsigned long *crc)
{
    const unsigned char *p = src;
    for (size_t i = 0; i < n;) {
        size_t k = n - i;
        if (k > DP_FILE_CHUNK / 4) k = DP_FILE_CHUNK / 4;
        for (size_t j = 0; j < k; j++) {
            uint32_t u;
            memcpy(&u, p + 4 * (i + j), 4);
            dp_put_u32(buf + 4 * j, u);
        }
        if (dp_write_crc(f, buf, 4 * k, crc) != 0) return -1;
        i += k;
    }
    return 0;
}

dp_status dp_read_words(FILE *f, void *dst, size_t n, unsigned char *buf, unsigned long *crc,
                        const char *path, long *at, dp_error *err)
{
    unsigned char *p = dst;
    for (size_t i = 0; i < n;) {
        size_t k = n - i;
        if (k > DP_FILE_CHUNK / 4) k = DP_FILE_CHUNK / 4;
        dp_status rc = dp_read_exact(f, buf, 4 * k, path, *at, err);
        if (rc != DP_OK) return rc;
        *crc = dp_crc(*crc, buf, 4 * k);
        for (size_t j = 0; j < k; j++) {
            uint32_t u = dp_get_u32(buf + 4 * j);
            memcpy(p + 4 * (i + j), &u, 4);
        }
        i += k;
        *at += (long)(4 * k);
    }
    return DP_OK;
}

int dp_write_crc_tail(FILE *f, unsigned long crc)
{
    unsigned char tail[4];
    dp_put_u32(tail, (uint32_t)crc);
    return fwrite(tail, 1, 4, f) == 4 ? 0 : -1;
}

dp_status dp_check_crc_tail(FILE *f, unsigned long crc, const char *path, long at,
                            dp_error *err)
{
    unsigned char tail[4];
    dp_status rc = dp_read_exact(f, tail, 4, path, at, err);
    if (rc != DP_OK) return rc;
    if (dp_get_u32(tail) != (uint32_t)crc)
        return dp_fail(err, DP_EDATA,
                       "%s: checksum mismatch (file corrupt): stored crc32 %08x, computed %08x",
                       path, dp_get_u32(tail), (unsigned)(uint32_t)crc);
    return DP_OK;
}

/* ---- specs ---- */

/* Softmax is only the output activation implied by xent, never a hidden one. */
const char *dp_file_spec_check(long n_sizes, const long *sizes, long hidden, long loss,
                               char *why, size_t why_len)
{
    if (n_sizes < 2 || n_sizes > DP_MAX_SIZES) {
        snprintf(why, why_len, "n_sizes %ld, expected 2..%d", n_sizes, DP_MAX_SIZES);
        return why;
    }
    for (long i = 0; i < n_sizes; i++) {
        if (sizes[i] < 1 || sizes[i] > DP_MAX_WIDTH) {
            snprintf(why, why_len, "layer size %ld is %ld, expected 1..%d", i, sizes[i],
                     DP_MAX_WIDTH);
            return why;
        }
    }
    /* Any hidden activation's code (softmax is an output only); which fits where is
     * dp_spec_validate's, once the per-layer codes are read too. */
    if (hidden < 0 || hidden > (long)DP_ACT_GELU || hidden == (long)DP_ACT_SOFTMAX) {
        snprintf(why, why_len, "hidden activation code %ld, expected 0..%d but not %d", hidden,
                 (int)DP_ACT_GELU, (int)DP_ACT_SOFTMAX);
        return why;
    }
    if (loss < 0 || loss > (long)DP_LOSS_MAE) {
        snprintf(why, why_len, "loss code %ld, expected 0..%d", loss, (int)DP_LOSS_MAE);
        return why;
    }
    return NULL;
}

const char *dp_file_spec_check_spec(const dp_spec *spec, char *why, size_t why_len)
{
    long sizes[DP_MAX_SIZES];
    int ns = spec->n_sizes;
    for (int i = 0; i < ns && i >= 0 && i < DP_MAX_SIZES; i++) sizes[i] = spec->sizes[i];
    return dp_file_spec_check(ns, sizes, (long)spec->hidden, (long)spec->loss, why, why_len);
}

const char *dp_file_nonfinite(const char *array, const dp_spec *spec, const float *v, size_t n,
                              char *why, size_t why_len)
{
    size_t i = 0;
    while (i < n && isfinite(v[i])) i++;
    if (i == n) return NULL;
    /* Where index i falls: layer l's weights (all layers' weights first), then its biases. */
    size_t off = 0;
    int l = 0, bias = 0, layers = spec->n_sizes - 1;
    for (bias = 0; bias < 2; bias++) {
        for (l = 0; l < layers; l++) {
            size_t len = (size_t)spec->sizes[l + 1] * (bias ? 1 : (size_t)spec->sizes[l]);
            if (i < off + len) break;
            off += len;
        }
        if (l < layers) break;
    }
    DP_ASSERT(bias < 2);
    const char *what = isnan(v[i]) ? "NaN" : "inf", *part = bias ? "biases" : "weights";
    if (!array)
        snprintf(why, why_len, "layer %d %s hold %s at index %zu", l + 1, part, what, i - off);
    else
        snprintf(why, why_len, "%s holds %s at layer %d %s index %zu", array, what, l + 1, part,
                 i - off);
    return why;
}

/* ---- header prologue ---- */

size_t dp_file_put_head(unsigned char *b, const char *magic, uint32_t version,
                        const dp_spec *spec)
{
    memcpy(b, magic, 8);
    dp_put_u32(b + 8, version);
    dp_put_u32(b + 12, DP_FILE_ENDIAN_MARKER);
    dp_put_u32(b + 16, (uint32_t)spec->n_sizes);
    size_t h = DP_FILE_FIXED_HEAD;
    for (int i = 0; i < spec->n_sizes; i++, h += 4) dp_put_u32(b + h, (uint32_t)spec->sizes[i]);
    dp_put_u32(b + h, (uint32_t)spec->hidden);
    dp_put_u32(b + h + 4, (uint32_t)spec->loss);
    return h + 8;
}

/* Magic first, on whatever bytes exist, so a short file of another kind is named as such. */
static dp_status check_magic(const unsigned char *b, size_t first, uint64_t fsize,
                             const char *path, const dp_file_kind *k, dp_error *err)
{
    if (memcmp(b, k->magic, first < 8 ? first : 8) != 0) {
        /* The two formats share everything but the magic: name the likely mix-up. */
        if (first >= 8 && memcmp(b, k->other_magic, 8) == 0)
            return dp_fail(err, DP_EDATA, "%s: %s", path, k->other_msg);
        return dp_fail(err, DP_EDATA, "%s: %s", path, k->bad_magic_msg);
    }
    if (fsize < DP_FILE_FIXED_HEAD)
        return dp_fail(err, DP_EDATA, "%s: truncated: %llu bytes, %s needs at least %u%s", path,
                       (unsigned long long)fsize, k->header_noun, DP_FILE_FIXED_HEAD,
                       fsize == 0 ? " (empty file)" : "");
    return DP_OK;
}

static dp_status check_version(const unsigned char *b, const char *path, const dp_file_kind *k,
                               dp_error *err)
{
    uint32_t version = dp_get_u32(b + 8), marker = dp_get_u32(b + 12);
    /* A big-endian writer byte-swaps the version too, so name the real cause first. */
    if (marker == DP_FILE_ENDIAN_SWAPPED)
        return dp_fail(err, DP_EDATA, "%s: %s", path, k->big_endian);
    if (version < k->min_version || version > k->max_version) {
        if (k->min_version == k->max_version)
            return dp_fail(err, DP_EDATA, "%s: %s version %u, this dpmlp reads version %u", path,
                           k->version_noun, version, k->max_version);
        return dp_fail(err, DP_EDATA, "%s: %s version %u, this dpmlp reads version %u to %u",
                       path, k->version_noun, version, k->min_version, k->max_version);
    }
    if (marker != DP_FILE_ENDIAN_MARKER)
        return dp_fail(err, DP_EDATA,
                       "%s: bad byte order marker 0x%08x at offset 12, expected 0x%08x", path,
                       marker, DP_FILE_ENDIAN_MARKER);
    return DP_OK;
}

static dp_status decode_spec(dp_file_head *h, uint32_t ns, const char *path, dp_error *err)
{
    long sizes[DP_MAX_SIZES];
    for (uint32_t i = 0; i < ns; i++)
        sizes[i] = (long)dp_get_u32(h->b + DP_FILE_FIXED_HEAD + 4 * i);
    size_t p = DP_FILE_FIXED_HEAD + 4 * (size_t)ns;
    long hidden = (long)dp_get_u32(h->b + p), loss = (long)dp_get_u32(h->b + p + 4);
    char why[128];
    if (dp_file_spec_check((long)ns, sizes, hidden, loss, why, sizeof why))
        return dp_fail(err, DP_EDATA, "%s: bad header: %s", path, why);
    memset(&h->spec, 0, sizeof h->spec);
    h->spec.n_sizes = (int)ns;
    for (uint32_t i = 0; i < ns; i++) h->spec.sizes[i] = (int)sizes[i];
    h->spec.hidden = (dp_act)hidden;
    h->spec.loss = (dp_loss)loss;
    h->rest = p + 8;
    return DP_OK;
}

dp_status dp_file_read_head(FILE *f, const char *path, uint64_t fsize, const dp_file_kind *k,
                            dp_file_head *h, dp_error *err)
{
    size_t first = fsize < DP_FILE_FIXED_HEAD ? (size_t)fsize : DP_FILE_FIXED_HEAD;
    dp_status rc = DP_OK;
    if (first > 0 && (rc = dp_read_exact(f, h->b, first, path, 0, err)) != DP_OK) return rc;
    if ((rc = check_magic(h->b, first, fsize, path, k, err)) != DP_OK) return rc;
    if ((rc = check_version(h->b, path, k, err)) != DP_OK) return rc;
    h->version = dp_get_u32(h->b + 8);
    uint32_t ns = dp_get_u32(h->b + 16);
    if (ns < 2 || ns > DP_MAX_SIZES)
        return dp_fail(err, DP_EDATA, "%s: header n_sizes is %u at offset 16, expected 2..%d",
                       path, ns, DP_MAX_SIZES);
    h->len = k->head_len(h->version, ns);
    DP_ASSERT(h->len <= sizeof h->b);
    if (fsize < h->len)
        return dp_fail(err, DP_EDATA, "%s: truncated: %llu bytes, the header alone needs %zu",
                       path, (unsigned long long)fsize, h->len);
    rc = dp_read_exact(f, h->b + DP_FILE_FIXED_HEAD, h->len - DP_FILE_FIXED_HEAD, path,
                       DP_FILE_FIXED_HEAD, err);
    if (rc != DP_OK) return rc;
    return decode_spec(h, ns, path, err);
}

dp_status dp_file_check_size(const char *path, uint64_t fsize, uint64_t expect, dp_error *err)
{
    if (fsize < expect)
        return dp_fail(err, DP_EDATA, "%s: truncated: %llu bytes, the header promises %llu", path,
                       (unsigned long long)fsize, (unsigned long long)expect);
    if (fsize > expect)
        return dp_fail(err, DP_EDATA,
                       "%s: %llu bytes, the header promises %llu (trailing garbage)", path,
                       (unsigned long long)fsize, (unsigned long long)expect);
    return DP_OK;
}
