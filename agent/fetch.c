/* SPDX-License-Identifier: MIT */
/* The fetch step: the bundle streamed to DEST.part with its SHA-256 computed as bytes arrive, resumed with Range, bounded. */
#include "fetch.h"
#include "log.h"
#include "proc.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define FETCH_BUFFER (512 * 1024)   /* libcurl's receive buffer */
#define FETCH_WBUF (128 * 1024)     /* bytes gathered before one write(2): with 1 MiB (out of the
				     * CPU's cache) the copy into the page cache took 2.5 times longer */
#define FETCH_NBUF 8                /* buffers of FETCH_WBUF between libcurl's thread and the writer */
#define FETCH_MAX_REQUESTS 1000     /* every request of one fetch, resumes included */
#define FETCH_SPACE_MARGIN (16u << 20) /* free bytes left beside the announced size */
#define FETCH_DRAW_EVERY 0.25       /* seconds between two redraws of the progress bar */

enum fetch_abort {
	ABORT_NONE,
	ABORT_TOO_LARGE, /* more than max_bytes, announced or received */
	ABORT_NO_SPACE,  /* the announced size does not fit, or a write hit ENOSPC */
	ABORT_IO,        /* a write to DEST.part failed */
	ABORT_STATUS,    /* not a 2xx: the body is not written */
	ABORT_RANGE,     /* a 206 that does not start where asked */
};

/*
 * The writer: a thread of its own hashes the body and writes it to DEST.part, so that the
 * SHA-256 and the copy into the page cache overlap with libcurl receiving and decrypting on
 * the calling thread instead of adding to it (on libcurl's thread they made 1 GiB over loopback
 * HTTPS take about 1.5 times as long as curl -o; with the writer about 1.25-1.3 times, on 2
 * CPUs shared with the server). Buffers go round a ring: the caller fills buffer `fill`, queues it
 * when full, and waits only when all FETCH_NBUF are queued; the writer takes them from `head`
 * in order. While nothing is queued the writer is idle and DEST.part, the digest and flushed
 * are the caller's (after wbuf_flush).
 */
struct fetch_pipe {
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t queued_cond; /* a buffer was queued, or stop */
	pthread_cond_t freed_cond;  /* a queued buffer was written (or discarded after an error) */
	unsigned char *mem;         /* FETCH_NBUF buffers of FETCH_WBUF bytes */
	size_t len[FETCH_NBUF];
	unsigned head, queued;      /* the queue: head .. head + queued - 1, modulo FETCH_NBUF */
	bool stop;
	int error;                  /* the writer's first error (an errno); later buffers are dropped */
};

struct fetch_ctx {
	CURL *c;
	const struct http_cfg *cfg;
	bool is_file;
	int fd;
	EVP_MD_CTX *md;
	uint64_t have;     /* bytes taken: in DEST.part, queued to the writer, or in the buffer being filled */
	uint64_t max_bytes;
	uint64_t offset;   /* where this attempt's Range starts (0: no Range) */
	uint64_t total;    /* the size announced (0: unknown) */
	const char *dir;   /* DEST's folder, for statvfs */
	struct fetch_pipe q;
	unsigned fill;     /* the buffer being filled (not queued) */
	size_t wlen;       /* bytes in it */
	uint64_t flushed;  /* bytes in DEST.part (the writer's) */
	/* per attempt */
	bool started;      /* the response's status and size were checked */
	enum fetch_abort abort;
	int io_errno;
	char content_range[96];
	char errbuf[CURL_ERROR_SIZE]; /* libcurl's message of the last attempt */
	/* progress bar */
	bool progress, drawn;
	double t0, last_draw;
	uint64_t have0;
};

/* ------------------------------------------------------------------------- the file */

static unsigned char *wbuf(struct fetch_ctx *x)
{
	return x->q.mem + (size_t)x->fill * FETCH_WBUF;
}

