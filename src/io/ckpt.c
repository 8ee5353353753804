/* Model files: the byte layout documented in ckpt.h, written little-endian byte by byte (so any
 * host writes the same file) through an atomic temp-file + fsync + rename, and a loader that
 * treats the file as hostile: every field and the exact file size are checked before any
 * allocation sized by them, and the CRC-32 before the parameters are handed out.
 * Checkpoints (ckpt_state.c) reuse the atomic write and the helpers declared in ckpt_io.h. */
#include "ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

#include "ckpt_io.h"
#include "err.h"

#define MODEL_MAGIC DP_CKIO_MODEL_MAGIC
#define CKPT_MAGIC DP_CKIO_CKPT_MAGIC
#define ENDIAN_MARKER DP_CKIO_ENDIAN_MARKER
#define FIXED_HEAD DP_CKIO_FIXED_HEAD

/* zlib's crc32 takes a uInt length: feed large buffers in pieces. */
unsigned long dp_ckio_crc(unsigned long crc, const unsigned char *p, size_t n)
{
    while (n > 0) {
        uInt k = n > 0x40000000u ? 0x40000000u : (uInt)n;
        crc = crc32(crc, p, k);
        p += k;
        n -= k;
    }
    return crc;
}

/* ---- spec checks shared by save and load ---- */

/* Returns NULL if the spec fields are storable, else what is wrong (for a message).
 * Softmax is only the output activation implied by xent, never a hidden one. */
const char *dp_ckio_spec_check(long n_sizes, const long *sizes, long hidden, long loss,
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
    if (hidden < 0 || hidden >= (long)DP_ACT_SOFTMAX) {
        snprintf(why, why_len, "hidden activation code %ld, expected 0..%d", hidden,
                 (int)DP_ACT_SOFTMAX - 1);
        return why;
    }
    if (loss < 0 || loss > (long)DP_LOSS_MAE) {
        snprintf(why, why_len, "loss code %ld, expected 0..%d", loss, (int)DP_LOSS_MAE);
        return why;
    }
    return NULL;
}

/* ---- atomic write ---- */

/* Fault injection for tests: with DPMLP_FAULT_WRITE=N in the environment, the N-th
 * dp_atomic_write call fails with EIO after the body has gone to the temp file and the temp
 * file has been cut to half its length (a torn write, as a dying disk would leave it). The
 * count starts at 1 and restarts whenever the variable's value changes or it is unset, so a
 * process started with it counts from its first write and a test can re-arm it by setenv. */
static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;
static char fault_seen[32];
static long fault_count;

static int fault_fires(void)
{
    const char *v = getenv("DPMLP_FAULT_WRITE");
    int fire = 0;
    pthread_mutex_lock(&fault_lock);
    if (!v || !*v) {
        fault_seen[0] = '\0';
        fault_count = 0;
    } else {
        if (strncmp(v, fault_seen, sizeof fault_seen) != 0) {
            snprintf(fault_seen, sizeof fault_seen, "%s", v);
            fault_count = 0;
        }
        fault_count++;
        fire = strtol(v, NULL, 10) == fault_count;
    }
    pthread_mutex_unlock(&fault_lock);
    return fire;
}

/* fsync the directory holding path, so the rename itself survives a crash. */
static int fsync_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash) {
        dir = strdup(".");
    } else if (slash == path) {
        dir = strdup("/");
    } else {
        size_t n = (size_t)(slash - path);
        dir = malloc(n + 1);
        if (dir) {
            memcpy(dir, path, n);
            dir[n] = '\0';
        }
    }
    if (!dir) {
        errno = ENOMEM;
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    /* Some filesystems refuse fsync on a directory; the rename is done either way. */
    if (rc != 0 && (saved == EINVAL || saved == EROFS)) rc = 0;
    errno = saved;
    return rc;
}

