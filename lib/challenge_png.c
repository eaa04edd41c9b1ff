/*
 * challenge_png.c: the quiz image (see challenge_png.h). libgd's built-in
 * bitmap font is drawn small and scaled up per character, so the glyphs
 * differ from one image to the next without a font file to ship.
 */
#include "challenge_png.h"
#include "fs.h"
#include "mem.h"

#include <gd.h>
#include <gdfontg.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#define IMG_W 200
#define IMG_H 64
#define URI_HEAD "data:image/png;base64,"

/* xorshift64: noise only, seeded from the OS for each image */
static uint64_t
rnd_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int
rnd_in(uint64_t *s, int lo, int hi)
{
	return lo + (int)(rnd_next(s) % (uint64_t)(hi - lo + 1));
}

/* A dark colour for text, a mid one for noise. */
static int
rnd_colour(uint64_t *s, int lo, int hi)
{
	return gdTrueColor(rnd_in(s, lo, hi), rnd_in(s, lo, hi), rnd_in(s, lo, hi));
}

/* Draws character c at x, scaled to about twice the font, on im. */
static void
draw_char(gdImagePtr im, gdFontPtr f, int c, int x, uint64_t *s)
{
	gdImagePtr g = gdImageCreateTrueColor(f->w, f->h);
	int w = f->w * rnd_in(s, 18, 26) / 10, h = f->h * rnd_in(s, 19, 25) / 10;

	if (g == NULL)
		return;
	gdImageAlphaBlending(g, 0);
	gdImageSaveAlpha(g, 1);
	gdImageFilledRectangle(g, 0, 0, f->w - 1, f->h - 1, gdTrueColorAlpha(255, 255, 255, 127));
	gdImageChar(g, f, 0, 0, c, rnd_colour(s, 0, 110));
	gdImageCopyResampled(im, g, x, (IMG_H - h) / 2 + rnd_in(s, -6, 6), 0, 0, w, h, f->w, f->h);
	gdImageDestroy(g);
}

static void
draw_noise(gdImagePtr im, uint64_t *s, int lines, int dots)
{
	for (int i = 0; i < lines; i++) {
		gdImageSetThickness(im, rnd_in(s, 1, 2));
		gdImageLine(im, rnd_in(s, 0, IMG_W - 1), rnd_in(s, 0, IMG_H - 1), rnd_in(s, 0, IMG_W - 1),
			    rnd_in(s, 0, IMG_H - 1), rnd_colour(s, 60, 200));
	}
	gdImageSetThickness(im, 1);
	for (int i = 0; i < 3; i++)
		gdImageArc(im, rnd_in(s, 0, IMG_W), rnd_in(s, 0, IMG_H), rnd_in(s, 40, 160),
			   rnd_in(s, 20, 80), 0, 360, rnd_colour(s, 40, 160));
	for (int i = 0; i < dots; i++)
		gdImageSetPixel(im, rnd_in(s, 0, IMG_W - 1), rnd_in(s, 0, IMG_H - 1),
				rnd_colour(s, 0, 255));
}

/* The PNG bytes as a data: URI; caller frees. */
static char *
png_uri(const unsigned char *png, int len)
{
	size_t head = strlen(URI_HEAD);
	char *uri = mem_alloc(head + 4 * (((size_t)len + 2) / 3) + 1);

	memcpy(uri, URI_HEAD, head);
	EVP_EncodeBlock((unsigned char *)uri + head, png, len);
	return uri;
}

char *
challenge_png_uri(const char *question)
{
	gdFontPtr f = gdFontGetGiant();
	gdImagePtr im;
	uint64_t s = 0;
	unsigned char *png;
	char *uri = NULL;
	int len = 0, x = 10;

	if (fs_random_bytes(&s, sizeof(s)) != FS_OK || (im = gdImageCreateTrueColor(IMG_W, IMG_H)) == NULL)
		return NULL;
	s |= 1; /* xorshift never leaves zero */
	gdImageFilledRectangle(im, 0, 0, IMG_W - 1, IMG_H - 1, rnd_colour(&s, 215, 255));
	draw_noise(im, &s, 4, 150);
	for (const char *c = question; *c && x < IMG_W - 2 * f->w; c++) {
		if (*c != ' ')
			draw_char(im, f, (unsigned char)*c, x, &s);
		x += f->w * 2 + rnd_in(&s, -2, 3) - (*c == ' ' ? f->w : 0);
	}
	draw_noise(im, &s, 5, 400);
	/* zlib level 1: 0.8 ms of CPU an image instead of 1.4 (default), 8% more bytes */
	png = gdImagePngPtrEx(im, &len, 1);
	gdImageDestroy(im);
	if (png != NULL && len > 0)
		uri = png_uri(png, len);
	gdFree(png);
	return uri;
}