/* The writer's work on one buffer: hash it, append it to DEST.part, start its write-back. */
static int wbuf_write(struct fetch_ctx *x, const unsigned char *p, size_t len)
{
	if (EVP_DigestUpdate(x->md, p, len) != 1)
		return -ENOMEM;
	int r = pib_write_all(x->fd, p, len);
	if (r < 0)
		return r;
	x->flushed += len;
	return 0;
}

static void *writer_main(void *p)
{
	struct fetch_ctx *x = p;
	struct fetch_pipe *q = &x->q;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!q->queued && !q->stop)
			pthread_cond_wait(&q->queued_cond, &q->lock);
		if (!q->queued)
			break; /* stopped, and everything queued is written */
		unsigned i = q->head;
		bool failed = q->error != 0;
		pthread_mutex_unlock(&q->lock);
		int r = failed ? 0 : wbuf_write(x, q->mem + (size_t)i * FETCH_WBUF, q->len[i]);
		pthread_mutex_lock(&q->lock);
		if (r < 0 && !q->error)
			q->error = -r;
		q->head = (i + 1) % FETCH_NBUF;
		q->queued--;
		pthread_cond_signal(&q->freed_cond);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* Starts the writer, every signal blocked in it: they are the calling thread's to handle. */
static int writer_start(struct fetch_ctx *x)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&x->q.thread, NULL, writer_main, x);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	x->q.running = true;
	return 0;
}

/* Lets the writer finish what is queued and joins it. */
static void writer_stop(struct fetch_ctx *x)
{
	if (!x->q.running)
		return;
	pthread_mutex_lock(&x->q.lock);
	x->q.stop = true;
	pthread_cond_signal(&x->q.queued_cond);
	pthread_mutex_unlock(&x->q.lock);
	pthread_join(x->q.thread, NULL);
	x->q.running = false;
}

/*
 * Queues the buffer being filled (unless empty) and, with drain, waits until the writer has
 * written everything, else until a buffer is free to fill. Returns the writer's error as a
 * negative errno (0: none). Called on libcurl's thread only.
 */
static int wbuf_queue(struct fetch_ctx *x, bool drain)
{
	struct fetch_pipe *q = &x->q;

	pthread_mutex_lock(&q->lock);
	if (x->wlen) {
		q->len[x->fill] = x->wlen;
		q->queued++;
		x->fill = (x->fill + 1) % FETCH_NBUF;
		x->wlen = 0;
		pthread_cond_signal(&q->queued_cond);
	}
	while (drain ? q->queued > 0 : q->queued == FETCH_NBUF)
		pthread_cond_wait(&q->freed_cond, &q->lock);
	int r = -q->error;
	pthread_mutex_unlock(&q->lock);
	return r;
}

/* Everything taken written to DEST.part and hashed; the writer is idle after it. */
static int wbuf_flush(struct fetch_ctx *x)
{
	return wbuf_queue(x, true);
}

