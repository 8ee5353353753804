/* IDX loader (MNIST layout): one images file (idx3, u8) and one labels file (idx1, u8),
 * each raw or gzip. Headers are untrusted: every size is checked against limits, against the
 * other file and against what the file can really hold before anything is allocated by it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fseeko, getc_unlocked */
#endif
#include "data.h"
#include "err.h"
#include "fileio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAX_SIDE 4096u
/* Deflate emits at least 2 bits per 258-byte match, so no stream inflates beyond 1032:1;
 * a header claiming more than that of its compressed file is a lie we can catch for free. */
#define GZ_MAX_RATIO 1032u
#define IO_CHUNK (1u << 16)
#define PATH_CAP 4096

/* One input file, raw or gzip (decided by its first two bytes, not by its name). */
typedef struct idx_in {
    char path[PATH_CAP]; /* the name actually opened, for messages */
    FILE *f;
    int gz;
    uint64_t file_size;
    uint32_t isize; /* gzip trailer: uncompressed size mod 2^32 of the last member */
    z_stream zs;
    int zs_live;
    int member_end;    /* inflate finished a member and no byte of a new one is known yet */
    uint64_t consumed; /* compressed bytes handed to inflate so far */
    unsigned char *inbuf;
} idx_in;

static uint32_t be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void idx_close(idx_in *in)
{
    if (in->zs_live) inflateEnd(&in->zs);
    if (in->f) fclose(in->f);
    free(in->inbuf);
    memset(in, 0, sizeof *in);
}

/* Opens `path` (or `path`.gz when `path` does not exist) as a regular file, never blocking on
 * a FIFO or device; the one descriptor checked is the one read. */
static dp_status idx_open_file(idx_in *in, const char *path, dp_error *err)
{
    size_t len = strlen(path);
    if (len + 4 > PATH_CAP) return dp_fail(err, DP_ENOINPUT, "%.200s...: path too long", path);
    memcpy(in->path, path, len + 1);
    int fd = dp_open_regular_fd(in->path, "an IDX file", &in->file_size, err);
    if (fd < 0 && errno == ENOENT) {
        int e = errno;
        memcpy(in->path + len, ".gz", 4);
        dp_error e2;
        fd = dp_open_regular_fd(in->path, "an IDX file", &in->file_size, &e2);
        if (fd < 0 && errno == ENOENT && e == ENOENT)
            return dp_fail(err, DP_ENOINPUT, "%s: no such file (also tried %s.gz)", path, path);
        if (fd < 0 && errno != 0)
            /* Report the error that is not "missing": it says why an existing file failed. */
            return dp_fail(err, DP_ENOINPUT, "%s: cannot open: %s (also tried %s.gz)", path,
                           strerror(errno), path);
        if (fd < 0) { /* path.gz exists but is refused (a directory, a FIFO): say that */
            if (err) *err = e2;
            return e2.code;
        }
    } else if (fd < 0) {
        return err ? err->code : DP_ENOINPUT;
    }
    in->f = fdopen(fd, "rb");
    if (!in->f) {
        close(fd);
        return dp_fail(err, DP_ENOINPUT, "%s: cannot open: %s", in->path, strerror(errno));
    }
    return DP_OK;
}

