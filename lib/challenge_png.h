/*
 * challenge_png.h: a quiz question drawn into a small PNG with libgd
 * (Debian's libgd-dev), with noise against plain OCR: each character
 * scaled, shifted and coloured on its own, lines, arcs and dots over it.
 * Only the programs that draw link -lgd (the Makefile names them).
 */
#ifndef FS_CHALLENGE_PNG_H
#define FS_CHALLENGE_PNG_H

#include <stddef.h>

/* question drawn as a PNG, as a data: URI ("data:image/png;base64,...");
 * caller frees. NULL when libgd or the OS's randomness failed. */
char *challenge_png_uri(const char *question);

#endif
