/*
 * The gRPC client's response decoding (supervisor/grpc.c) without curl:
 * header and trailer lines (grpc_resp_header), the body as curl hands it
 * over in pieces (grpc_resp_body), the outcome (grpc_resp_check, with
 * grpc_frame_decode), the grpc-message decoding (grpc_percent_decode) and,
 * for a successful response, the SyncDatasourceResponse (grpc_sync_decode).
 *
 * Input: byte 0 options (bits 0-1 the HTTP status: 200, 200, 503, 404;
 * bit 2 not HTTP/2; bit 3 Ping, an empty message expected; bit 4 a
 * maximum of 64 bytes, else the default), byte 1 the size of the body's
 * pieces (0: one piece), bytes 2-3 the body's length L (big-endian), L
 * bytes of body, then header lines ('\n' ends each; CRLF is added): the
 * body arrives after the first empty line (headers, body, trailers).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "grpc.h"
#include "log.h"

static const long https[] = { 200, 200, 503, 404 };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz", LOG_LVL_ERROR);
	return 0;
}

static void
body(struct grpc_resp *rp, const uint8_t *p, size_t n, size_t piece,
    size_t max)
{
	size_t k;

	if (piece == 0)
		piece = n > 0 ? n : 1;
	while (n > 0) {
		k = n < piece ? n : piece;
		if (grpc_resp_body(rp, p, k, max) == -1)
			return;	/* curl aborts the transfer */
		p += k;
		n -= k;
	}
}

/* a decoded grpc-message: valid UTF-8 without C0, DEL or C1 characters */
static void
check_message(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, k;

	for (i = 0; i < n; i += k) {
		k = utf8_seq(p + i, n - i);
		FZ_ASSERT(k > 0);
		FZ_ASSERT(p[i] >= 0x20 && p[i] != 0x7f);
		FZ_ASSERT(!(k == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct grpc_resp rp;
	struct grpc_result res;
	unsigned int o, piece;
	const uint8_t *bp, *nl;
	const void *msg;
	size_t blen, max, msglen, n;
	char line[4096], message[GRPC_MESSAGE_MAX], err[GRPC_MESSAGE_MAX + 160];
	char task[GRPC_SYNC_TASK_ID_MAX + 1], status[GRPC_SYNC_TASK_ID_MAX + 1];
	int st, transport, gotbody = 0;

	o = fz_byte(&f);
	piece = fz_byte(&f);
	blen = fz_u16(&f);
	if (blen > f.n)
		blen = f.n;
	bp = f.p;
	f.p += blen;
	f.n -= blen;
	max = (o & 0x10) ? 64 : GRPC_DEFAULT_MAX_RESPONSE;

	memset(&rp, 0, sizeof(rp));
	while (f.n > 0) {
		nl = memchr(f.p, '\n', f.n);
		n = nl != NULL ? (size_t)(nl - f.p) : f.n;
		if (n == 0 && !gotbody) {
			body(&rp, bp, blen, piece, max);
			gotbody = 1;
		}
		if (n > sizeof(line) - 2)
			n = sizeof(line) - 2;
		memcpy(line, f.p, n);
		line[n] = '\r';
		line[n + 1] = '\n';
		grpc_resp_header(&rp, line, n + 2);
		n = nl != NULL ? (size_t)(nl - f.p) + 1 : f.n;
		f.p += n;
		f.n -= n;
	}
	if (!gotbody)
		body(&rp, bp, blen, piece, max);
	FZ_ASSERT(rp.rawmsglen <= sizeof(rp.rawmsg));
	FZ_ASSERT(rp.bodylen <= max + GRPC_FRAME_PREFIX_LEN);

	n = grpc_percent_decode(message, sizeof(message), rp.rawmsg,
	    rp.rawmsglen);
	FZ_ASSERT(n < sizeof(message) && strlen(message) == n);
	check_message(message, n);
	if (!rp.too_large) {
		err[0] = '\0';
		st = grpc_resp_check(&rp, https[o & 3], !(o & 4), max,
		    (o & 8) != 0, message, &msg, &msglen, &transport, err,
		    sizeof(err));
		FZ_ASSERT(transport == 0 || transport == 1);
		if (st == GRPC_STATUS_OK) {
			FZ_ASSERT(msg != NULL && msglen <= max);
			FZ_ASSERT(!(o & 8) || msglen == 0);
			memset(&res, 0, sizeof(res));
			res.method = GRPC_PATH_SYNC_DATASOURCE;
			res.grpc_message = message;
			res.msg = msg;
			res.msg_len = msglen;
			if (grpc_sync_decode(&res, task, sizeof(task), status,
			    sizeof(status), err, sizeof(err)) == 0)
				FZ_ASSERT(task[0] != '\0');
			else
				FZ_ASSERT(task[0] == '\0' && status[0] == '\0');
		} else
			FZ_ASSERT(err[0] != '\0');
		(void)grpc_status_name(st);
	}
	grpc_resp_free(&rp);
	return 0;
}