/* Opens the file and sniffs gzip (by its first two bytes, not by its name). */
static dp_status idx_open(idx_in *in, const char *path, dp_error *err)
{
    memset(in, 0, sizeof *in);
    dp_status s = idx_open_file(in, path, err);
    if (s != DP_OK) return s;
    unsigned char head[2];
    if (in->file_size >= 2 && fread(head, 1, 2, in->f) == 2 && head[0] == 0x1f && head[1] == 0x8b)
        in->gz = 1;
    if (in->gz && in->file_size >= 18) {
        unsigned char t[4];
        if (fseeko(in->f, (off_t)in->file_size - 4, SEEK_SET) != 0 || fread(t, 1, 4, in->f) != 4)
            return dp_fail(err, DP_ENOINPUT, "%s: cannot read gzip trailer: %s", in->path,
                           strerror(errno));
        in->isize = (uint32_t)t[0] | ((uint32_t)t[1] << 8) | ((uint32_t)t[2] << 16) |
                    ((uint32_t)t[3] << 24);
    }
    if (fseeko(in->f, 0, SEEK_SET) != 0)
        return dp_fail(err, DP_ENOINPUT, "%s: cannot seek: %s", in->path, strerror(errno));
    if (in->gz) {
        in->inbuf = malloc(IO_CHUNK);
        if (!in->inbuf) return dp_fail(err, DP_EINTERNAL, "%s: out of memory", in->path);
        /* 15 + 16: gzip wrapper only, so inflate checks the CRC-32 and ISIZE of each member. */
        if (inflateInit2(&in->zs, 15 + 16) != Z_OK)
            return dp_fail(err, DP_EINTERNAL, "%s: cannot start zlib", in->path);
        in->zs_live = 1;
    }
    return DP_OK;
}

/* Reads up to n bytes; *got < n only at a clean end of data. Every gzip fault is an error. */
static dp_status idx_read(idx_in *in, void *buf, size_t n, size_t *got, dp_error *err)
{
    *got = 0;
    if (!in->gz) {
        *got = fread(buf, 1, n, in->f);
        if (*got < n && ferror(in->f))
            return dp_fail(err, DP_ENOINPUT, "%s: read error: %s", in->path, strerror(errno));
        return DP_OK;
    }
    z_stream *zs = &in->zs;
    unsigned char *out = buf;
    while (*got < n) {
        if (zs->avail_in == 0) {
            size_t r = fread(in->inbuf, 1, IO_CHUNK, in->f);
            if (r == 0) {
                if (ferror(in->f))
                    return dp_fail(err, DP_ENOINPUT, "%s: read error: %s", in->path,
                                   strerror(errno));
                if (in->member_end) return DP_OK; /* clean end after a whole member */
                return dp_fail(err, DP_EDATA,
                               "%s: truncated gzip: compressed data ends at byte %llu before the "
                               "end of the stream",
                               in->path, (unsigned long long)in->file_size);
            }
            zs->next_in = in->inbuf;
            zs->avail_in = (uInt)r;
            in->consumed += r;
        }
        if (in->member_end) {
            /* More bytes after a finished member: another member (cat a.gz b.gz) or junk. */
            if (inflateReset(zs) != Z_OK)
                return dp_fail(err, DP_EINTERNAL, "%s: zlib reset failed", in->path);
            in->member_end = 0;
        }
        size_t want = n - *got;
        if (want > (1u << 30)) want = 1u << 30;
        uint64_t at = in->consumed - zs->avail_in;
        zs->next_out = out + *got;
        zs->avail_out = (uInt)want;
        int ret = inflate(zs, Z_NO_FLUSH);
        *got += want - zs->avail_out;
        if (ret == Z_STREAM_END) {
            in->member_end = 1;
        } else if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT) {
            if (zs->total_out == 0 && at > 0 && strstr(zs->msg ? zs->msg : "", "header"))
                return dp_fail(err, DP_EDATA,
                               "%s: trailing garbage after the gzip stream at byte %llu",
                               in->path, (unsigned long long)at);
            return dp_fail(err, DP_EDATA, "%s: corrupt gzip data near byte %llu: %s", in->path,
                           (unsigned long long)at, zs->msg ? zs->msg : "inflate error");
        } else if (ret == Z_MEM_ERROR) {
            return dp_fail(err, DP_EINTERNAL, "%s: out of memory in zlib", in->path);
        } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
            return dp_fail(err, DP_EINTERNAL, "%s: zlib error %d", in->path, ret);
        }
    }
    return DP_OK;
}

/* After the payload: the file must end here (raw: checked by size; gzip: inflate to the end,
 * which also verifies the CRC of the last member). */