/* Starts DEST.part over: empty, digest reset. */
static int part_reset(struct fetch_ctx *x)
{
	x->wlen = 0; /* dropped: the file is emptied anyway */
	int r = wbuf_flush(x);
	if (r < 0)
		return r;
	x->have = 0;
	x->flushed = 0;
	if (ftruncate(x->fd, 0) < 0 || lseek(x->fd, 0, SEEK_SET) < 0)
		return -errno;
	if (EVP_DigestInit_ex(x->md, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	return 0;
}

/* Hashes what an earlier run left in DEST.part, once, and leaves the offset at its end. */
static int part_hash_existing(struct fetch_ctx *x)
{
	for (;;) {
		ssize_t n = read(x->fd, wbuf(x), FETCH_WBUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		if (EVP_DigestUpdate(x->md, wbuf(x), (size_t)n) != 1)
			return -ENOMEM;
		x->have += (uint64_t)n;
		if (x->have > x->max_bytes) /* too big to be this bundle: start over */
			return part_reset(x);
	}
}

/* ------------------------------------------------------------------------- progress */

static void human_bytes(double b, char *out, size_t size)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;

	while (b >= 1024 && u < 4) {
		b /= 1024;
		u++;
	}
	snprintf(out, size, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

static void progress_draw(struct fetch_ctx *x, bool force)
{
	double now = pib_now_mono();
	char got[32], all[32], rate[32], left[32] = "";

	if (!x->progress || (!force && now - x->last_draw < FETCH_DRAW_EVERY))
		return;
	x->last_draw = now;
	double speed = now > x->t0 ? (double)(x->have - x->have0) / (now - x->t0) : 0;
	human_bytes((double)x->have, got, sizeof(got));
	human_bytes(speed, rate, sizeof(rate));
	if (x->total) {
		human_bytes((double)x->total, all, sizeof(all));
		if (speed > 0 && x->total > x->have) {
			uint64_t s = (uint64_t)((double)(x->total - x->have) / speed);
			snprintf(left, sizeof(left), "  %" PRIu64 ":%02u left", s / 60, (unsigned)(s % 60));
		}
	} else {
		snprintf(all, sizeof(all), "?");
	}
	fprintf(stderr, "\r\033[Kfetch: %s / %s  %s/s%s", got, all, rate, left);
	fflush(stderr);
	x->drawn = true;
}

static void progress_clear(struct fetch_ctx *x)
{
	if (x->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		x->drawn = false;
	}
}

static int xferinfo(void *p, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	struct fetch_ctx *x = p;

	if (pib_interrupted || (x->cfg->deadline > 0 && pib_now_mono() > x->cfg->deadline))
		return 1;
	progress_draw(x, false);
	return 0;
}

/* ------------------------------------------------------------------------- one response */

static size_t on_header(char *p, size_t size, size_t n, void *userdata)
{
	struct fetch_ctx *x = userdata;
	size_t len = size * n;

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) /* a new response (after a redirect) */
		x->content_range[0] = '\0';
	else if (len > 14 && strncasecmp(p, "Content-Range:", 14) == 0)
		snprintf(x->content_range, sizeof(x->content_range), "%.*s", (int)(len - 14), p + 14);
	return len;
}

/* "bytes START-END/TOTAL" or "bytes * /TOTAL" (no space): START (or -1), TOTAL (0 when "*"). */
static bool parse_content_range(const char *s, int64_t *start, uint64_t *total)
{
	char *end;

	s += strspn(s, " \t");
	if (strncasecmp(s, "bytes", 5) != 0)
		return false;
	s += 5;
	s += strspn(s, " \t");
	*start = -1;
	if (*s == '*') {
		s++;
	} else {
		errno = 0;
		unsigned long long a = strtoull(s, &end, 10);
		if (errno || end == s || *end != '-')
			return false;
		*start = (int64_t)a;
		s = end + 1;
		strtoull(s, &end, 10);
		if (end == s)
			return false;
		s = end;
	}
	if (*s != '/')
		return false;
	s++;
	*total = 0;
	if (*s != '*') {
		errno = 0;
		unsigned long long t = strtoull(s, &end, 10);
		if (errno || end == s)
			return false;
		*total = t;
	}
	return true;
}

/* The response's head is in: its status, where its body starts, its size, the free space. */
static bool attempt_begin(struct fetch_ctx *x)
{
	long status = 0;
	curl_off_t cl = -1;

	x->started = true;
	curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
	if (!x->is_file && (status < 200 || status >= 300)) {
		x->abort = ABORT_STATUS;
		return false;
	}
	uint64_t body_start = 0;
	if (x->offset > 0 && (x->is_file || status == 206)) {
		int64_t start = -1;
		uint64_t total = 0;
		if (!x->is_file) {
			if (!parse_content_range(x->content_range, &start, &total) || start != (int64_t)x->offset) {
				x->abort = ABORT_RANGE;
				return false;
			}
			x->total = total;
		}
		body_start = x->offset;
	} else if (x->offset > 0) { /* 200 to a Range request: the whole file again */
		int r = part_reset(x);
		if (r < 0) {
			x->io_errno = -r;
			x->abort = ABORT_IO;
			return false;
		}
		x->offset = 0;
	}
	if (x->offset == 0 || x->is_file || x->total == 0) /* else Content-Range's total */
		x->total = cl >= 0 ? body_start + (uint64_t)cl : 0;
	if (x->total > x->max_bytes) {
		x->abort = ABORT_TOO_LARGE;
		return false;
	}
	struct statvfs vfs;
	if (x->total > x->have && statvfs(x->dir, &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < x->total - x->have + FETCH_SPACE_MARGIN) {
		x->abort = ABORT_NO_SPACE;
		return false;
	}
	return true;
}

static size_t on_body(char *p, size_t size, size_t n, void *userdata)
{
	struct fetch_ctx *x = userdata;
	size_t len = size * n;

	if (!x->started && !attempt_begin(x))
		return 0;
	if (len > x->max_bytes - x->have) { /* never trust Content-Length: count */
		x->abort = ABORT_TOO_LARGE;
		return 0;
	}
	x->have += len;
	while (len) {
		size_t k = FETCH_WBUF - x->wlen < len ? FETCH_WBUF - x->wlen : len;
		memcpy(wbuf(x) + x->wlen, p, k);
		x->wlen += k;
		p += k;
		len -= k;
		if (x->wlen == FETCH_WBUF) { /* to the writer; a write that failed stops the transfer */
			int r = wbuf_queue(x, false);
			if (r < 0) {
				x->io_errno = -r;
				x->abort = r == -ENOSPC ? ABORT_NO_SPACE : ABORT_IO;
				return 0;
			}
		}
	}
	return size * n;
}

/* ------------------------------------------------------------------------- the transfers */

static int fail_url(struct pib_err *err, int rc, const char *code, const char *url, const char *detail)
{
	char *red = http_url_redacted(url);
	char msg[CURL_ERROR_SIZE + 512];

	snprintf(msg, sizeof(msg), "%s", detail);
	http_scrub(msg, sizeof(msg), url);
	pib_fail(err, rc, PIB_ERR_FAILED, code, "%s: %s", red ? red : "(url)", msg);
	free(red);
	return rc;
}

static const char *abort_text(const struct fetch_ctx *x, char *buf, size_t size)
{
	switch (x->abort) {
	case ABORT_TOO_LARGE:
		snprintf(buf, size, "larger than the limit of %" PRIu64 " bytes (%s %" PRIu64 ")",
			 x->max_bytes, x->total > x->max_bytes ? "announced" : "received at least",
			 x->total > x->max_bytes ? x->total : x->have + 1);
		break;
	case ABORT_NO_SPACE:
		if (x->io_errno) /* a write hit the end of the disk */
			snprintf(buf, size, "%s filled up after %" PRIu64 " bytes of the download: %s", x->dir, x->have,
				 strerror(x->io_errno));
		else /* the announced size does not fit */
			snprintf(buf, size, "not enough free space in %s for %" PRIu64 " bytes", x->dir,
				 x->total > x->have ? x->total - x->have : 0);
		break;
	case ABORT_IO:
		snprintf(buf, size, "cannot write the download: %s", strerror(x->io_errno));
		break;
	default:
		snprintf(buf, size, "transfer aborted");
		break;
	}
	return buf;
}

/*
 * Requests until the whole body is in DEST.part (0), or an error (err set). *ret_keep: the
 * partial file may be continued by a later run (the server was unreachable, or interrupted).
 */
static int transfer(struct fetch_ctx *x, const char *url, struct fetch_result *res, bool *ret_keep,
		    struct pib_err *err)
{
	char *errbuf = x->errbuf, range[32], text[512];
	unsigned max = x->cfg->max_attempts ? x->cfg->max_attempts : 8;
	unsigned failures = 0;

	*ret_keep = false;
	for (unsigned requests = 0;; requests++) {
		int r = wbuf_flush(x);
		if (r < 0) {
			x->io_errno = -r;
			x->abort = r == -ENOSPC ? ABORT_NO_SPACE : ABORT_IO;
			return fail_url(err, r, r == -ENOSPC ? "fetch.no_space" : "fetch.io", url,
					abort_text(x, text, sizeof(text)));
		}
		if (pib_interrupted) {
			*ret_keep = true;
			return pib_fail(err, -EINTR, PIB_ERR_FAILED, "agent.interrupted",
					"the agent received signal %d: the download was stopped",
					(int)pib_interrupted);
		}
		if (requests >= FETCH_MAX_REQUESTS) {
			*ret_keep = true;
			return fail_url(err, -EIO, "fetch.unreachable", url,
					"too many requests without the whole file");
		}
		x->started = false;
		x->abort = ABORT_NONE;
		x->io_errno = 0;
		x->content_range[0] = '\0';
		x->offset = x->have;
		snprintf(range, sizeof(range), "%" PRIu64 "-", x->have);
		curl_easy_setopt(x->c, CURLOPT_RANGE, x->have ? range : NULL);
		res->attempts++;
		if (x->have)
			res->resumes++;
		errbuf[0] = '\0';

		CURLcode cc = curl_easy_perform(x->c);
		long status = 0;
		curl_off_t retry_after = 0;
		curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(x->c, CURLINFO_RETRY_AFTER, &retry_after);
		if (cc == CURLE_OK && !x->started)
			attempt_begin(x); /* an empty body: the checks all the same */
		if (pib_interrupted)
			continue; /* reported above, after the flush */

		enum http_outcome o;
		switch (x->abort) {
		case ABORT_TOO_LARGE:
			return fail_url(err, -EFBIG, "fetch.too_large", url, abort_text(x, text, sizeof(text)));
		case ABORT_NO_SPACE:
			return fail_url(err, -ENOSPC, "fetch.no_space", url, abort_text(x, text, sizeof(text)));
		case ABORT_IO:
			return fail_url(err, -EIO, "fetch.io", url, abort_text(x, text, sizeof(text)));
		case ABORT_RANGE: /* not the part asked for: from the start */
			if ((r = part_reset(x)) < 0) {
				x->io_errno = -r;
				x->abort = ABORT_IO;
				return fail_url(err, r, "fetch.io", url, abort_text(x, text, sizeof(text)));
			}
			failures++;
			continue;
		case ABORT_STATUS:
			if (status == 416 && x->offset > 0) {
				int64_t start;
				uint64_t total = 0;
				if (parse_content_range(x->content_range, &start, &total) && total == x->have)
					return 0; /* an earlier run had it all */
				if ((r = part_reset(x)) < 0) {
					x->io_errno = -r;
					x->abort = ABORT_IO;
					return fail_url(err, r, "fetch.io", url,
							abort_text(x, text, sizeof(text)));
				}
				failures++;
				continue;
			}
			o = http_classify(CURLE_OK, status);
			break;
		default:
			o = http_classify(cc, x->is_file ? 0 : status);
			break;
		}
		if (cc == CURLE_BAD_DOWNLOAD_RESUME && x->is_file && x->offset > 0) {
			/* file:// shorter than DEST.part: not the same file */
			if ((r = part_reset(x)) < 0)
				return fail_url(err, r, "fetch.io", url, strerror(-r));
			failures++;
			continue;
		}
		if (cc == CURLE_ABORTED_BY_CALLBACK && !pib_interrupted) {
			*ret_keep = true;
			return fail_url(err, -ETIMEDOUT, "fetch.unreachable", url,
					"the run's deadline passed during the download");
		}
		const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
		switch (o) {
		case HTTP_DONE:
			return 0;
		case HTTP_TLS:
			return fail_url(err, -EPERM, "fetch.tls", url, why);
		case HTTP_URL:
			return fail_url(err, -EINVAL, "fetch.url", url, why);
		case HTTP_REFUSED:
			if (cc == CURLE_OK || x->abort == ABORT_STATUS) {
				snprintf(text, sizeof(text), "the server answered %ld", status);
				return fail_url(err, -EACCES, "fetch.http", url, text);
			}
			return fail_url(err, -ELOOP, "fetch.http", url, why);
		case HTTP_FAILED:
			return fail_url(err, -EIO, "fetch.unreachable", url, why);
		case HTTP_RETRY:
			break;
		}
		if (x->have > x->offset) /* it moved: the next try is a resume, not a failure */
			failures = 0;
		else
			failures++;
		int w = failures >= max ? -ETIMEDOUT : http_backoff_wait(x->cfg, failures, (long)retry_after);
		if (w == -EINTR)
			continue;
		if (w < 0) {
			*ret_keep = true;
			if (x->abort == ABORT_STATUS)
				snprintf(text, sizeof(text), "the server answered %ld (%u requests)", status,
					 res->attempts);
			else
				snprintf(text, sizeof(text), "%s (%u requests)", why, res->attempts);
			return fail_url(err, -EIO, x->abort == ABORT_STATUS ? "fetch.http" : "fetch.unreachable",
					url, text);
		}
	}
}

static bool url_is_file(const char *url)
{
	return strncasecmp(url, "file://", 7) == 0;
}

static int setup_handle(struct fetch_ctx *x, const char *url, struct pib_err *err)
{
	int r = http_easy_setup(x->c, x->cfg, url, x->errbuf, "fetch", err);
	if (r < 0)
		return r;
	CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                             \
	do {                                                                                      \
		if (rc == CURLE_OK)                                                               \
			rc = curl_easy_setopt(x->c, opt, val);                                    \
	} while (0)
	SET(CURLOPT_BUFFERSIZE, (long)FETCH_BUFFER);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_XFERINFOFUNCTION, xferinfo);
	SET(CURLOPT_XFERINFODATA, x);
#undef SET
	if (rc != CURLE_OK)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "libcurl refused an option: %s",
				curl_easy_strerror(rc));
	return 0;
}

/* Flushes, checks the digest, and on a match makes DEST.part DEST durably. */
static int finish(struct fetch_ctx *x, const char *dest, const char *part, const char *expect,
		  struct fetch_result *res, bool *ret_mismatch, struct pib_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int r;

	*ret_mismatch = false;
	if ((r = wbuf_flush(x)) < 0)
		return pib_fail(err, r, PIB_ERR_FAILED, r == -ENOSPC ? "fetch.no_space" : "fetch.io",
				"cannot write %s: %s", part, strerror(-r));
	if (EVP_DigestFinal_ex(x->md, md, &mdlen) != 1 || mdlen != 32)
		return pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "SHA-256 failed");
	pib_hex(md, 32, res->sha256);
	res->size = x->have;
	if (strcasecmp(res->sha256, expect) != 0) {
		*ret_mismatch = true;
		return pib_fail(err, -EBADMSG, PIB_ERR_FAILED, "fetch.digest_mismatch",
				"the download's SHA-256 is %s (%" PRIu64 " bytes), the job expects %s",
				res->sha256, x->have, expect);
	}
	/*
	 * No fsync of the bytes: the digest is what vouches for them, and run checks it again
	 * before it uses a bundle fetched by an earlier run (a crash before the page cache reached
	 * the disk means fetching again); a forced write-back of a gigabyte would cost the
	 * download a third of its time for a guarantee the digest already gives.
	 */
	if (rename(part, dest) < 0)
		return pib_fail(err, -errno, PIB_ERR_FAILED, "fetch.io", "cannot rename %s to %s: %s", part, dest,
				strerror(errno));
	int dfd = open(x->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

int fetch_file(const struct http_cfg *cfg, const char *url, const char *expect_sha256, uint64_t max_bytes,
	       const char *dest, bool progress, struct fetch_result *res, struct pib_err *err)
{
	struct fetch_ctx x = {.cfg = cfg, .fd = -1, .max_bytes = max_bytes, .is_file = url_is_file(url),
			      .q = {.lock = PTHREAD_MUTEX_INITIALIZER, .queued_cond = PTHREAD_COND_INITIALIZER,
				    .freed_cond = PTHREAD_COND_INITIALIZER}};
	char *part = NULL, *dircopy = NULL;
	bool keep = false, mismatch = false, resumed = false, err_was_set = err && err->set;
	int r;

	memset(res, 0, sizeof(*res));
	if (!expect_sha256 || !pib_is_hex64(expect_sha256))
		return pib_fail(err, -EINVAL, PIB_ERR_USAGE, "usage.invalid",
				"the expected SHA-256 of the download is not 64 hex digits");
	part = pib_asprintf("%s.part", dest);
	dircopy = pib_strdup(dest);
	x.md = EVP_MD_CTX_new();
	x.q.mem = malloc((size_t)FETCH_NBUF * FETCH_WBUF);
	x.c = curl_easy_init();
	if (!part || !dircopy || !x.md || !x.q.mem || !x.c || EVP_DigestInit_ex(x.md, EVP_sha256(), NULL) != 1) {
		r = pib_fail(err, -ENOMEM, PIB_ERR_ENV, "agent.oom", "out of memory (fetch)");
		goto out;
	}
	x.dir = dirname(dircopy);
	if ((r = setup_handle(&x, url, err)) < 0)
		goto out;

	x.fd = open(part, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat st;
	if (x.fd < 0 || fstat(x.fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = pib_fail(err, x.fd < 0 ? -errno : -EINVAL, PIB_ERR_FAILED, "fetch.io",
			     "cannot open %s: %s", part, x.fd < 0 ? strerror(errno) : "not a regular file");
		goto out;
	}
	(void)fchmod(x.fd, 0600);
	if ((r = part_hash_existing(&x)) < 0) {
		r = pib_fail(err, r, PIB_ERR_FAILED, "fetch.io", "cannot read %s: %s", part, strerror(-r));
		goto out;
	}
	resumed = x.have > 0;
	x.flushed = x.have;
	if ((r = writer_start(&x)) < 0) {
		r = pib_fail(err, r, PIB_ERR_ENV, "agent.oom", "cannot start the fetch's writer thread: %s",
			     strerror(-r));
		goto out;
	}
	x.progress = progress && isatty(STDERR_FILENO) && !agent_log_is_json();
	x.t0 = pib_now_mono();
	x.have0 = x.have;

	/* a digest that differs after a resume may be a stale DEST.part: once more from zero */
	for (int round = 0; round < 2; round++) {
		r = transfer(&x, url, res, &keep, err);
		if (r < 0)
			break;
		r = finish(&x, dest, part, expect_sha256, res, &mismatch, err);
		if (!(r < 0 && mismatch && round == 0 && !err_was_set && (resumed || res->resumes > 0)))
			break;
		pib_err_clear(err);
		memset(res->sha256, 0, sizeof(res->sha256));
		if ((r = part_reset(&x)) < 0) {
			r = pib_fail(err, r, PIB_ERR_FAILED, "fetch.io", "cannot truncate %s: %s", part, strerror(-r));
			break;
		}
		x.total = 0;
		resumed = false;
	}
	writer_stop(&x);
	progress_clear(&x);
	if (r < 0 && !keep)
		(void)unlink(part);
out:
	writer_stop(&x);
	if (x.fd >= 0)
		close(x.fd);
	if (x.c)
		curl_easy_cleanup(x.c);
	EVP_MD_CTX_free(x.md);
	free(x.q.mem);
	pthread_cond_destroy(&x.q.freed_cond);
	pthread_cond_destroy(&x.q.queued_cond);
	pthread_mutex_destroy(&x.q.lock);
	free(part);
	free(dircopy);
	return r;
}