dp_status dp_atomic_write(const char *path, int (*write_body)(FILE *f, void *ctx), void *ctx,
                          dp_error *err)
{
    if (!path || !*path || !write_body)
        return dp_fail(err, DP_EINTERNAL, "atomic write: no path or no body writer");
    size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof ".tmp.XXXXXX");
    if (!tmp) return dp_fail(err, DP_EIO, "%s: cannot write: out of memory", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");

    const char *what = "cannot create temp file";
    int saved = 0;
    FILE *f = NULL;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        saved = errno;
        free(tmp);
        return dp_fail(err, DP_EIO, "%s: %s: %s", path, what, strerror(saved));
    }
    /* mkstemp makes 0600; a model file is ordinary data, so keep an existing file's mode
     * or use rw-r--r--. */
    struct stat st;
    mode_t mode = (stat(path, &st) == 0 && S_ISREG(st.st_mode)) ? (st.st_mode & 07777) : 0644;
    (void)fchmod(fd, mode);

    f = fdopen(fd, "wb");
    if (!f) {
        saved = errno;
        close(fd);
        goto fail;
    }
    what = "cannot write";
    errno = 0;
    if (write_body(f, ctx) != 0) {
        saved = errno ? errno : EIO;
        goto fail;
    }
    if (fflush(f) != 0 || ferror(f)) {
        saved = errno ? errno : EIO;
        goto fail;
    }
    if (fault_fires()) {
        off_t end = lseek(fileno(f), 0, SEEK_END);
        if (ftruncate(fileno(f), end > 0 ? end / 2 : 0) != 0) { /* torn either way */ }
        saved = EIO;
        what = "cannot write (injected fault DPMLP_FAULT_WRITE)";
        goto fail;
    }
    what = "cannot sync";
    if (fsync(fileno(f)) != 0) {
        saved = errno;
        goto fail;
    }
    what = "cannot close";
    int crc = fclose(f);
    f = NULL;
    if (crc != 0) {
        saved = errno;
        goto fail;
    }
    what = "cannot rename temp file into place";
    if (rename(tmp, path) != 0) {
        saved = errno;
        goto fail;
    }
    free(tmp);
    if (fsync_dir_of(path) != 0)
        /* The new file is in place and complete; only its durability across a crash is in
         * doubt. Still an I/O failure the caller must hear about. */
        return dp_fail(err, DP_EIO, "%s: cannot sync directory: %s", path, strerror(errno));
    return DP_OK;

fail:
    if (f) fclose(f);
    unlink(tmp);
    free(tmp);
    return dp_fail(err, DP_EIO, "%s: %s: %s", path, what, strerror(saved ? saved : EIO));
}

/* ---- save ---- */

typedef struct save_ctx {
    const dp_spec *spec;
    const float *params;
    size_t n_params;
} save_ctx;

int dp_ckio_write_crc(FILE *f, const unsigned char *p, size_t n, unsigned long *crc)
{
    *crc = dp_ckio_crc(*crc, p, n);
    return fwrite(p, 1, n, f) == n ? 0 : -1;
}

static int write_model_body(FILE *f, void *vctx)
{
    const save_ctx *c = vctx;
    unsigned char head[FIXED_HEAD + 4 * DP_MAX_SIZES + 16];
    memcpy(head, MODEL_MAGIC, 8);
    dp_put_u32(head + 8, DP_MODEL_FORMAT_VERSION);
    dp_put_u32(head + 12, ENDIAN_MARKER);
    dp_put_u32(head + 16, (uint32_t)c->spec->n_sizes);
    size_t h = FIXED_HEAD;
    for (int i = 0; i < c->spec->n_sizes; i++, h += 4)
        dp_put_u32(head + h, (uint32_t)c->spec->sizes[i]);
    dp_put_u32(head + h, (uint32_t)c->spec->hidden);
    dp_put_u32(head + h + 4, (uint32_t)c->spec->loss);
    dp_put_u64(head + h + 8, (uint64_t)c->n_params);
    h += 16;

    unsigned long crc = crc32(0L, Z_NULL, 0);
    if (dp_ckio_write_crc(f, head, h, &crc) != 0) return -1;

    unsigned char *buf = malloc(DP_CKIO_CHUNK);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    int rc = dp_ckio_write_words(f, c->params, c->n_params, buf, &crc);
    free(buf);
    if (rc != 0) return -1;
    unsigned char tail[4];
    dp_put_u32(tail, (uint32_t)crc);
    return fwrite(tail, 1, 4, f) == 4 ? 0 : -1;
}

dp_status dp_model_file_save(const char *path, const dp_spec *spec, const float *params,
                             size_t n_params, dp_error *err)
{
    if (!path || !spec || (!params && n_params))
        return dp_fail(err, DP_EINTERNAL, "model save: missing path, spec or parameters");
    /* Refuse to write what the loader would refuse to read. */
    long sizes[DP_MAX_SIZES];
    int ns = spec->n_sizes;
    for (int i = 0; i < ns && i >= 0 && i < DP_MAX_SIZES; i++) sizes[i] = spec->sizes[i];
    char why[128];
    if (dp_ckio_spec_check(ns, sizes, (long)spec->hidden, (long)spec->loss, why, sizeof why))
        return dp_fail(err, DP_EINTERNAL, "%s: cannot save model: invalid spec: %s", path, why);
    uint64_t want = dp_spec_param_count(spec);
    if ((uint64_t)n_params != want)
        return dp_fail(err, DP_EINTERNAL,
                       "%s: cannot save model: %zu parameters given, the spec needs %llu", path,
                       n_params, (unsigned long long)want);
    save_ctx c = {spec, params, n_params};
    return dp_atomic_write(path, write_model_body, &c, err);
}