static dp_status idx_expect_end(idx_in *in, uint32_t n, uint64_t payload, dp_error *err)
{
    if (!in->gz) return DP_OK;
    unsigned char scratch[256];
    size_t got;
    dp_status s = idx_read(in, scratch, sizeof scratch, &got, err);
    if (s != DP_OK) return s;
    if (got > 0)
        return dp_fail(err, DP_EDATA,
                       "%s: trailing data: header claims %u samples (%llu bytes of data) but the "
                       "decompressed content is longer",
                       in->path, n, (unsigned long long)payload);
    return DP_OK;
}

typedef struct idx_header {
    uint32_t n, rows, cols;
    uint64_t header_bytes, payload; /* payload = n * rows * cols (rows = cols = 1 for labels) */
} idx_header;

static const char *magic_hint(uint32_t m)
{
    if (m == 0x03080000u || m == 0x01080000u) return " (byte-swapped: not a big-endian IDX file)";
    if (m == IDX_MAGIC_IMAGES) return " (an images file: swapped with the labels file?)";
    if (m == IDX_MAGIC_LABELS) return " (a labels file: swapped with the images file?)";
    if ((m >> 8) == 0x08u) return " (u8 IDX of the wrong rank)";
    if ((m >> 16) == 0 && ((m >> 8) & 0xff) != 0x08u) return " (not u8 data)";
    return "";
}

static dp_status idx_read_header(idx_in *in, int images, idx_header *h, dp_error *err)
{
    unsigned char b[16];
    size_t need = images ? 16 : 8, got;
    dp_status s = idx_read(in, b, need, &got, err);
    if (s != DP_OK) return s;
    const char *kind = images ? "IDX3 images" : "IDX1 labels";
    if (got < 4)
        return dp_fail(err, DP_EDATA, "%s: truncated: %zu bytes of content, an %s header needs %zu",
                       in->path, got, kind, need);
    uint32_t magic = be32(b), want = images ? IDX_MAGIC_IMAGES : IDX_MAGIC_LABELS;
    if (magic != want)
        return dp_fail(err, DP_EDATA, "%s: bad magic 0x%08x, expected 0x%08x for %s%s", in->path,
                       magic, want, kind, magic_hint(magic));
    if (got < need)
        return dp_fail(err, DP_EDATA, "%s: truncated: %zu bytes of content, an %s header needs %zu",
                       in->path, got, kind, need);
    h->n = be32(b + 4);
    h->rows = images ? be32(b + 8) : 1;
    h->cols = images ? be32(b + 12) : 1;
    h->header_bytes = need;
    if (h->n == 0) return dp_fail(err, DP_EDATA, "%s: header claims 0 samples", in->path);
    if ((size_t)h->n > DP_DATA_MAX_SAMPLES)
        return dp_fail(err, DP_EDATA, "%s: header claims %u samples, more than the limit %zu",
                       in->path, h->n, (size_t)DP_DATA_MAX_SAMPLES);
    if (images &&
        (h->rows == 0 || h->cols == 0 || h->rows > IDX_MAX_SIDE || h->cols > IDX_MAX_SIDE))
        return dp_fail(err, DP_EDATA,
                       "%s: header claims %ux%u pixel images, each side must be 1..%u", in->path,
                       h->rows, h->cols, IDX_MAX_SIDE);
    h->payload = (uint64_t)h->n * h->rows * h->cols; /* < 2^28 * 2^24: no overflow */
    if (h->payload > (uint64_t)DP_DATA_MAX_BYTES)
        return dp_fail(err, DP_EDATA,
                       "%s: header claims %u images of %ux%u (%llu bytes), more than the limit "
                       "%zu bytes",
                       in->path, h->n, h->rows, h->cols, (unsigned long long)h->payload,
                       (size_t)DP_DATA_MAX_BYTES);
    uint64_t total = h->header_bytes + h->payload;
    if (!in->gz) {
        if (in->file_size < total)
            return dp_fail(err, DP_EDATA,
                           "%s: truncated: header claims %u samples (%llu bytes with header) but "
                           "the file has %llu bytes",
                           in->path, h->n, (unsigned long long)total,
                           (unsigned long long)in->file_size);
        if (in->file_size > total)
            return dp_fail(err, DP_EDATA,
                           "%s: trailing garbage: header claims %u samples (%llu bytes with "
                           "header) but the file has %llu bytes",
                           in->path, h->n, (unsigned long long)total,
                           (unsigned long long)in->file_size);
    } else if (total > in->file_size * GZ_MAX_RATIO + 1024) {
        return dp_fail(err, DP_EDATA,
                       "%s: header claims %u samples (%llu bytes) but a %llu-byte gzip file "
                       "cannot hold that much (truncated or lying header)",
                       in->path, h->n, (unsigned long long)total,
                       (unsigned long long)in->file_size);
    }
    return DP_OK;
}

