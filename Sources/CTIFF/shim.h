#ifndef TESSERA_CTIFF_SHIM_H
#define TESSERA_CTIFF_SHIM_H

// Debian's libtiff 4.5 (the include path comes from `pkg-config libtiff-4`).
#include <tiffio.h>

#endif
