#ifndef TESSERA_CPNG_SHIM_H
#define TESSERA_CPNG_SHIM_H

// libpng's simplified API (png_image_*), which reports errors through the png_image
// instead of longjmp, so Swift can call it safely.
#include <png.h>

#endif