static dp_status truncated_payload(const idx_in *in, const idx_header *h, uint64_t got,
                                   dp_error *err)
{
    return dp_fail(err, DP_EDATA,
                   "%s: truncated: header claims %u samples (%llu bytes of data) but the "
                   "content ends after %llu bytes",
                   in->path, h->n, (unsigned long long)h->payload, (unsigned long long)got);
}

/* Back to the first payload byte of a gzip file: rewind, restart zlib, skip the header. */
static dp_status idx_gz_rewind(idx_in *in, const idx_header *h, dp_error *err)
{
    if (fseeko(in->f, 0, SEEK_SET) != 0)
        return dp_fail(err, DP_ENOINPUT, "%s: cannot seek: %s", in->path, strerror(errno));
    if (inflateReset(&in->zs) != Z_OK)
        return dp_fail(err, DP_EINTERNAL, "%s: zlib reset failed", in->path);
    in->zs.avail_in = 0;
    in->consumed = 0;
    in->member_end = 0;
    unsigned char skip[16];
    size_t got;
    dp_status s = idx_read(in, skip, (size_t)h->header_bytes, &got, err);
    if (s == DP_OK && got != h->header_bytes)
        s = dp_fail(err, DP_EDATA, "%s: file changed while it was being read", in->path);
    return s;
}

/* A gzip whose trailer disagrees with the header (several members, junk after the stream, or
 * a lying header): inflate once only counting, so content longer or shorter than the header
 * claims is refused before anything is allocated by it (a few kilobytes of a bomb cost a
 * scratch buffer, not gigabytes); then back to the payload for the real read. */
static dp_status idx_gz_measure(idx_in *in, const idx_header *h, dp_error *err)
{
    unsigned char *scratch = malloc(IO_CHUNK);
    if (!scratch) return dp_fail(err, DP_EINTERNAL, "%s: out of memory", in->path);
    uint64_t seen = 0;
    size_t r = 0;
    dp_status s;
    do {
        s = idx_read(in, scratch, IO_CHUNK, &r, err);
        seen += r;
    } while (s == DP_OK && r == IO_CHUNK && seen <= h->payload);
    free(scratch);
    if (s != DP_OK) return s;
    if (seen > h->payload)
        return dp_fail(err, DP_EDATA,
                       "%s: trailing data: header claims %u samples (%llu bytes of data) but the "
                       "decompressed content is longer",
                       in->path, h->n, (unsigned long long)h->payload);
    if (seen < h->payload) return truncated_payload(in, h, seen, err);
    return idx_gz_rewind(in, h, err);
}

/* Reads exactly h->payload bytes into *out (64-byte aligned, owned by the caller), straight
 * into the one buffer the header sizes (already bounded by the limits and, for gzip, by what
 * the compressed size can hold), then checks that nothing follows. */
static dp_status idx_read_payload(idx_in *in, const idx_header *h, uint8_t **out, dp_error *err)
{
    const size_t need = (size_t)h->payload;
    *out = NULL;
    dp_status s = DP_OK;
    if (in->gz && in->isize != (uint32_t)(h->header_bytes + h->payload))
        s = idx_gz_measure(in, h, err);
    if (s != DP_OK) return s;
    uint8_t *buf = dp_alloc(need);
    if (!buf) return dp_fail(err, DP_EINTERNAL, "%s: out of memory for %zu bytes", in->path, need);
    size_t got = 0;
    s = idx_read(in, buf, need, &got, err);
    if (s == DP_OK && got < need) s = truncated_payload(in, h, got, err);
    if (s == DP_OK) s = idx_expect_end(in, h->n, h->payload, err);
    if (s != DP_OK) {
        dp_free(buf);
        return s;
    }
    *out = buf;
    return DP_OK;
}