/* ---- load ---- */

/* Reads exactly n bytes; on a short read says whether it was the end of the file. */
int dp_ckio_write_words(FILE *f, const void *src, size_t n, unsigned char *buf, unsigned long *crc)
{
    const unsigned char *p = src;
    for (size_t i = 0; i < n;) {
        size_t k = n - i;
        if (k > DP_CKIO_CHUNK / 4) k = DP_CKIO_CHUNK / 4;
        for (size_t j = 0; j < k; j++) {
            uint32_t u;
            memcpy(&u, p + 4 * (i + j), 4);
            dp_put_u32(buf + 4 * j, u);
        }
        if (dp_ckio_write_crc(f, buf, 4 * k, crc) != 0) return -1;
        i += k;
    }
    return 0;
}

dp_status dp_ckio_read_words(FILE *f, void *dst, size_t n, unsigned char *buf,
                            unsigned long *crc, const char *path, long *at, dp_error *err)
{
    unsigned char *p = dst;
    for (size_t i = 0; i < n;) {
        size_t k = n - i;
        if (k > DP_CKIO_CHUNK / 4) k = DP_CKIO_CHUNK / 4;
        dp_status rc = dp_ckio_read_exact(f, buf, 4 * k, path, *at, err);
        if (rc != DP_OK) return rc;
        *crc = dp_ckio_crc(*crc, buf, 4 * k);
        for (size_t j = 0; j < k; j++) {
            uint32_t u = dp_get_u32(buf + 4 * j);
            memcpy(p + 4 * (i + j), &u, 4);
        }
        i += k;
        *at += (long)(4 * k);
    }
    return DP_OK;
}

FILE *dp_ckio_open_regular(const char *path, uint64_t *size, dp_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        dp_fail(err, DP_ENOINPUT, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int e = errno;
        fclose(f);
        dp_fail(err, DP_ENOINPUT, "%s: cannot stat: %s", path, strerror(e));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(f);
        dp_fail(err, DP_ENOINPUT, "%s: not a regular file", path);
        return NULL;
    }
    *size = (uint64_t)st.st_size;
    return f;
}

