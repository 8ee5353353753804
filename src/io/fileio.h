/* What every file reader and writer in io/ shares: opening an input that must be a regular
 * file (checked before anything can block on it), exact reads whose messages give the offset,
 * CRC-32 words, and the header prologue that model files and checkpoints have in common
 * (magic, version, byte order, layer sizes), so the two formats cannot drift apart. */
#ifndef DP_FILEIO_H
#define DP_FILEIO_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dpmlp.h"
#include "spec.h"

#define DP_FILE_MODEL_MAGIC "DPMLPMDL" /* 8 bytes, no terminator in the file */
#define DP_FILE_CKPT_MAGIC "DPMLPCKP"
#define DP_FILE_ENDIAN_MARKER 0x01020304u
#define DP_FILE_ENDIAN_SWAPPED 0x04030201u /* the marker as a big-endian writer leaves it */
#define DP_FILE_FIXED_HEAD 20u             /* magic + version + marker + n_sizes */
#define DP_FILE_CHUNK 65536u               /* bytes per buffered array chunk (multiple of 8) */
#define DP_FILE_MAX_HEAD 2048u             /* the longest header of either format */

/* Opens path read-only if it is a regular file, never blocking on the way: the open is
 * non-blocking (a FIFO without a writer would otherwise hang the open itself), fstat decides,
 * then the descriptor is made blocking again. Returns the fd and the size (only a regular
 * file's size can bound what a loader allocates), or -1 with DP_ENOINPUT naming the file:
 * "cannot open: <reason>" (errno kept from open), "is a directory, expected <expected>" when
 * expected is not NULL, or "not a regular file" (errno 0 for both). */
int dp_open_regular_fd(const char *path, const char *expected, uint64_t *size, dp_error *err);
/* The same as a stdio stream (binary, read-only). */
FILE *dp_open_regular(const char *path, const char *expected, uint64_t *size, dp_error *err);

/* Standard input ("-", or "/dev/stdin" by name; stdin_input.c): read to its end at the first
 * call and kept for the process, each call a fresh read-only memory stream over those bytes
 * (seekable, so two-pass loaders work on a pipe). DP_ENOINPUT when stdin cannot be read. */
int dp_path_is_stdin(const char *path);
FILE *dp_open_stdin(uint64_t *size, dp_error *err);
/* dp_open_stdin for a stdin path, else dp_open_regular. */
FILE *dp_open_input(const char *path, const char *expected, uint64_t *size, dp_error *err);

/* Reads exactly n bytes at offset `at` (for the message); a short read is DP_EDATA
 * "truncated", a read error DP_ENOINPUT. */
dp_status dp_read_exact(FILE *f, unsigned char *p, size_t n, const char *path, long at,
                        dp_error *err);

/* zlib's crc32 over any length (its own length type is uInt). */
unsigned long dp_crc(unsigned long crc, const unsigned char *p, size_t n);
/* fwrite that also feeds the running CRC; 0 on success. */
int dp_write_crc(FILE *f, const unsigned char *p, size_t n, unsigned long *crc);
/* n 32-bit words (floats or u32) from src, written little-endian through buf (DP_FILE_CHUNK
 * bytes) with the CRC updated; 0 or -1 (errno set by stdio). */
int dp_write_words(FILE *f, const void *src, size_t n, unsigned char *buf, unsigned long *crc);
/* The reverse: n little-endian words into dst, CRC updated, *at advanced (for messages). */
dp_status dp_read_words(FILE *f, void *dst, size_t n, unsigned char *buf, unsigned long *crc,
                        const char *path, long *at, dp_error *err);
/* Writes the CRC word that ends every file; 0 or -1. */
int dp_write_crc_tail(FILE *f, unsigned long crc);
/* Reads the tail CRC at `at` and compares it with crc: DP_EDATA "checksum mismatch". */
dp_status dp_check_crc_tail(FILE *f, unsigned long crc, const char *path, long at,
                            dp_error *err);

/* NULL if the spec fields are storable, else `why` filled with what is wrong. */
const char *dp_file_spec_check(long n_sizes, const long *sizes, long hidden, long loss,
                               char *why, size_t why_len);
/* The same on a dp_spec (what a writer checks before writing). */
const char *dp_file_spec_check_spec(const dp_spec *spec, char *why, size_t why_len);

/* The stored parameter vector (or a moment array of the same layout) must be finite: NULL if
 * it is, else `why` filled with the array, the layer and the index of the first NaN or inf
 * ("layer 2 weights hold NaN at index 17"; "adam second moment holds inf at layer 1 biases
 * index 3"). `array` is NULL for the parameters themselves. The flat layout (every layer's
 * weights, then every layer's biases) is the file format's as much as the model's. */
const char *dp_file_nonfinite(const char *array, const dp_spec *spec, const float *v, size_t n,
                              char *why, size_t why_len);

/* ---- the header prologue of model files and checkpoints ----
 * magic (8) | u32 version | u32 endianness marker | u32 n_sizes | u32 sizes[n_sizes]
 * | u32 hidden | u32 loss | what the kind's head_len says follows in the header. */
typedef struct dp_file_kind {
    const char *magic, *other_magic;
    const char *other_msg;     /* said (after "path: ") when other_magic is found instead */
    const char *bad_magic_msg; /* said for any other magic */
    const char *header_noun;   /* "a model file header" */
    const char *big_endian;    /* said for a byte-swapped marker */
    const char *version_noun;  /* "model format" */
    uint32_t min_version, max_version;
    /* Bytes of the whole header for a version and a layer count. */
    size_t (*head_len)(uint32_t version, uint32_t n_sizes);
} dp_file_kind;

typedef struct dp_file_head {
    unsigned char b[DP_FILE_MAX_HEAD];
    size_t len;       /* bytes of the whole header, all in b */
    size_t rest;      /* offset of what follows sizes, hidden and loss */
    uint32_t version;
    dp_spec spec;     /* checked by dp_file_spec_check (not yet dp_spec_validate) */
} dp_file_head;

/* Reads and checks the prologue and the rest of the header (its length proven against the file
 * size first). DP_EDATA with the message the kind's words make, or a read error. */
dp_status dp_file_read_head(FILE *f, const char *path, uint64_t fsize, const dp_file_kind *k,
                            dp_file_head *h, dp_error *err);
/* Writes the prologue for spec into b; returns its length (the kind's `rest`). */
size_t dp_file_put_head(unsigned char *b, const char *magic, uint32_t version,
                        const dp_spec *spec);
/* The file size the header promises must be the file's: DP_EDATA "truncated" or "trailing
 * garbage". */
dp_status dp_file_check_size(const char *path, uint64_t fsize, uint64_t expect, dp_error *err);

#endif