dp_status dp_idx_load_pair(const char *images_path, const char *labels_path, dp_dataset **out,
                           dp_error *err)
{
    *out = NULL;
    idx_in im, lb;
    idx_header hi, hl;
    uint8_t *pix = NULL, *lab = NULL;
    dp_dataset *d = NULL;
    memset(&lb, 0, sizeof lb);
    dp_status s = idx_open(&im, images_path, err);
    if (s == DP_OK) s = idx_read_header(&im, 1, &hi, err);
    if (s == DP_OK) s = idx_open(&lb, labels_path, err);
    if (s == DP_OK) s = idx_read_header(&lb, 0, &hl, err);
    if (s == DP_OK && hi.n != hl.n)
        s = dp_fail(err, DP_EDATA, "%s: header claims %u images but labels file %s has %u labels",
                    im.path, hi.n, lb.path, hl.n);
    if (s == DP_OK) s = idx_read_payload(&lb, &hl, &lab, err);
    if (s == DP_OK) s = idx_read_payload(&im, &hi, &pix, err);
    if (s == DP_OK) {
        d = calloc(1, sizeof *d);
        int32_t *labels = dp_alloc((size_t)hi.n * sizeof(int32_t));
        if (!d || !labels) {
            free(d);
            dp_free(labels);
            d = NULL;
            s = dp_fail(err, DP_EINTERNAL, "%s: out of memory", im.path);
        } else {
            d->n = hi.n;
            d->n_in = (size_t)hi.rows * hi.cols;
            d->n_targets = 0;
            d->x_u8 = pix;
            d->labels = labels;
            d->max_label = -1;
            for (size_t i = 0; i < d->n; i++) {
                labels[i] = lab[i];
                if (labels[i] > d->max_label) d->max_label = labels[i];
            }
            size_t sl = strlen(im.path); /* a longer path keeps its first 255 bytes */
            if (sl >= sizeof d->source) sl = sizeof d->source - 1;
            memcpy(d->source, im.path, sl);
            d->source[sl] = '\0';
            snprintf(d->labels_source, sizeof d->labels_source, "%.255s", lb.path);
            pix = NULL;
            *out = d;
        }
    }
    dp_free(pix);
    dp_free(lab);
    idx_close(&im);
    idx_close(&lb);
    return s;
}

dp_status dp_data_load_mnist(const char *dir, int test_split, dp_dataset **out, dp_error *err)
{
    *out = NULL;
    struct stat st;
    if (stat(dir, &st) != 0)
        return dp_fail(err, DP_ENOINPUT, "%s: cannot open dataset directory: %s", dir,
                       strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return dp_fail(err, DP_ENOINPUT,
                       "%s: not a directory (expected an MNIST-layout directory holding "
                       "train-images-idx3-ubyte[.gz] and friends)",
                       dir);
    const char *pre = test_split ? "t10k" : "train";
    const char *sep = (*dir && dir[strlen(dir) - 1] == '/') ? "" : "/";
    char ip[PATH_CAP], lp[PATH_CAP];
    int a = snprintf(ip, sizeof ip, "%s%s%s-images-idx3-ubyte", dir, sep, pre);
    int b = snprintf(lp, sizeof lp, "%s%s%s-labels-idx1-ubyte", dir, sep, pre);
    if (a < 0 || b < 0 || (size_t)a >= sizeof ip || (size_t)b >= sizeof lp)
        return dp_fail(err, DP_ENOINPUT, "%.200s...: path too long", dir);
    return dp_idx_load_pair(ip, lp, out, err);
}