dp_status dp_ckio_read_exact(FILE *f, unsigned char *p, size_t n, const char *path, long at,
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

dp_status dp_model_file_load(const char *path, dp_spec *spec, float **params, size_t *n_params,
                             dp_error *err)
{
    if (!path || !spec || !params || !n_params)
        return dp_fail(err, DP_EINTERNAL, "model load: missing path or output");
    *params = NULL;
    *n_params = 0;

    uint64_t fsize;
    FILE *f = dp_ckio_open_regular(path, &fsize, err);
    if (!f) return err ? err->code : DP_ENOINPUT;

    dp_status rc = DP_OK;
    float *out = NULL;
    unsigned char *buf = NULL;
    unsigned char head[FIXED_HEAD + 4 * DP_MAX_SIZES + 16];

    /* Magic first, on whatever bytes exist, so a short file of another type is named as such. */
    size_t first = fsize < FIXED_HEAD ? (size_t)fsize : FIXED_HEAD;
    if (first > 0 && (rc = dp_ckio_read_exact(f, head, first, path, 0, err)) != DP_OK) goto done;
    if (memcmp(head, MODEL_MAGIC, first < 8 ? first : 8) != 0) {
        /* The two formats share everything but the magic: name the likely mix-up. */
        if (first >= 8 && memcmp(head, CKPT_MAGIC, 8) == 0)
            rc = dp_fail(err, DP_EDATA, "%s: is a checkpoint, not a model file (bad magic)",
                         path);
        else
            rc = dp_fail(err, DP_EDATA, "%s: not a dpmlp model file (bad magic)", path);
        goto done;
    }
    if (fsize < FIXED_HEAD) {
        rc = dp_fail(err, DP_EDATA,
                     "%s: truncated: %llu bytes, a model file header needs at least %u%s", path,
                     (unsigned long long)fsize, FIXED_HEAD, fsize == 0 ? " (empty file)" : "");
        goto done;
    }
    uint32_t version = dp_get_u32(head + 8), marker = dp_get_u32(head + 12);
    /* A big-endian writer byte-swaps the version too, so name the real cause first. */
    if (marker == 0x04030201u) {
        rc = dp_fail(err, DP_EDATA,
                     "%s: written on a big-endian machine (byte order marker 01 02 03 04); "
                     "this dpmlp reads little-endian files", path);
        goto done;
    }
    if (version != DP_MODEL_FORMAT_VERSION) {
        rc = dp_fail(err, DP_EDATA, "%s: model format version %u, this dpmlp reads version %u",
                     path, version, DP_MODEL_FORMAT_VERSION);
        goto done;
    }
    if (marker != ENDIAN_MARKER) {
        rc = dp_fail(err, DP_EDATA,
                     "%s: bad byte order marker 0x%08x at offset 12, expected 0x%08x",
                     path, marker, ENDIAN_MARKER);
        goto done;
    }
    uint32_t ns = dp_get_u32(head + 16);
    if (ns < 2 || ns > DP_MAX_SIZES) {
        rc = dp_fail(err, DP_EDATA, "%s: header n_sizes is %u at offset 16, expected 2..%d", path,
                     ns, DP_MAX_SIZES);
        goto done;
    }
    size_t hlen = FIXED_HEAD + 4 * (size_t)ns + 16;
    if (fsize < hlen) {
        rc = dp_fail(err, DP_EDATA, "%s: truncated: %llu bytes, the header alone needs %zu", path,
                     (unsigned long long)fsize, hlen);
        goto done;
    }
    rc = dp_ckio_read_exact(f, head + FIXED_HEAD, hlen - FIXED_HEAD, path, FIXED_HEAD, err);
    if (rc != DP_OK) goto done;

    long sizes[DP_MAX_SIZES];
    for (uint32_t i = 0; i < ns; i++) sizes[i] = (long)dp_get_u32(head + FIXED_HEAD + 4 * i);
    size_t p = FIXED_HEAD + 4 * (size_t)ns;
    long hidden = (long)dp_get_u32(head + p), loss = (long)dp_get_u32(head + p + 4);
    uint64_t np = dp_get_u64(head + p + 8);
    char why[128];
    if (dp_ckio_spec_check((long)ns, sizes, hidden, loss, why, sizeof why)) {
        rc = dp_fail(err, DP_EDATA, "%s: bad header: %s", path, why);
        goto done;
    }
    dp_spec s;
    memset(&s, 0, sizeof s);
    s.n_sizes = (int)ns;
    for (uint32_t i = 0; i < ns; i++) s.sizes[i] = (int)sizes[i];
    s.hidden = (dp_act)hidden;
    s.loss = (dp_loss)loss;
    uint64_t want = dp_spec_param_count(&s);
    if (np != want) {
        rc = dp_fail(err, DP_EDATA, "%s: header claims %llu parameters, its layer sizes need %llu",
                     path, (unsigned long long)np, (unsigned long long)want);
        goto done;
    }
    /* want ≤ ~3.3e13, so 4*want + hlen + 4 cannot overflow 64 bits. */
    uint64_t expect = (uint64_t)hlen + 4 * np + 4;
    if (fsize < expect) {
        rc = dp_fail(err, DP_EDATA, "%s: truncated: %llu bytes, the header promises %llu", path,
                     (unsigned long long)fsize, (unsigned long long)expect);
        goto done;
    }
    if (fsize > expect) {
        rc = dp_fail(err, DP_EDATA, "%s: %llu bytes, the header promises %llu (trailing garbage)",
                     path, (unsigned long long)fsize, (unsigned long long)expect);
        goto done;
    }
    if (np > SIZE_MAX / 4) {
        rc = dp_fail(err, DP_EDATA, "%s: %llu parameters do not fit in memory on this host", path,
                     (unsigned long long)np);
        goto done;
    }

    /* Only now, with the size proven by the file itself, allocate. */
    if (np > 0) {
        out = dp_alloc((size_t)np * sizeof(float));
        buf = malloc(DP_CKIO_CHUNK);
        if (!out || !buf) {
            rc = dp_fail(err, DP_EINTERNAL, "%s: out of memory for %llu parameters", path,
                         (unsigned long long)np);
            goto done;
        }
    }
    unsigned long crc = dp_ckio_crc(crc32(0L, Z_NULL, 0), head, hlen);
    long at = (long)hlen;
    if ((rc = dp_ckio_read_words(f, out, (size_t)np, buf, &crc, path, &at, err)) != DP_OK)
        goto done;
    unsigned char tail[4];
    if ((rc = dp_ckio_read_exact(f, tail, 4, path, at, err)) != DP_OK) goto done;
    if (dp_get_u32(tail) != (uint32_t)crc) {
        rc = dp_fail(err, DP_EDATA,
                     "%s: checksum mismatch (file corrupt): stored crc32 %08x, computed %08x",
                     path, dp_get_u32(tail), (unsigned)(uint32_t)crc);
        goto done;
    }

    *spec = s;
    *params = out;
    *n_params = (size_t)np;
    out = NULL;
done:
    free(buf);
    dp_free(out);
    fclose(f);
    return rc;
}

/* Here rather than in train.c: the loader is what allocates these arrays. */
void dp_train_state_free(dp_train_state *s)
{
    if (!s) return;
    dp_free(s->params);
    dp_free(s->m1);
    dp_free(s->m2);
    dp_free(s->perm);
    memset(s, 0, sizeof *s);
}
