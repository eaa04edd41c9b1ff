/*
 * fakefcgi.h: a FastCGI request without a server, for the fuzz targets:
 * params from a list of "NAME=value" strings, the body read from memory
 * through a reader stream, the answer written to a writer stream that keeps
 * the first bytes (status line) and drops the rest. libfcgi's FCGX_GetStr,
 * FCGX_PutStr and FCGX_GetParam run unchanged on these streams.
 */
#ifndef FS_FAKEFCGI_H
#define FS_FAKEFCGI_H

#include <fcgiapp.h>
#include <string.h>

#define FAKE_ENV_MAX 16
#define FAKE_OUT_MAX 4096

struct fake_fcgi {
	FCGX_Request req;
	FCGX_Stream in, out;
	char *env[FAKE_ENV_MAX + 1];
	unsigned char outbuf[FAKE_OUT_MAX];
	size_t written;
};

static void
fake_fill(FCGX_Stream *s)
{
	/* the body is all in memory: once read, the stream is at its end */
	s->isClosed = 1;
}

static void
fake_empty(FCGX_Stream *s, int doClose)
{
	struct fake_fcgi *f = s->data;

	(void)doClose;
	f->written += (size_t)(s->wrNext - f->outbuf);
	/* the reply is not checked byte for byte: start the buffer again */
	s->wrNext = f->outbuf;
}

/* Sets f up; env (NULL-terminated, at most FAKE_ENV_MAX) and body are
 * borrowed for the request's life. */
static void
fake_fcgi_init(struct fake_fcgi *f, char **env, const unsigned char *body, size_t len)
{
	int n = 0;

	memset(f, 0, sizeof(*f));
	while (env[n] && n < FAKE_ENV_MAX) {
		f->env[n] = env[n];
		n++;
	}
	f->env[n] = NULL;
	f->in.rdNext = f->in.stopUnget = (unsigned char *)body;
	f->in.stop = (unsigned char *)body + len;
	f->in.wrNext = f->in.stop;
	f->in.isReader = 1;
	f->in.fillBuffProc = fake_fill;
	f->in.data = f;
	f->out.wrNext = f->outbuf;
	f->out.rdNext = f->out.stop = f->outbuf + sizeof(f->outbuf);
	f->out.emptyBuffProc = fake_empty;
	f->out.data = f;
	f->req.in = &f->in;
	f->req.out = &f->out;
	f->req.envp = f->env;
	f->req.ipcFd = -1;
}

#endif
