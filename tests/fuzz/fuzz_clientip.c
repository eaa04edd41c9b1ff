/*
 * fuzz_clientip: the trusted-proxy list and the X-Forwarded-For walk.
 * Input: "remote\nxff\ncidrs" (missing parts are empty).
 */
#include "clientip.h"
#include "fs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
part(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	char *s = malloc(n + 1);

	memcpy(s, *p, n);
	s[n] = '\0';
	*p = nl ? nl + 1 : end;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char *remote = part(&p, end), *xff = part(&p, end), *list = part(&p, end);
	struct cidr nets[CLIENTIP_MAX_CIDRS];
	char out[CLIENTIP_LEN], b[CLIENTIP_LEN], again[CLIENTIP_LEN];
	int n = clientip_parse_cidrs(list, nets, CLIENTIP_MAX_CIDRS);

	if (n < 0)
		n = clientip_parse_cidrs("127.0.0.0/8, ::1", nets, CLIENTIP_MAX_CIDRS);
	for (int i = 0; i < n; i++)
		if (nets[i].bits < 0 || nets[i].bits > 128)
			abort();
	if (clientip_pick(remote, *xff ? xff : NULL, nets, n, out) == 1) {
		if (strlen(out) >= CLIENTIP_LEN)
			abort();
		/* a picked address is normalized: normalizing again is a no-op */
		if (strcmp(out, "invalid") != 0 &&
		    (clientip_normalize(out, strlen(out), again) != FS_OK || strcmp(out, again) != 0))
			abort();
		clientip_bucket(out, b);
		if (strlen(b) >= CLIENTIP_LEN)
			abort();
	}
	(void)clientip_normalize((const char *)data, size, out);
	free(remote);
	free(xff);
	free(list);
	return 0;
}
